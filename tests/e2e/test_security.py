"""Names from outside (folder names, Wikidata labels) and secrets."""
from __future__ import annotations

import shutil

import ujson

from gallery.store import Gallery
from testkit.scripts import run_script, write_config
from testkit.bot import answers, only_answer, running_bot

HOSTILE = "Tom & <b>Jerry<b> \"O'Neil\" <i> &lt;"  # no "/": a folder name cannot hold one


def build_hostile_gallery(images, tmp_path):
    photos = tmp_path / "photos"
    hostile = photos / HOSTILE
    hostile.mkdir(parents=True)
    shutil.copy(images / "obama.jpg", hostile / "a.jpg")
    traversal = photos / "evil"
    traversal.mkdir()
    shutil.copy(images / "biden.jpg", traversal / "b.jpg")
    (traversal / "info.json").write_text(ujson.dumps({
        "name": "../../../etc/passwd", "files": {"b.jpg": {"author": "<script>", "license": "&amp;"}}}))
    assets = tmp_path / "assets"
    cfg = write_config(tmp_path / "config.yaml", paths={"photos": photos, "assets": assets}, pool={"workers": 1})
    for script in ("build_embeddings.py", "build_index.py"):
        done = run_script(script, "--config", cfg)
        assert done.returncode == 0, done.stderr
    gallery = Gallery.load(assets)
    assert sorted(p["name"] for p in gallery.people) == sorted(["../../../etc/passwd", HOSTILE.strip()])
    for face in range(len(gallery.faces)):  # thumbnails are named by content hash, never by person
        thumb = gallery.thumbnail(face).resolve()
        assert thumb.parent == (assets / "thumbs").resolve() and thumb.is_file()
    assert not (tmp_path.parent / "etc").exists()
    return cfg


def test_hostile_person_names_stay_inside_assets(images, tmp_path):
    build_hostile_gallery(images, tmp_path)


async def test_replies_escape_names_for_html(images, photo, tmp_path):
    cfg = build_hostile_gallery(images, tmp_path)
    async with running_bot(cfg) as (fake, runner):
        obama = fake.send_photo(18000, photo("obama2.jpg"))
        biden = fake.send_photo(18001, photo("biden.jpg"))
        await answers(fake, 2)
        # The fake parses HTML like Telegram does: an unescaped "<b>Jerry" or "</i>" would be a 400.
        reply = only_answer(fake, 18000, obama)
        assert "Tom &amp; &lt;b&gt;Jerry&lt;b&gt; &quot;O&#x27;Neil&quot; &lt;i&gt; &amp;lt;" in reply.params["caption"]
        credit = only_answer(fake, 18001, biden).params["caption"]
        assert "../../../etc/passwd" in credit and "&lt;script&gt;" in credit and "&amp;amp;" in credit


async def test_webhook_secret_is_compared_in_constant_time(demo_config, monkeypatch):
    import aiohttp

    import chatbot.delivery.http as http_module
    seen = []
    real = http_module.hmac.compare_digest

    def spy(a, b):
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(http_module.hmac, "compare_digest", spy)
    async with running_bot(demo_config, webhook=True, secret="the-secret") as (fake, runner):
        url = f"http://127.0.0.1:{runner.http.port}{runner.config.telegram.webhook.path}"
        async with aiohttp.ClientSession() as session:
            for given in ("the-secreT", "x", ""):
                async with session.post(url, json={"update_id": 1},
                                        headers={"X-Telegram-Bot-Api-Secret-Token": given}) as r:
                    assert r.status == 403
    assert [a for a, _ in seen] == [b"the-secreT", b"x", b""] and all(b == b"the-secret" for _, b in seen)
