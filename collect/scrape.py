"""The collection run: people -> folders of checked photos with attribution.

People go 50 at a time: one request asks for the Wikidata images of all of
them, then ``concurrency`` workers take one person each (one request for
their category files, then the downloads; the HTTP client bounds the requests
themselves). Each person is independent, so one failure costs one person, and
a re-run picks up exactly where the last one stopped. A host asking for a
pause longer than ``max_wait_s`` ends the run early: nothing is retried early.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from collect import commons, store, wikidata
from collect.http import FetchError, HostPaused, PermanentError, PoliteClient, TransientError
from collect.wikidata import Person
from settings import ScrapeConfig

log = logging.getLogger(__name__)


@dataclass
class Options:
    out: Path
    per_person: int = 3
    limit: int | None = 100                     # top-N mode; with names: first N entries
    occupations: list[str] = field(default_factory=list)
    names: list[str] | None = None              # names file entries: names and Q-ids
    progress: bool = True


BROKEN = "does not decode as an image"
REFUSED = "download refused (404, 403...)"


@dataclass
class Summary:
    people_asked: int = 0       # people the query or names file gave
    people_done: int = 0        # info.json written this run
    people_skipped: int = 0     # already complete
    people_failed: int = 0      # not found, no usable photo, or retries ran out
    photos_saved: int = 0       # downloaded and written this run
    photos_kept: int = 0        # already on disk from an interrupted run
    skipped: Counter = field(default_factory=Counter)   # reason -> files not used
    requests: int = 0
    retried: int = 0
    downloaded: int = 0         # bytes
    by_host: dict[str, int] = field(default_factory=dict)   # requests per host:port
    seconds: float = 0.0
    stopped: str = ""           # why the run ended early (a host asked for a long pause)
    failures: list[str] = field(default_factory=list)

    @property
    def photos_broken(self) -> int:
        return self.skipped[BROKEN]

    def lines(self) -> list[str]:
        rate = self.photos_saved / self.seconds if self.seconds else 0.0
        skipped = ", ".join(f"{n} {why}" for why, n in self.skipped.most_common()) or "none"
        out = [
            f"people: {self.people_asked} asked for, {self.people_done} done, {self.people_skipped} skipped "
            f"(complete), {self.people_failed} failed",
            f"photos: {self.photos_saved} saved, {self.photos_kept} kept from an earlier run",
            f"skipped files: {skipped}",
            f"requests: {self.requests} sent, {self.retried} retried, {self.downloaded / 1e6:.1f} MB downloaded",
            f"time: {self.seconds:.1f} s, {rate:.1f} photos/s",
        ]
        return out + ([f"stopped early: {self.stopped}"] if self.stopped else [])


MAX_BASE = store.MAX_NAME_CHARS - 14   # room for " (Q123456789)"


def assign_folders(people: list[Person], out: Path) -> dict[str, str]:
    """Q-id -> folder name. The first (most famous) holder of a name gets it plain,
    later namesakes and folders already owned by another Q-id get "Name (Q123)"."""
    folders: dict[str, str] = {}
    used: set[str] = set()
    for p in people:
        base = store.safe_name(p.name) or p.qid
        name = base
        existing = store.read_info(out / name) if (out / name).is_dir() else None
        owner = existing.get("qid") if existing else None
        if name.casefold() in used or (owner and owner != p.qid):
            name = store.safe_name(f"{base[:MAX_BASE]} ({p.qid})")
        used.add(name.casefold())
        folders[p.qid] = name
    return folders



class Scraper:
    def __init__(self, config: ScrapeConfig, options: Options, client: PoliteClient) -> None:
        self.config, self.options, self.client = config, options, client
        self.width = commons.thumb_step(config.thumb_width)
        self.summary = Summary()

    async def people(self) -> list[Person]:
        cfg, opt = self.config, self.options
        if opt.names is not None:
            entries = opt.names[:opt.limit] if opt.limit else opt.names
            found, missing = await wikidata.lookup(self.client, cfg.sparql_endpoint, entries, cfg.language)
            for entry in missing:
                self._fail(entry, "not found on Wikidata (as an English/mul label of a human, or a Q-id)")
            return found
        return await wikidata.top_people(self.client, cfg.sparql_endpoint, opt.limit or 100, opt.occupations,
                                         cfg.min_sitelinks, cfg.language)

    def _fail(self, who: str, why: str) -> None:
        self.summary.people_failed += 1
        self.summary.failures.append(f"{who}: {why}")
        log.warning("%s: %s", who, why)

    async def p18_infos(self, people: list[Person]) -> dict[str, commons.Found]:
        """The Wikidata images of many people in one request per 50."""
        titles = [p.image for p in people if p.image]
        if not titles:
            return {}
        return await commons.file_infos(self.client, self.config.commons_api, titles, self.width)

    async def candidates(self, p: Person, p18: dict[str, commons.Found]) -> list[tuple[str, commons.Found]]:
        """P18 first, then category files (extra ones make room for unusable files)."""
        out = [(p.image, p18.get(p.image, commons.MISSING))] if p.image else []
        k = self.options.per_person
        if p.category and k > len(out):
            members = await commons.category_infos(self.client, self.config.commons_api, p.category,
                                                   4 * k + 2, self.width)
            # The P18 file is often in the category too, under the title Commons answered with.
            seen = {t for t, found in out} | {f.title for _, f in out if isinstance(f, commons.FileInfo)}
            out += [(t, found) for t, found in members if t not in seen]
        return out

    async def person(self, p: Person, folder: Path, p18: dict[str, commons.Found]) -> None:
        """Collect one person not yet complete; raises FetchError when a later run should try again."""
        candidates = await self.candidates(p, p18)
        if not candidates:
            self._fail(p.name, f"{p.qid} has no image and no Commons category")
            return
        store.clean_temporaries(folder)
        taken: set[str] = set()
        files: dict[str, dict] = {}
        for title, info in candidates:
            if len(files) >= self.options.per_person:
                break
            if isinstance(info, str):
                log.info("%s: %s, skipped", title, info)
                self.summary.skipped[info] += 1
                continue
            name = store.file_name(info.title, taken)     # the title Commons answered under
            path = store.inside(folder, name)
            if path.is_file():  # written atomically by an interrupted run: whole
                self.summary.photos_kept += 1
            elif not await self.download(info, path):
                continue
            files[name] = info.attribution()
        if not files:
            self._fail(p.name, f"{p.qid}: no usable photo among {len(candidates)} file(s)")
            return
        store.write_info(folder, {"name": p.name, "qid": p.qid, "wikipedia": p.wikipedia,
                                  "description": p.description, "files": files})
        self.summary.people_done += 1

    async def download(self, info: commons.FileInfo, path: Path) -> bool:
        """Fetch, check and write one photo; False (and counted) when it is unusable."""
        try:
            data = await self.client.get_bytes(info.thumb_url)
        except PermanentError as exc:
            log.info("%s: %s", info.title, exc)
            self.summary.skipped[REFUSED] += 1
            return False
        jpeg = await asyncio.to_thread(store.as_jpeg, data)
        if jpeg is None:
            log.info("%s: does not decode as an image, skipped", info.title)
            self.summary.skipped[BROKEN] += 1
            return False
        await asyncio.to_thread(store.atomic_write, path, jpeg)
        self.summary.photos_saved += 1
        return True

    async def run(self) -> Summary:
        started = time.perf_counter()
        out = self.options.out
        out.mkdir(parents=True, exist_ok=True)
        try:
            people = await self.people()
        finally:
            self._count_requests(started)
        self.summary.people_asked = len(people) + len(self.summary.failures)
        folders = assign_folders(people, out)
        bar = tqdm(total=len(people), unit="person", desc="collecting", disable=not self.options.progress)
        try:
            for i in range(0, len(people), commons.TITLES_PER_QUERY):
                chunk = people[i:i + commons.TITLES_PER_QUERY]
                if not await self.chunk(chunk, folders, bar):
                    break
        finally:
            bar.close()
            self._count_requests(started)
        return self.summary

    async def chunk(self, people: list[Person], folders: dict[str, str], bar: tqdm) -> bool:
        """Up to 50 people: their P18 infos in one request, then ``concurrency`` workers. False: stop."""
        out = self.options.out
        todo = [p for p in people if store.read_info(store.inside(out, folders[p.qid])) is None]
        self.summary.people_skipped += len(people) - len(todo)
        bar.update(len(people) - len(todo))
        try:
            p18 = await self.p18_infos(todo)
        except HostPaused as exc:
            self.summary.stopped = exc.reason
            return False
        except FetchError as exc:    # the batch failed: each person tries on their own next run
            for p in todo:
                self._fail(p.name, f"{exc} (run again to retry)")
            bar.update(len(todo))
            return True
        queue: asyncio.Queue[Person] = asyncio.Queue()
        for p in todo:
            queue.put_nowait(p)

        async def worker() -> None:
            while not self.summary.stopped:
                try:
                    p = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                try:
                    await self.person(p, store.inside(out, folders[p.qid]), p18)
                except HostPaused as exc:
                    self.summary.stopped = exc.reason
                    self._fail(p.name, f"{exc.reason} (run again to retry)")
                except TransientError as exc:
                    self._fail(p.name, f"{exc} (run again to retry)")
                except (FetchError, ValueError, OSError) as exc:
                    self._fail(p.name, str(exc))
                bar.update(1)

        await asyncio.gather(*(worker() for _ in range(max(1, self.config.concurrency))))
        return not self.summary.stopped

    def _count_requests(self, started: float) -> None:
        self.summary.requests = self.client.stats.requests
        self.summary.downloaded = self.client.stats.downloaded
        self.summary.by_host = dict(self.client.stats.by_host)
        self.summary.retried = self.client.stats.retried
        self.summary.seconds = time.perf_counter() - started


async def scrape(config: ScrapeConfig, options: Options) -> Summary:
    async with PoliteClient(config) as client:
        return await Scraper(config, options, client).run()
