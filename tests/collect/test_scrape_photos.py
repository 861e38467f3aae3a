"""scrape_photos.py against a local fake Wikidata + Commons (testkit/fake_wikimedia.py).

Nothing here touches the internet; everything is written under tmp_path.
"""
from __future__ import annotations

import asyncio
import io
import os
import sys
import time
from pathlib import Path

import pytest
import ujson
from PIL import Image

from collect import commons, store, wikidata
from collect.http import retry_after
from collect.scrape import BROKEN, REFUSED
from testkit.scripts import ROOT, write_config
from testkit.fake_wikimedia import FakePerson, FakeWikimedia, make_people
from testkit.scraping import CONTACT, run

UA_PREFIX = "lookalike-gallery-builder/1.0 (lookalike-tests@example.org) aiohttp/"


def decodes(path: Path) -> bool:
    with Image.open(path) as im:
        im.load()
        return im.format == "JPEG"


def all_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


# --- happy path ----------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_happy_path_writes_photos_and_info(wikimedia, tmp_path: Path) -> None:
    obama = FakePerson(qid="Q76", name="Barack Obama", sitelinks=339, description="44th president of the US",
                       images=["President Barack Obama.jpg", "Obama 2012.jpg"],   # two P18 values: two rows
                       category="Barack Obama",
                       files=["Obama speech.svg", "Obama family.png", "Barack Obama.webm", "Obama 2009.jpg",
                              "Obama 2010.jpg"])
    bjork = FakePerson(qid="Q42455", name="Björk", sitelinks=150, occupations=["Q177220"],
                       images=["Björk Cannes 2000.jpg"], category="Björk", files=["Björk 2007.jpg"])
    nobody = FakePerson(qid="Q9", name="Famous Politician", sitelinks=100, occupations=["Q82955"],
                        images=["FP.jpg"])
    fake = await wikimedia([obama, bjork, nobody])
    out = tmp_path / "photos"

    summary = await run(fake, out, per_person=3, limit=10, occupations=wikidata.parse_occupations("actor,singer"))

    assert summary.people_done == 2 and summary.people_failed == 0          # the politician is filtered out
    assert summary.photos_saved == 5 and summary.photos_broken == 0
    assert sorted(p.name for p in out.iterdir()) == ["Barack Obama", "Björk"]
    files = sorted(f.name for f in (out / "Barack Obama").iterdir())
    # P18 first, then category files in order; SVG and video skipped; the PNG converted to JPEG.
    assert files == ["Obama 2009.jpg", "Obama family.jpg", "President Barack Obama.jpg", "info.json"]
    assert all(decodes(f) for f in all_files(out) if f.suffix == ".jpg")
    info = ujson.loads((out / "Barack Obama" / "info.json").read_text(encoding="utf-8"))
    assert set(info) == {"name", "qid", "wikipedia", "description", "files"}
    assert info["name"] == "Barack Obama" and info["qid"] == "Q76"
    assert info["wikipedia"] == "https://en.wikipedia.org/wiki/Barack_Obama"
    assert info["description"] == "44th president of the US"
    entry = info["files"]["President Barack Obama.jpg"]
    assert entry == {"source": "https://commons.wikimedia.org/wiki/File:President_Barack_Obama.jpg",
                     "author": "Photo & Grapher for President Barack Obama.jpg",
                     "license": "CC BY-SA 4.0", "license_url": "https://creativecommons.org/licenses/by-sa/4.0",
                     "attribution_required": True, "credit": "Own work",
                     "usage_terms": "Creative Commons Attribution-Share Alike 4.0", "restrictions": []}
    assert list(info["files"]) == ["President Barack Obama.jpg", "Obama family.jpg", "Obama 2009.jpg"]
    assert ujson.loads((out / "Björk" / "info.json").read_text(encoding="utf-8"))["name"] == "Björk"
    # Politeness: our User-Agent on every request, thumbnails at a standard width.
    assert len(fake.user_agents) == 1 and next(iter(fake.user_agents)).startswith(UA_PREFIX)
    assert fake.hits["sparql"] == 1
    assert "VALUES ?occupation { wd:Q33999 wd:Q177220 }" in fake.sparql_queries[0]
    assert not list(out.rglob(".*"))                                          # no temporaries left


def test_gallery_reads_what_the_scraper_writes(tmp_path: Path) -> None:
    """The gallery builder's reader takes names and attribution from our info.json."""
    from gallery.photos import scan

    async def go() -> None:
        fake = FakeWikimedia([FakePerson(qid="Q1", name="Ada Lovelace", images=["Ada.jpg"])])
        await fake.start()
        try:
            await run(fake, tmp_path, per_person=1)
        finally:
            await fake.close()

    asyncio.run(go())
    [person] = scan(tmp_path)
    assert person.name == "Ada Lovelace" and person.links()["qid"] == "Q1"
    assert person.attribution(person.files[0])["license"] == "CC BY-SA 4.0"


# --- robustness ----------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_429_with_retry_after_then_success(wikimedia, tmp_path: Path) -> None:
    fake = await wikimedia(make_people(2, files=1))
    fake.fail_next("sparql", 429, retry_after="0")
    fake.fail_next("api", 503)                                            # no Retry-After: backoff
    fake.fail_next("thumb:Person 0000 portrait.jpg", 429, retry_after="1")
    started = time.perf_counter()

    summary = await run(fake, tmp_path, per_person=2)

    assert summary.people_done == 2 and summary.people_failed == 0
    assert summary.photos_saved == 4
    assert summary.retried == 3
    assert fake.hits["thumb:Person 0000 portrait.jpg"] == 2
    assert time.perf_counter() - started >= 1.0                          # Retry-After: 1 was honoured
    assert (tmp_path / "Person 0000" / "Person 0000 portrait.jpg").is_file()


@pytest.mark.asyncio
async def test_retries_run_out_person_fails_and_nothing_half_written(wikimedia, tmp_path: Path) -> None:
    fake = await wikimedia(make_people(1, files=1))
    fake.fail_next("thumb:Person 0000 0.jpg", 503, times=3)              # retries=2: three attempts, all 503

    summary = await run(fake, tmp_path, per_person=2)

    assert summary.people_failed == 1 and summary.people_done == 0
    assert "run again" in summary.failures[0]
    assert not (tmp_path / "Person 0000" / "info.json").exists()
    assert [f.name for f in all_files(tmp_path)] == ["Person 0000 portrait.jpg"]


@pytest.mark.asyncio
async def test_broken_image_is_skipped_counted_and_not_written(wikimedia, tmp_path: Path) -> None:
    fake = await wikimedia(make_people(1, files=3))
    fake.broken.add("Person 0000 0.jpg")
    fake.missing.add("Person 0000 1.jpg")

    summary = await run(fake, tmp_path, per_person=3)

    assert summary.skipped == {BROKEN: 1, REFUSED: 1}
    assert summary.photos_saved == 2 and summary.people_done == 1
    folder = tmp_path / "Person 0000"
    assert sorted(f.name for f in folder.iterdir()) == ["Person 0000 2.jpg", "Person 0000 portrait.jpg", "info.json"]
    assert set(ujson.loads((folder / "info.json").read_text())["files"]) == {"Person 0000 2.jpg",
                                                                              "Person 0000 portrait.jpg"}


@pytest.mark.asyncio
async def test_resume_completes_half_done_and_skips_finished(wikimedia, tmp_path: Path) -> None:
    fake = await wikimedia(make_people(3, files=2))
    # First run is "interrupted" for Person 0001: its last photo keeps failing.
    fake.fail_next("thumb:Person 0001 1.jpg", 503, times=3)
    first = await run(fake, tmp_path, per_person=3)
    assert first.people_done == 2 and first.people_failed == 1
    half = tmp_path / "Person 0001"
    assert not (half / "info.json").exists() and len(list(half.glob("*.jpg"))) == 2
    (half / ".Person 0001 1.jpg.tmp999").write_bytes(b"half a file")   # what a kill -9 mid-write leaves
    done_info = (tmp_path / "Person 0000" / "info.json").read_bytes()
    before = fake.hits.copy()

    second = await run(fake, tmp_path, per_person=3)

    new = fake.hits - before
    assert second.people_skipped == 2 and second.people_done == 1 and second.people_failed == 0
    assert second.photos_saved == 1 and second.photos_kept == 2
    # Finished people cost no request at all; the half-done one downloads only what it lacks.
    assert new["thumb"] == 1 and new["thumb:Person 0001 1.jpg"] == 1
    assert new["generator"] == 1 and new["imageinfo"] == 1 and new["sparql"] == 1
    assert second.requests == 4
    assert (tmp_path / "Person 0000" / "info.json").read_bytes() == done_info
    assert len(ujson.loads((half / "info.json").read_text())["files"]) == 3
    assert not list(half.glob(".*"))


# --- names file and the CLI ----------------------------------------------------------------------

@pytest.mark.asyncio
async def test_names_file_with_names_and_qids_via_cli(wikimedia, tmp_path: Path) -> None:
    people = [FakePerson(qid="Q76", name="Barack Obama", sitelinks=339, images=["Obama.jpg"]),
              FakePerson(qid="Q5", name="Michael Jordan", sitelinks=50, images=["MJ minor.jpg"]),
              FakePerson(qid="Q41421", name="Michael Jordan", sitelinks=150, images=["MJ.jpg"]),
              FakePerson(qid="Q42", name="Douglas Adams", sitelinks=120, images=["Adams.jpg"],
                         category="Douglas Adams", files=["Adams 2.jpg"]),
              FakePerson(qid="Q7", name='Tricky "Quote" \\ Name', images=["T.jpg"])]
    fake = await wikimedia(people)
    names = tmp_path / "names.txt"
    names.write_text("# my list\nBarack Obama\n\nMichael Jordan\nq42\nhttps://www.wikidata.org/wiki/Q76\n"
                     'Tricky "Quote" \\ Name\nNobody Atall\n', encoding="utf-8")
    cfg = write_config(tmp_path / "config.yaml", scrape={
        "sparql_endpoint": fake.sparql_endpoint, "commons_api": fake.commons_api, "contact": CONTACT,
        "backoff_s": 0.01, "thumb_width": 250})
    out = tmp_path / "out"

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "scrape_photos.py", "--names", str(names), "--out", str(out), "--config", str(cfg),
        "--per-person", "2", "--no-progress", cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)

    assert proc.returncode == 1, stderr.decode()                           # one name was not found
    assert "Nobody Atall: not found" in stderr.decode()
    assert "people: 5 asked for, 4 done, 0 skipped (complete), 1 failed" in stdout.decode()
    assert sorted(p.name for p in out.iterdir()) == ["Barack Obama", "Douglas Adams", "Michael Jordan",
                                                     "Tricky Quote Name"]
    # The homonym resolves to the most famous Michael Jordan; Q76 listed twice is collected once.
    assert ujson.loads((out / "Michael Jordan" / "info.json").read_text())["qid"] == "Q41421"
    assert len(list((out / "Douglas Adams").glob("*.jpg"))) == 2
    assert ujson.loads((out / "Tricky Quote Name" / "info.json").read_text())["name"] == 'Tricky "Quote" \\ Name'
    assert fake.hits["thumb"] == 5


# --- hostile names -------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_hostile_names_stay_inside_out(wikimedia, tmp_path: Path) -> None:
    hostile = ["../../etc/passwd", "..", "a/b", "x\x00y\x1b[31m", ".bashrc", "/abs", "\\\\server\\share",
               "Same Name", "same name", "..\\..\\win", "\u202egnp.exe"]
    people = [FakePerson(qid=f"Q{100 + i}", name=n, sitelinks=100 - i, images=[f"{i}.jpg"]) for i, n in
              enumerate(hostile)]
    people.append(FakePerson(qid="Q999", name="Files", sitelinks=30, images=["Ok.jpg"], category="Files",
                             files=["../../escape.jpg", "..\\up.jpg", "info.json.jpg", "OK.jpg"]))
    fake = await wikimedia(people)
    out = tmp_path / "sandbox" / "photos"
    (tmp_path / "sandbox" / "decoy").mkdir(parents=True)

    summary = await run(fake, out, per_person=5)

    assert summary.people_done == len(people) and summary.people_failed == 0
    for f in all_files(tmp_path):
        assert out.resolve() in f.resolve().parents, f
    folders = sorted(p.name for p in out.iterdir())
    assert all(p.is_dir() and p.parent == out for p in out.iterdir())
    assert not any(n.startswith(".") or "/" in n or "\\" in n or "\x00" in n or "\u202e" in n for n in folders)
    assert "etc passwd" in folders and "a b" in folders and "bashrc" in folders
    assert "Q101" in folders                                    # ".." has nothing left: the Q-id names it
    assert "Same Name" in folders and "same name (Q108)" in folders   # namesakes differ by Q-id
    names = {ujson.loads((out / d / "info.json").read_text())["name"] for d in folders}
    assert names == set(hostile) | {"Files"}                    # info.json keeps the true name
    files = sorted(f.name for f in (out / "Files").iterdir())
    # "Ok.jpg" and "OK.jpg" would be one file on a case-insensitive disk: the second gets " (2)".
    assert files == ["Info.json.jpg", "OK (2).jpg", "Ok.jpg", "escape.jpg", "info.json", "up.jpg"]
    assert not (tmp_path / "etc").exists() and sorted(os.listdir(tmp_path / "sandbox")) == ["decoy", "photos"]


def test_name_on_disk_owned_by_another_person_gets_qid(tmp_path: Path) -> None:
    (tmp_path / "John Smith").mkdir()
    (tmp_path / "John Smith" / "a.jpg").write_bytes(b"x")
    store.write_info(tmp_path / "John Smith", {"name": "John Smith", "qid": "Q1", "files": {"a.jpg": {}}})
    from collect.scrape import assign_folders
    people = [wikidata.Person(qid="Q2", name="John Smith"), wikidata.Person(qid="Q1", name="John Smith")]
    # Q2 is more famous but the plain folder belongs to Q1, which keeps it.
    assert assign_folders(people, tmp_path) == {"Q2": "John Smith (Q2)", "Q1": "John Smith"}


# --- small pieces --------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, safe", [
    ("../../etc/passwd", "etc passwd"), ("..", ""), (".", ""), ("a/b", "a b"), ("x\x00y", "x y"),
    ("...hidden", "hidden"), ("Björk Guðmundsdóttir", "Björk Guðmundsdóttir"), ("李小龍", "李小龍"),
    ("Beyoncé", "Beyoncé"), ("AC/DC", "AC DC"), ("name. ", "name"), ("\u202eevil", "evil"),
    ("C:\\Windows", "C Windows"), ("tab\tand\nnewline", "tab and newline"),
])
def test_safe_name(raw: str, safe: str) -> None:
    assert store.safe_name(raw) == safe


def test_safe_name_limits_length_in_bytes() -> None:
    name = store.safe_name("é" * 300)
    assert len(name) <= store.MAX_NAME_CHARS and len(name.encode()) <= store.MAX_NAME_BYTES


def test_inside_refuses_escapes(tmp_path: Path) -> None:
    for bad in ("..", "../x", "", "a/../../b"):
        with pytest.raises(ValueError):
            store.inside(tmp_path, bad)
    assert store.inside(tmp_path, "ok") == tmp_path / "ok"


def test_as_jpeg_checks_decoding() -> None:
    im = Image.new("RGB", (64, 48), "red")
    png, jpg = io.BytesIO(), io.BytesIO()
    im.save(png, "PNG")
    im.save(jpg, "JPEG")
    assert store.as_jpeg(jpg.getvalue()) == jpg.getvalue()                # JPEG kept byte for byte
    assert Image.open(io.BytesIO(store.as_jpeg(png.getvalue()) or b"")).format == "JPEG"
    assert store.as_jpeg(jpg.getvalue()[:200]) is None                   # truncated
    assert store.as_jpeg(b"<html>429 Too Many Requests</html>") is None


def test_retry_after_parsing() -> None:
    assert retry_after("0") == 0 and retry_after("5") == 5 and retry_after(None) is None
    assert retry_after("garbage") is None
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0            # in the past: no wait
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= (retry_after(future) or 0) <= 31


def test_occupations_and_thumb_steps() -> None:
    assert wikidata.parse_occupations("actor, singer,Q36834,actor") == ["Q33999", "Q177220", "Q36834"]
    assert wikidata.parse_occupations("film director,footballer") == ["Q2526255", "Q937857"]
    with pytest.raises(ValueError, match="unknown occupation"):
        wikidata.parse_occupations("astronaut")
    assert commons.thumb_step(1024) == 1280 and commons.thumb_step(960) == 960 and commons.thumb_step(1) == 20
    assert commons.thumb_step(10_000) == 3840


def test_sparql_literal_escapes_injection() -> None:
    lit = wikidata.literal('x" } ; DROP ?a \\ \n')
    assert lit == '"x\\" } ; DROP ?a \\\\ \\n"'
    assert 'wd:Q76' in wikidata.qids_query(["Q76"]) and '"Obama"@en' in wikidata.names_query(["Obama"])


def test_strip_html_artist() -> None:
    html = '<a href="//commons.wikimedia.org/wiki/User:X" title="User:X">Pete   Souza</a> &amp; <i>White House</i>'
    assert commons.strip_html(html) == "Pete Souza & White House"
