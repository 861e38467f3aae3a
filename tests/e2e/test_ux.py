"""What a user sees and taps, end to end through the fake Bot API with the real client:
the card, the buttons, inline sharing and search, menus, /privacy, /language, texts."""
from __future__ import annotations

import io
import json
import re
import string

import numpy as np
import pytest
from PIL import Image, ImageOps

from chatbot.delivery.prefs import LanguagePrefs
from chatbot.flow.results import ResultStore, Result, parse_callback
from chatbot.texts import LOCALE, catalogs, languages
from testkit.scripts import run_script, write_config
from testkit.bot import answers, only_answer, running_bot
from testkit.images import jpeg, side_by_side
from worker.card import HEIGHT, PANEL, WIDTH, CardText, face_boxes, render_card

CARD = (WIDTH, HEIGHT)


@pytest.fixture(scope="module")
def crowd_config(tmp_path_factory, images):
    """A gallery of twelve "people", each a real face photo (mirrored, turned, cropped
    variants of the face_recognition test images), built by the real scripts; one has a
    Cyrillic name, the four made from obama.jpg have a Wikipedia link."""
    root = tmp_path_factory.mktemp("crowd")
    sources = ["obama.jpg", "obama3.jpg", "biden.jpg"]
    variants = [("plain", lambda im: im), ("mirror", ImageOps.mirror),
                ("turned", lambda im: im.rotate(6, resample=Image.Resampling.BICUBIC, expand=True, fillcolor="white")),
                ("cropped", lambda im: im.crop((im.width // 10, im.height // 12, im.width * 9 // 10, im.height)))]
    number = 0
    for src in sources:
        for label, change in variants:
            number += 1
            name = "Барак Обама Второй" if number == 2 else f"Person {number:02d} {label}"
            folder = root / "photos" / f"person_{number:02d}"
            folder.mkdir(parents=True)
            (folder / "face.jpg").write_bytes(jpeg(change(Image.open(images / src).convert("RGB"))))
            info = {"name": name, "files": {"face.jpg": {"author": "Adam Geitgey", "license": "MIT"}}}
            if src == "obama.jpg":
                info["wikipedia"] = f"https://en.wikipedia.org/wiki/Person_{number:02d}"
            (folder / "info.json").write_text(json.dumps(info, ensure_ascii=False))
    # Variants of three photos under twelve names: the same photo under several people, which
    # gallery cleaning would rightly drop; this crowd is for the replies, so cleaning is off.
    cfg = write_config(root / "config.yaml", paths={"photos": root / "photos", "assets": root / "assets"},
                       pool={"workers": 2}, gallery={"clean": False})
    for script in ("build_embeddings.py", "build_index.py"):
        done = run_script(script, "--config", cfg)
        assert done.returncode == 0, done.stderr
    return cfg


def card_of(call) -> Image.Image:
    image = Image.open(io.BytesIO(call.files["photo"]))
    image.load()
    return image


def buttons(call) -> list[dict]:
    markup = call.params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


async def test_one_face_gets_a_card_with_the_users_own_face(crowd_config, photo, engine):
    async with running_bot(crowd_config) as (fake, runner):
        mid = fake.send_photo(3001, photo("obama2.jpg"))
        await answers(fake, 1, 3001)
        reply = only_answer(fake, 3001, mid)
        card = card_of(reply)
        assert card.size == CARD and card.format == "JPEG"
        # The user's face really is in the left panel: the detector finds it there, and it is
        # the same face (descriptor distance far under dlib's 0.6 same-person threshold).
        mine = engine.embed(photo("obama2.jpg")).faces[0].vector
        (ux, uy), (cx, cy) = face_boxes()
        left = card.crop((ux, uy, ux + PANEL, uy + PANEL))
        found = engine.embed(jpeg(left)).faces
        assert found and min(np.linalg.norm(f.vector - mine) for f in found) < 0.3
        right = engine.embed(jpeg(card.crop((cx, cy, cx + PANEL, cy + PANEL)))).faces
        assert right  # the celebrity's face is on the right
        assert "resemblance" in reply.text and "not the chance" in reply.text
        best = re.search(r"<b>([^<]+)</b>", reply.text).group(1)
        kinds = [next(k for k in ("callback_data", "url", "switch_inline_query") if k in b) for b in buttons(reply)]
        # "Who is this?" exactly when the gallery has the person's Wikipedia page
        with_page = best.startswith(("Person 01", "Барак", "Person 03", "Person 04"))
        assert kinds == ["callback_data", "url", "switch_inline_query"] if with_page else \
            kinds == ["callback_data", "switch_inline_query"]


async def test_more_lookalikes_who_is_this_and_an_expired_button(crowd_config, photo):
    async with running_bot(crowd_config) as (fake, runner):
        mid = fake.send_photo(3002, photo("obama2.jpg"))
        await answers(fake, 1, 3002)
        reply = only_answer(fake, 3002, mid)
        shown = re.findall(r"<b>([^<]+)</b>", reply.text.split("\n")[0]) + re.findall(r"([^,:]+) — \d+%",
                                                                                        reply.text.split("\n")[1])
        more = next(b for b in buttons(reply) if b.get("callback_data", "").startswith("m:"))
        bot_message = reply.message_ids[0]
        fake.send_callback_query(3002, bot_message, more["callback_data"])
        await answers(fake, 2, 3002)
        listing = fake.sent(3002)[-1].text
        ranks = re.findall(r"^(\d+)\. <b>([^<]+)</b>", listing, re.M)
        assert [int(r) for r, _ in ranks] == [4, 5, 6, 7, 8]  # the next five people after the three shown
        assert len({n for _, n in ranks}) == 5 and not {n for _, n in ranks} & {s.strip() for s in shown}
        assert fake.calls("answerCallbackQuery")
        assert len(fake.calls("getFile")) == 1  # searched again with the stored vector: no download, no embedding

        # A press on a result the bot no longer has, and data it never made.
        fake.send_callback_query(3002, bot_message, "m:AAAAAAAAAAAA:0")
        fake.send_callback_query(3002, bot_message, "f:../../etc:0")
        await fake.wait_for_async(lambda: len(fake.calls("answerCallbackQuery")) >= 3, timeout=30)
        notices = [c.params for c in fake.calls("answerCallbackQuery")[1:]]
        assert all(n.get("show_alert") for n in notices)
        assert "expired" in notices[0]["text"] and "send the photo again" in notices[1]["text"]
        assert len(fake.sent(3002)) == 2  # an alert, not a new message

    async with running_bot(crowd_config, results_ttl_s=0.5) as (fake, runner):
        mid = fake.send_photo(3003, photo("obama.jpg"))
        await answers(fake, 1, 3003)
        reply = only_answer(fake, 3003, mid)
        who = [b for b in buttons(reply) if "url" in b]
        best = re.search(r"<b>([^<]+)</b>", reply.text).group(1)
        number = 2 if best.startswith("Барак") else int(best.split()[1])
        assert number <= 4  # one of the variants of obama.jpg itself
        assert who == [{"text": "Who is this?", "url": f"https://en.wikipedia.org/wiki/Person_{number:02d}"}]
        more = next(b for b in buttons(reply) if b.get("callback_data", "").startswith("m:"))
        await fake.wait_for_async(lambda: runner.deps.results.get(more["callback_data"][2:14]) is None, timeout=30)
        fake.send_callback_query(3003, reply.message_ids[0], more["callback_data"])
        await fake.wait_for_async(lambda: fake.calls("answerCallbackQuery"), timeout=30)
        assert "expired" in fake.calls("answerCallbackQuery")[0].params["text"]


async def test_a_group_photo_has_a_card_button_per_face(crowd_config, photo, images):
    group = jpeg(side_by_side(Image.open(images / "obama2.jpg"), Image.open(images / "biden.jpg")))
    async with running_bot(crowd_config) as (fake, runner):
        mid = fake.send_photo(3004, group)
        await answers(fake, 1, 3004)
        reply = only_answer(fake, 3004, mid)
        assert card_of(reply).size != CARD  # the numbered-box picture
        faces = [b for b in buttons(reply) if b.get("callback_data", "").startswith("f:")]
        assert [b["text"] for b in faces] == ["Face 1", "Face 2"]
        fake.send_callback_query(3004, reply.message_ids[0], faces[1]["callback_data"])
        await answers(fake, 2, 3004)
        card = fake.sent(3004)[-1]
        assert card.method == "sendPhoto" and card_of(card).size == CARD
        assert len(fake.calls("getFile")) == 2  # the photo was fetched again, never kept


async def test_below_the_strong_match_floor_the_bot_says_so_and_still_answers(crowd_config, photo, images, tmp_path):
    """The floor through the real bot: a one-face card and a group picture both say it first."""
    from settings import load_config
    crowd = load_config(crowd_config)
    weak = write_config(tmp_path / "weak.yaml", paths={"photos": crowd.paths.photos, "assets": crowd.paths.assets},
                        pool={"workers": 2}, gallery={"clean": False}, similarity={"strong_match": 1.0})
    group = jpeg(side_by_side(Image.open(images / "obama2.jpg"), Image.open(images / "biden.jpg")))
    async with running_bot(weak) as (fake, runner):
        one = fake.send_photo(3010, photo("obama2.jpg"))
        await answers(fake, 1, 3010)
        reply = only_answer(fake, 3010, one)
        assert reply.text.startswith("🤷 No strong lookalike in the gallery for you. The nearest is <b>")
        assert card_of(reply).size == CARD  # the nearest one is still shown, on the card
        two = fake.send_photo(3011, group)
        await answers(fake, 1, 3011)
        lines = only_answer(fake, 3011, two).text.split("\n")
        assert lines[0] == "I found 2 faces:"
        assert all(line.startswith(f"{n}. no strong lookalike; nearest <b>") for n, line in enumerate(lines[1:3], 1))


async def test_share_inline_and_search_by_name(crowd_config, photo):
    async with running_bot(crowd_config, media_chat_id=-1001234567890) as (fake, runner):
        mid = fake.send_photo(3005, photo("obama2.jpg"))
        await answers(fake, 1, 3005)
        reply = only_answer(fake, 3005, mid)
        share = next(b for b in buttons(reply) if "switch_inline_query" in b)["switch_inline_query"]
        best = re.search(r"<b>([^<]+)</b>", reply.text).group(1)

        mine = fake.send_inline_query(3005, share)
        stranger = fake.send_inline_query(9999, share)  # someone who saw the query text
        search = fake.send_inline_query(3006, "person 0")
        nothing = fake.send_inline_query(3006, "")
        await fake.wait_for_async(lambda: all(fake.inline_answer(q) for q in (mine, stranger, search, nothing)),
                                  timeout=30)
        answer = fake.inline_answer(mine)
        [result] = answer["results"]
        assert answer["is_personal"] and result["type"] == "photo"
        assert f"I look like <b>{best}</b>" in result["caption"]
        uploads = fake.calls("sendPhoto", chat_id=-1001234567890)
        assert uploads and result["photo_file_id"] in {m["photo"][-1]["file_id"] for u in uploads for m in u.messages}
        assert "photo" not in {k for u in uploads for k in u.files} or all(
            card_of(u).size != CARD for u in uploads)  # the celebrity's photo, never the card with the user
        [other] = fake.inline_answer(stranger)["results"]
        assert other["type"] == "article" and best not in json.dumps(other)
        found = fake.inline_answer(search)["results"]
        assert found and all("Person 0" in (r.get("title") or "") for r in found)
        assert any(r["type"] == "photo" for r in found)
        [invite] = fake.inline_answer(nothing)["results"]
        assert "?start=share" in invite["reply_markup"]["inline_keyboard"][0][0]["url"]

        # The deep link in a shared result welcomes a newcomer.
        start = fake.send_text(3007, "/start share")
        await answers(fake, 1, 3007)
        assert "shared their celebrity lookalike" in only_answer(fake, 3007, start).text


async def test_menus_privacy_and_language(demo_config):
    async with running_bot(demo_config) as (fake, runner):
        private = {c["command"] for c in fake.commands("all_private_chats", "")}
        assert private == {"start", "help", "about", "privacy", "language"}
        assert {c["command"] for c in fake.commands("all_group_chats", "")} == {"lookalike", "help"}
        ru = {c["command"]: c["description"] for c in fake.commands("all_private_chats", "ru")}
        assert ru["privacy"] == "Что происходит с вашим фото"
        assert "celebrity" in fake.bot_text("description") and "знаменитость" in fake.bot_text("description", "ru")
        assert len(fake.bot_text("short_description", "ru")) <= 120

        privacy = fake.send_text(3010, "/privacy")
        await answers(fake, 1, 3010)
        assert "never written to disk" in only_answer(fake, 3010, privacy).text

        ask = fake.send_text(3011, "/language")  # an English client that wants Russian
        await answers(fake, 1, 3011)
        menu = only_answer(fake, 3011, ask)
        choice = next(b for b in buttons(menu) if b["callback_data"] == "l:ru")
        assert choice["text"] == "Русский"
        fake.send_callback_query(3011, menu.message_ids[0], "l:ru")
        await fake.wait_for_async(lambda: fake.calls("editMessageText"), timeout=30)
        assert "по-русски" in fake.calls("editMessageText")[0].params["text"]
        again = fake.send_text(3011, "/help")
        await answers(fake, 2, 3011)
        assert "Как пользоваться" in only_answer(fake, 3011, again).text
        stored = await LanguagePrefs.load(runner.db)  # kept in SQLite, by user id only
        assert stored.get(3011) == "ru"
        rows = await runner.db.run(lambda c: c.execute("SELECT * FROM languages").fetchall())
        assert rows == [(3011, "ru")]


def test_card_renders_long_and_cyrillic_names():
    face = Image.new("RGB", (300, 300), (180, 140, 120))
    celeb = Image.new("RGB", (512, 380), (90, 90, 140))
    for name in ("Барак Хусейн Обама Второй, 44-й президент Соединённых Штатов Америки",
                 "Hubert Blaine Wolfeschlegelsteinhausenbergerdorff Sr.", "Мэй", ""):
        data = render_card(face, celeb, CardText("Вы похожи на", "Вы", name, "87%", "Фото: автор, CC BY-SA 4.0",
                                                 "@lookalike_bot"))
        card = Image.open(io.BytesIO(data))
        assert card.size == CARD
        assert card.getpixel((WIDTH // 2, 48)) != card.getpixel((10, 48))  # the title was drawn


def test_callback_data_is_parsed_strictly():
    assert parse_callback("m:AbCdEfGhIjKl:0").kind == "m"
    assert parse_callback("f:AbCdEfGhIjKl:9").face == 9
    assert parse_callback("l:ru").lang == "ru"
    for hostile in (None, "", "m:short:0", "m:AbCdEfGhIjKl:-1", "m:AbCdEfGhIjKl:100", "x:AbCdEfGhIjKl:0",
                    "m:AbCdEfGhIjKl:0\n", "l:../../", "m:" + "A" * 80 + ":0", "l:RU"):
        assert parse_callback(hostile) is None, hostile


def test_result_store_expires_and_caps():
    now = [0.0]
    store = ResultStore(ttl_s=10, max_items=3, clock=lambda: now[0])
    tokens = [store.put(Result(1, 1, "f", "en", [])) for _ in range(4)]
    assert store.get(tokens[0]) is None and store.get(tokens[3]) is not None  # the oldest went first
    assert store.get(tokens[3], chat_id=2) is None  # another chat's token means nothing there
    now[0] = 11
    assert store.get(tokens[3]) is None and len(store) == 0


def test_every_message_exists_in_every_language_with_the_same_placeholders():
    cats = catalogs()
    assert set(languages()) >= {"en", "ru"}
    keys = {k for k in cats["en"]._catalog if k}
    assert len(keys) > 40
    fields = lambda s: sorted(f for _, f, _, _ in string.Formatter().parse(s) if f)  # noqa: E731
    for lang, cat in cats.items():
        assert {k for k in cat._catalog if k} == keys, lang
        for key in keys:
            assert fields(cat.gettext(key)) == fields(cats["en"].gettext(key)), (lang, key)
    for po in LOCALE.glob("*/LC_MESSAGES/lookalike.po"):
        assert po.with_suffix(".mo").stat().st_mtime >= po.stat().st_mtime  # compiled from the current .po
