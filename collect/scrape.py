"""The collection run: people -> folders of checked photos with attribution.

People are processed by ``concurrency`` workers (the HTTP client bounds the
requests themselves); each person is independent, so one failure costs one
person, and a re-run picks up exactly where the last one stopped.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from collect import commons, store, wikidata
from collect.http import FetchError, PermanentError, PoliteClient, TransientError
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


@dataclass
class Summary:
    people_done: int = 0        # info.json written this run
    people_skipped: int = 0     # already complete
    people_failed: int = 0      # not found, no usable photo, or retries ran out
    photos_saved: int = 0       # downloaded and written this run
    photos_kept: int = 0        # already on disk from an interrupted run
    photos_broken: int = 0      # did not decode as an image: skipped, not written
    photos_unavailable: int = 0 # 404 and the like, or not a photo format
    requests: int = 0
    retried: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        rate = self.photos_saved / self.seconds if self.seconds else 0.0
        return [
            f"people: {self.people_done} done, {self.people_skipped} skipped (complete), {self.people_failed} failed",
            f"photos: {self.photos_saved} saved, {self.photos_kept} kept from an earlier run, "
            f"{self.photos_broken} broken, {self.photos_unavailable} unavailable",
            f"requests: {self.requests} sent, {self.retried} retried",
            f"time: {self.seconds:.1f} s, {rate:.1f} photos/s",
        ]


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

    async def person(self, p: Person, folder: Path) -> None:
        """Collect one person; raises FetchError when a later run should try again."""
        if store.read_info(folder) is not None:
            self.summary.people_skipped += 1
            return
        k = self.options.per_person
        titles = [p.image] if p.image else []
        if p.category and k > len(titles):
            # Extra candidates make room for non-photos, broken and missing files.
            members = await commons.category_files(self.client, self.config.commons_api, p.category,
                                                   min(commons.TITLES_PER_QUERY - 1, 4 * k + 2))
            titles += [t for t in members if t not in titles]
        if not titles:
            self._fail(p.name, f"{p.qid} has no image and no Commons category")
            return
        infos = await commons.file_infos(self.client, self.config.commons_api, titles, self.width)
        store.clean_temporaries(folder)
        taken: set[str] = set()
        files: dict[str, dict] = {}
        for title in titles:
            if len(files) >= k:
                break
            info = infos.get(title)
            if info is None or info.mime not in commons.PHOTO_MIMES:
                self.summary.photos_unavailable += 1
                continue
            name = store.file_name(title, taken)
            path = store.inside(folder, name)
            if path.is_file():  # written atomically by an interrupted run: whole
                self.summary.photos_kept += 1
            else:
                try:
                    data = await self.client.get_bytes(info.thumb_url)
                except PermanentError as exc:
                    log.info("%s: %s", title, exc)
                    self.summary.photos_unavailable += 1
                    continue
                jpeg = await asyncio.to_thread(store.as_jpeg, data)
                if jpeg is None:
                    log.info("%s: does not decode as an image, skipped", title)
                    self.summary.photos_broken += 1
                    continue
                await asyncio.to_thread(store.atomic_write, path, jpeg)
                self.summary.photos_saved += 1
            files[name] = {"source": info.source, "author": info.author, "license": info.license,
                           "license_url": info.license_url}
        if not files:
            self._fail(p.name, f"{p.qid}: no usable photo among {len(titles)} file(s)")
            return
        store.write_info(folder, {"name": p.name, "qid": p.qid, "wikipedia": p.wikipedia,
                                  "description": p.description, "files": files})
        self.summary.people_done += 1

    async def run(self) -> Summary:
        started = time.perf_counter()
        out = self.options.out
        out.mkdir(parents=True, exist_ok=True)
        try:
            people = await self.people()
        finally:
            self._count_requests(started)
        folders = assign_folders(people, out)
        queue: asyncio.Queue[Person] = asyncio.Queue()
        for p in people:
            queue.put_nowait(p)
        bar = tqdm(total=len(people), unit="person", desc="collecting", disable=not self.options.progress)

        async def worker() -> None:
            while True:
                try:
                    p = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                try:
                    await self.person(p, store.inside(out, folders[p.qid]))
                except TransientError as exc:
                    self._fail(p.name, f"{exc} (run again to retry)")
                except (FetchError, ValueError, OSError) as exc:
                    self._fail(p.name, str(exc))
                bar.update(1)

        try:
            await asyncio.gather(*(worker() for _ in range(max(1, self.config.concurrency))))
        finally:
            bar.close()
            self._count_requests(started)
        return self.summary

    def _count_requests(self, started: float) -> None:
        self.summary.requests = self.client.stats.requests
        self.summary.retried = self.client.stats.retried
        self.summary.seconds = time.perf_counter() - started


async def scrape(config: ScrapeConfig, options: Options) -> Summary:
    async with PoliteClient(config) as client:
        return await Scraper(config, options, client).run()
