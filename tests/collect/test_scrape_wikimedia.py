"""scrape_photos.py against Wikimedia as it really behaves (issue 10), over real HTTP to the local fake.

One section per defect: WDQS time-outs, files that cannot be thumbnailed,
attribution, politeness, request count, and the fake's own truthfulness.
"""
from __future__ import annotations

import asyncio
import math
import os
import sys
import time
from pathlib import Path

import aiohttp
import pytest
import ujson

from collect import agent, commons, wikidata
from collect.http import PoliteClient
from collect.rate import ByteRate
from collect.scrape import Options, scrape
from collect.wikidata import QueryTimeout
from testkit.scripts import ROOT, write_config
from testkit.fake_wikimedia import FakePerson, make_people, photo_bytes
from testkit.scraping import CONTACT, config_for, run

DOCS = ROOT / "docs" / "collecting.md"


def info_of(folder: Path) -> dict:
    return ujson.loads((folder / "info.json").read_text(encoding="utf-8"))


# --- 1. the top-N SPARQL query -------------------------------------------------------------------

@pytest.mark.asyncio
async def test_slow_query_gets_its_own_timeout_above_the_general_one(wikimedia, tmp_path: Path) -> None:
    fake = await wikimedia(make_people(2, files=0))
    fake.sparql_seconds = 2.0                     # slower than timeout_s, well inside WDQS's limit

    summary = await scrape(config_for(fake, timeout_s=1.0, sparql_timeout_s=30.0),
                           Options(out=tmp_path, per_person=1, progress=False))

    assert summary.people_done == 2 and fake.hits["sparql"] == 1 and summary.retried == 0


@pytest.mark.asyncio
@pytest.mark.parametrize("style", ["500", "truncated"])
async def test_server_side_timeout_fails_at_once_with_advice(wikimedia, tmp_path: Path, style: str) -> None:
    fake = await wikimedia(make_people(3))
    fake.sparql_seconds, fake.sparql_limit_s, fake.timeout_style = 1.0, 0.3, style

    with pytest.raises(QueryTimeout) as caught:
        await scrape(config_for(fake, retries=5), Options(out=tmp_path, limit=3, progress=False))

    message = str(caught.value)
    assert "min_sitelinks" in message and "(now 20)" in message and "--occupation" in message and "--names" in message
    assert fake.hits["sparql"] == 1                 # never run again: it would time out again
    assert not fake.api_params and fake.hits["thumb"] == 0


@pytest.mark.asyncio
async def test_client_side_read_timeout_is_not_retried(wikimedia, tmp_path: Path) -> None:
    fake = await wikimedia(make_people(1))
    fake.sparql_seconds = 3.0

    with pytest.raises(QueryTimeout, match="no answer within 1 s"):
        await scrape(config_for(fake, retries=5, sparql_timeout_s=1.0), Options(out=tmp_path, progress=False))
    assert fake.hits["sparql"] == 1


def test_query_binds_occupations_first_and_hints_the_sitelinks_range() -> None:
    lines = [line.strip() for line in wikidata.top_query(1000, ["Q33999"], 20).splitlines()]
    at = lines.index("?person wikibase:sitelinks ?sitelinks .")
    assert lines[at + 1] == "hint:Prior hint:rangeSafe true ."
    assert lines.index("VALUES ?occupation { wd:Q33999 }") < lines.index("?person wdt:P106/wdt:P279? ?occupation .") < at
    assert "hint:Prior hint:rangeSafe true ." in wikidata.top_query(10)        # also without occupations


def test_docs_show_the_query_the_scraper_sends() -> None:
    query = wikidata.top_query(1000, wikidata.parse_occupations("actor,singer"), 20, "en")
    assert query in DOCS.read_text(encoding="utf-8")


# --- 2. files that cannot be thumbnailed ---------------------------------------------------------

@pytest.mark.asyncio
async def test_unscalable_file_costs_only_that_file(wikimedia, tmp_path: Path) -> None:
    people = [FakePerson(qid="Q1", name="Scanned", images=["Portrait scan.jpg"], category="Scanned",
                         files=["Scanned 1.jpg"]),
              FakePerson(qid="Q2", name="Speaker", images=["Speaker.jpg"], category="Speaker",
                         files=["Speech 2009.pdf", "Interview.ogg", "Speaker 1.jpg", "Speaker 2.jpg"]),
              FakePerson(qid="Q3", name="Plain", images=["Plain.jpg"])]
    fake = await wikimedia(people)
    fake.mimes["Portrait scan.jpg"] = "application/pdf"      # named like a photo, cannot be scaled

    summary = await run(fake, tmp_path, per_person=3)

    assert summary.people_done == 3 and summary.people_failed == 0
    assert sorted(info_of(tmp_path / "Speaker")["files"]) == ["Speaker 1.jpg", "Speaker 2.jpg", "Speaker.jpg"]
    assert list(info_of(tmp_path / "Scanned")["files"]) == ["Scanned 1.jpg"]
    assert list(info_of(tmp_path / "Plain")["files"]) == ["Plain.jpg"]
    assert summary.skipped[commons.UNSCALABLE] == 1 and summary.skipped[commons.NOT_PHOTO] == 2
    # The P18 batch is asked again without the file the error named; Speaker's category falls
    # back to MIME types first, then thumbnails of the photos only.
    assert fake.hits["urlparamnormal"] == 2
    thumbs_asked = [p.get("titles", "") for p in fake.api_params if "iiurlwidth" in p and "titles" in p]
    assert thumbs_asked[0].count("|") == 2 and "Portrait scan.jpg" not in thumbs_asked[1]
    assert not any(".pdf" in t or ".ogg" in t for t in thumbs_asked)
    assert fake.hits["original"] == 0


def test_unscalable_file_name_from_the_error_message() -> None:
    info = "Could not normalize image parameters for Speech_&#91;2009&#93;.pdf."
    assert commons.unscalable_file(info) == "File:Speech [2009].pdf"
    assert commons.unscalable_file("something else") is None


# --- 3. attribution ------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_attribution_restrictions_and_files_without_licence(wikimedia, tmp_path: Path) -> None:
    files = ["Credited.jpg", "Unlicensed.jpg", "Anonymous.jpg", "Public domain.jpg", "No thumb.jpg"]
    fake = await wikimedia([FakePerson(qid="Q1", name="Star", images=files[:1], category="Star", files=files)])
    fake.metadata["Credited.jpg"] = {"Attribution": "<b>Jane&nbsp;Doe</b> / Agency&amp;Co",
                                     "Restrictions": "personality|trademarked"}
    fake.metadata["Unlicensed.jpg"] = {"LicenseShortName": None, "LicenseUrl": None}
    fake.metadata["Anonymous.jpg"] = {"Artist": None}
    fake.metadata["Public domain.jpg"] = {"Artist": None, "AttributionRequired": "false",
                                          "LicenseShortName": "Public domain", "LicenseUrl": None,
                                          "UsageTerms": "Public domain", "Credit": None}
    fake.no_thumb.add("No thumb.jpg")

    summary = await run(fake, tmp_path, per_person=5)

    info = info_of(tmp_path / "Star")
    assert list(info["files"]) == ["Credited.jpg", "Public domain.jpg"]
    credited = info["files"]["Credited.jpg"]
    assert credited["author"] == "Jane Doe / Agency&Co"            # Attribution wins over Artist
    assert credited["restrictions"] == ["personality", "trademarked"] and credited["attribution_required"]
    assert info["files"]["Public domain.jpg"] == {
        "source": "https://commons.wikimedia.org/wiki/File:Public_domain.jpg", "author": "",
        "license": "Public domain", "license_url": "", "attribution_required": False, "credit": "",
        "usage_terms": "Public domain", "restrictions": []}
    assert summary.skipped == {commons.NO_LICENCE: 1, commons.NO_AUTHOR: 1, commons.NO_THUMB: 1}
    assert fake.hits["original"] == 0 and fake.hits["thumb"] == 2     # never the full-size original


def test_strip_html_unescapes_once_and_drops_footnotes() -> None:
    assert commons.strip_html("Tom &amp;lt;Tommy&amp;gt; Smith") == "Tom &lt;Tommy&gt; Smith"
    assert commons.strip_html('Pete Souza<sup id="cite_ref-1" class="reference"><a href="#cite_note-1">[1]</a>'
                              '</sup>, White House [2]') == "Pete Souza, White House"
    assert commons.strip_html("<style>.x{}</style>Ann <i>Lee</i>") == "Ann Lee"


# --- 4. politeness -------------------------------------------------------------------------------

def test_contact_is_required_and_the_environment_wins() -> None:
    with pytest.raises(agent.NoContact, match=agent.CONTACT_ENV):
        agent.contact("", environ={})
    with pytest.raises(agent.NoContact, match="not an e-mail or URL"):
        agent.contact("John", environ={})
    assert agent.contact("ops@example.org", environ={agent.CONTACT_ENV: "https://bot.example.org/about"}) \
        == "https://bot.example.org/about"
    ua = agent.user_agent("ops@example.org", environ={})
    assert ua.startswith("lookalike-gallery-builder/1.0 (ops@example.org) aiohttp/")


@pytest.mark.asyncio
async def test_cli_refuses_without_contact_and_sends_nothing(wikimedia, tmp_path: Path) -> None:
    fake = await wikimedia(make_people(1))
    scrape_cfg = {"sparql_endpoint": fake.sparql_endpoint, "commons_api": fake.commons_api, "contact": ""}
    cfg = write_config(tmp_path / "config.yaml", scrape=scrape_cfg)
    env = {k: v for k, v in os.environ.items() if k != agent.CONTACT_ENV}
    args = [sys.executable, "scrape_photos.py", "--limit", "1", "--per-person", "1", "--out", str(tmp_path / "out"),
            "--config", str(cfg), "--no-progress"]

    refused = await asyncio.create_subprocess_exec(*args, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE)
    _, stderr = await asyncio.wait_for(refused.communicate(), 60)
    assert refused.returncode == 2
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1 and f"export {agent.CONTACT_ENV}=" in lines[0] and "scrape.contact" in lines[0]
    assert not fake.user_agents                                   # not a single request was sent

    allowed = await asyncio.create_subprocess_exec(*args, cwd=ROOT, env={**env, agent.CONTACT_ENV: CONTACT},
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, stderr = await asyncio.wait_for(allowed.communicate(), 60)
    assert allowed.returncode == 0, stderr.decode()
    assert fake.hits["refused-agent"] == 0 and all(f"({CONTACT})" in ua for ua in fake.user_agents)


@pytest.mark.asyncio
async def test_fake_refuses_agents_without_contact(wikimedia) -> None:
    fake = await wikimedia([])
    async with aiohttp.ClientSession() as session:
        for ua in ("lookalike-gallery-builder/1.0", "python-requests/2.31 (me@example.org)", ""):
            async with session.get(fake.commons_api, headers={"User-Agent": ua}) as resp:
                assert resp.status == 403, ua


@pytest.mark.asyncio
async def test_download_rate_never_exceeds_the_cap(wikimedia, tmp_path: Path) -> None:
    fake = await wikimedia(make_people(4, files=1))
    estimate = 8 * len(photo_bytes(330, "JPEG"))       # 4 people x 2 photos at 330 px
    mbps = estimate * 8 / 1e6 / 1.5                    # the cap makes them take about 1.5 s
    started = time.perf_counter()

    summary = await scrape(config_for(fake, download_mbps=mbps), Options(out=tmp_path, per_person=2, progress=False))

    elapsed = time.perf_counter() - started
    assert summary.photos_saved == 8 and fake.bytes_served == summary.downloaded > 0
    assert elapsed >= fake.bytes_served * 8 / (mbps * 1e6)        # a lower bound: a busy machine only adds


def test_byte_rate_paces_bytes_whatever_the_chunking() -> None:
    now = [100.0]
    rate = ByteRate(8.0, clock=lambda: now[0])          # 1 MB/s
    assert rate.delay(500_000) == pytest.approx(0.5)
    assert rate.delay(500_000) == pytest.approx(1.0)     # queued behind the first half megabyte
    now[0] += 5.0                                         # idle time is not saved up as a burst
    assert rate.delay(250_000) == pytest.approx(0.25)
    with pytest.raises(ValueError):
        ByteRate(0)


@pytest.mark.asyncio
async def test_maxlag_sent_and_maxlag_ratelimited_are_transient(wikimedia, tmp_path: Path) -> None:
    fake = await wikimedia(make_people(2, files=2))
    fake.lag = [(7.0, "1")]                 # replicas 7 s behind, more than our maxlag=5: wait 1 s
    fake.ratelimited = 1
    started = time.perf_counter()

    summary = await run(fake, tmp_path, per_person=2)

    assert summary.people_done == 2 and summary.people_failed == 0
    assert fake.hits["maxlag"] == 1 and fake.hits["ratelimited"] == 1 and summary.retried == 2
    assert time.perf_counter() - started >= 1.0                      # Retry-After honoured
    assert fake.api_params and all(p.get("maxlag") == "5" for p in fake.api_params)


@pytest.mark.asyncio
async def test_retry_after_above_the_cap_stops_asking_that_host(wikimedia, tmp_path: Path) -> None:
    fake = await wikimedia(make_people(6, files=1))
    fake.fail_next("thumb:Person 0000 portrait.jpg", 429, retry_after="3600")

    summary = await asyncio.wait_for(scrape(config_for(fake, concurrency=1, max_wait_s=60),
                                            Options(out=tmp_path, per_person=2, progress=False)), 120)

    assert "asked for a 3600 s pause" in summary.stopped and "run again after" in summary.stopped
    assert fake.hits["thumb"] == 1                   # not retried early, nothing else sent to that host
    assert summary.people_failed == 1 and summary.people_done == 0
    assert fake.hits["generator"] == 1               # the run stopped: nobody else was started
    assert any("stopped early" in line for line in summary.lines())


# --- 5. fewer requests ---------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_request_count_fifty_p18_per_request_one_per_category(wikimedia, tmp_path: Path) -> None:
    people, k = 120, 3
    fake = await wikimedia(make_people(people, files=3))

    summary = await run(fake, tmp_path, per_person=k, limit=people)

    assert summary.people_done == people and summary.photos_saved == people * k
    batches = math.ceil(people / commons.TITLES_PER_QUERY)
    assert fake.hits["imageinfo"] == batches and fake.hits["generator"] == people
    assert max(p["titles"].count("|") + 1 for p in fake.api_params if "titles" in p) == commons.TITLES_PER_QUERY
    assert summary.requests == 1 + batches + people + people * k     # SPARQL + P18 + categories + photos


@pytest.mark.asyncio
async def test_one_photo_each_needs_no_category_request(wikimedia, tmp_path: Path) -> None:
    fake = await wikimedia(make_people(60, files=3))
    summary = await run(fake, tmp_path, per_person=1, limit=60)
    assert summary.people_done == 60 and fake.hits["generator"] == 0 and fake.hits["imageinfo"] == 2


@pytest.mark.asyncio
async def test_redirected_and_normalised_titles_map_back_to_their_people(wikimedia, tmp_path: Path) -> None:
    people = [FakePerson(qid="Q1", name="Renamed", images=["Old name.jpg"]),
              FakePerson(qid="Q2", name="Lower", images=["lower case_and_underscores.jpg"]),
              FakePerson(qid="Q3", name="Björk", images=["Björk (2019), 100% +A&B; ça?.jpg"])]
    fake = await wikimedia(people)
    fake.redirects["Old name.jpg"] = "New name.jpg"
    fake.people.append(FakePerson(qid="Q9", name="Holder", sitelinks=1, images=[], files=["New name.jpg"]))

    summary = await run(fake, tmp_path, per_person=1, limit=3)

    assert summary.people_done == 3 and summary.people_failed == 0
    assert info_of(tmp_path / "Renamed")["files"]["New name.jpg"]["source"] == \
        "https://commons.wikimedia.org/wiki/File:New_name.jpg"
    assert info_of(tmp_path / "Lower")["files"]["Lower case and underscores.jpg"]["license"] == "CC BY-SA 4.0"
    assert list(info_of(tmp_path / "Björk")["files"]) == ["Björk (2019), 100% +A&B; ça.jpg"]
    assert fake.hits["thumb-404"] == 0 and fake.hits["imageinfo"] == 1
    assert all(p.get("redirects") == "1" for p in fake.api_params if "titles" in p)


@pytest.mark.asyncio
async def test_redirected_p18_in_its_own_category_is_fetched_once(wikimedia, tmp_path: Path) -> None:
    fake = await wikimedia([FakePerson(qid="Q1", name="Renamed", images=["Old name.jpg"], category="Renamed",
                                       files=["New name.jpg", "Other.jpg"])])
    fake.redirects["Old name.jpg"] = "New name.jpg"

    summary = await run(fake, tmp_path, per_person=3)

    assert list(info_of(tmp_path / "Renamed")["files"]) == ["New name.jpg", "Other.jpg"]
    assert fake.hits["thumb:New name.jpg"] == 1 and summary.photos_saved == 2


# --- 6. the fake answers as the real services do -------------------------------------------------

@pytest.mark.asyncio
async def test_fake_url_shapes(wikimedia) -> None:
    fake = await wikimedia([FakePerson(qid="Q1", name="Douglas Adams", images=["Douglas adams portrait.jpg"],
                                       category="Douglas Adams", files=["Björk (2019).jpg"])])
    config = config_for(fake)
    async with PoliteClient(config) as client:
        [person] = await wikidata.top_people(client, fake.sparql_endpoint, 1)
        infos = await commons.file_infos(client, fake.commons_api, [person.image or ""], 330)
        members = await commons.category_infos(client, fake.commons_api, "Douglas Adams", 5, 330)
    assert person.wikipedia == "https://en.wikipedia.org/wiki/Douglas_Adams"        # from ".../Douglas%20Adams"
    assert person.image == "File:Douglas adams portrait.jpg"
    info = infos["File:Douglas adams portrait.jpg"]
    assert isinstance(info, commons.FileInfo) and "/thumb/" in info.thumb_url and info.thumb_url.endswith(
        "/330px-Douglas_adams_portrait.jpg")
    [(title, found)] = members
    assert title == "File:Björk (2019).jpg" and isinstance(found, commons.FileInfo)
    assert found.thumb_url.endswith("/Bj%C3%B6rk_(2019).jpg/330px-Bj%C3%B6rk_(2019).jpg")
