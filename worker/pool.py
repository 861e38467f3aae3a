"""A pool of face-engine processes for the bot (async) and the scripts (batch).

pebble's ProcessPool is used rather than concurrent.futures because it tracks
which worker runs which job: when a worker dies (segfault, OOM kill) or runs
past the per-job time limit, only that job fails and a fresh worker takes its
place, whereas a ProcessPoolExecutor breaks and fails every queued job.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import concurrent.futures.process
import contextlib
import logging
import multiprocessing
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import pebble
from pebble.pool.base_pool import PoolStatus

from settings import EngineConfig, PoolConfig
from worker.outcome import LOST_WITH_POOL, EmbedResult, Outcome

log = logging.getLogger(__name__)

# One thread per worker for every math library dlib or numpy may use: the pool
# already has one process per core, nested threads only fight over the cores.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

_engine = None  # the FaceEngine of this worker process
WATCH_S = 1.0   # how often a waiting caller checks that its pool is still alive
STUCK_FACTOR = 3  # a job unanswered after this many job time limits means the pool is wedged


def _init_worker(config: EngineConfig) -> None:
    global _engine
    for name in THREAD_VARS:
        os.environ[name] = "1"
    from worker.engine import FaceEngine

    _engine = FaceEngine(config)


def _embed(data: bytes, jitters: int | None, thumbnail_size: int | None, annotate: bool = False,
           chips: int = 0) -> EmbedResult:
    return _engine.embed(data, jitters=jitters, thumbnail_size=thumbnail_size, annotate=annotate, chips=chips)


def _card(chip: bytes, celebrity: str, text) -> bytes | None:
    return _engine.card(chip, celebrity, text)


def _card_from_photo(data: bytes, box: tuple[int, int, int, int], celebrity: str, text) -> bytes | None:
    return _engine.card_from_photo(data, box, celebrity, text)


def _embed_file(path: str, jitters: int | None, thumbnail_size: int | None) -> EmbedResult:
    # The scripts send paths, not bytes: the worker reads the file itself and
    # nothing large crosses the pipe.
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return EmbedResult(Outcome.NOT_AN_IMAGE, detail=f"unreadable file ({type(exc).__name__})")
    return _engine.embed(data, jitters=jitters, thumbnail_size=thumbnail_size)


def _worker_pid() -> int:
    return os.getpid()


class FacePool:
    """Face engines in worker processes, with a bounded number of pending jobs."""

    def __init__(self, engine: EngineConfig, pool: PoolConfig, workers: int | None = None) -> None:
        self.engine_config = engine
        self.config = pool
        self.workers = workers or pool.worker_count
        for name in THREAD_VARS:
            os.environ.setdefault(name, "1")
        self._replacing = threading.Lock()
        self._inflight: set[concurrent.futures.Future] = set()
        self._pool = self._new_pool()
        self.restarts = 0  # pools replaced after pebble declared one broken
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None
        self.pending = 0  # jobs submitted and not finished (queue depth for metrics)

    # -- lifecycle ---------------------------------------------------------
    def _new_pool(self) -> pebble.ProcessPool:
        return pebble.ProcessPool(max_workers=self.workers, initializer=_init_worker, initargs=(self.engine_config,),
                                  context=multiprocessing.get_context("spawn"))

    def _live_pool(self, stuck: pebble.ProcessPool | None = None) -> pebble.ProcessPool:
        """The pebble pool, replaced first if pebble has declared it broken (or it is ``stuck``).

        pebble gives up on the whole pool when a worker dies while no job at all is
        running (an idle worker OOM-killed, say), which with jobs of ~30 ms happens in
        any lull. The dead worker's job, if any, was already reported.
        """
        with self._replacing:
            wedged = stuck is not None and stuck is self._pool
            if self._pool._context.status == PoolStatus.ERROR or wedged:
                log.error("worker pool %s; starting a new one",
                          "stopped answering" if wedged else "broken by a worker that died idle")
                broken, self._pool = self._pool, self._new_pool()
                broken.stop()
                self._fail_stranded(broken)
                threading.Thread(target=broken.join, name="join-broken-pool", daemon=True).start()  # never block
                self._pool.schedule(_worker_pid)  # starts every worker now, not at the next photo
                self.restarts += 1
            return self._pool

    def _fail_stranded(self, broken: pebble.ProcessPool) -> None:
        """Fail the jobs still queued in a broken pool: pebble aborts only the jobs it had
        dispatched, and a stopped pool never takes the others, so their futures would wait
        forever (and so would the photos behind them). Failed, they come back as worker_died
        and the caller retries them in the new pool."""
        for future in list(self._inflight):
            if getattr(future, "pool", None) is broken and not future.done():
                with contextlib.suppress(concurrent.futures.InvalidStateError):
                    future.set_exception(concurrent.futures.process.BrokenProcessPool("pool replaced"))

    def close(self, wait: bool = True) -> None:
        """Finish the jobs already taken, then stop the workers."""
        self._pool.close()
        if wait:
            self._pool.join()

    def kill(self) -> None:
        self._pool.stop()
        self._pool.join()

    def __enter__(self) -> "FacePool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def warm_up(self, timeout: float = 120.0) -> None:
        """Block until every worker has loaded its models (for /healthz and benchmarks)."""
        futures = [self._live_pool().schedule(_worker_pid) for _ in range(self.workers * 2)]
        concurrent.futures.wait(futures, timeout=timeout)

    def worker_pids(self) -> list[int]:
        """This pool's live worker processes (for tests, benchmarks and metrics)."""
        workers = self._live_pool()._pool_manager.worker_manager.workers  # pebble keeps pid -> process
        return [pid for pid, proc in list(workers.items()) if proc.is_alive()]

    # -- jobs --------------------------------------------------------------
    def submit(self, data: bytes, *, jitters: int | None = None, thumbnail_size: int | None = None,
               annotate: bool = False, chips: int = 0) -> concurrent.futures.Future:
        return self._schedule(_embed, data, jitters, thumbnail_size, annotate, chips)

    def submit_file(self, path: str | Path, *, jitters: int | None = None,
                    thumbnail_size: int | None = None) -> concurrent.futures.Future:
        return self._schedule(_embed_file, str(path), jitters, thumbnail_size)

    def _schedule(self, fn, *args) -> concurrent.futures.Future:
        self.pending += 1
        pool = self._live_pool()
        future = pool.schedule(fn, args=args, timeout=self.config.job_timeout_s)
        future.pool = pool  # which pool holds it, should that one break
        self._inflight.add(future)
        future.add_done_callback(self._job_done)
        return future

    def _job_done(self, future: concurrent.futures.Future) -> None:
        self.pending -= 1
        self._inflight.discard(future)

    async def _wait(self, future: concurrent.futures.Future) -> None:
        """Until the job is done; meanwhile, once a second, replace the pool if pebble broke it
        (which fails the jobs stranded in it) so that no caller waits forever."""
        wrapped = asyncio.wrap_future(future)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.job_timeout_s * STUCK_FACTOR
        try:
            while not (await asyncio.wait({wrapped}, timeout=WATCH_S))[0]:
                # Past any honest queue wait plus the job's own limit, the pool itself has stopped
                # answering: replace it, which fails this job (worker_died) and its queue-mates.
                self._live_pool(stuck=future.pool if loop.time() > deadline else None)
        except asyncio.CancelledError:
            future.cancel()
            raise
        if not wrapped.cancelled():
            wrapped.exception()  # read from ``future`` by the caller; marked seen so asyncio does not warn

    @staticmethod
    def result_of(future: concurrent.futures.Future) -> EmbedResult:
        """The job's result, with a dead worker or a time-out turned into an outcome."""
        try:
            return future.result()
        except concurrent.futures.TimeoutError:
            return EmbedResult(Outcome.TIMEOUT, detail="job time limit exceeded")
        except pebble.ProcessExpired as exc:
            return EmbedResult(Outcome.WORKER_DIED, detail=f"worker exit code {exc.exitcode}")
        except concurrent.futures.process.BrokenProcessPool:  # queued when pebble gave up; a retry gets a new pool
            return EmbedResult(Outcome.WORKER_DIED, detail=f"{LOST_WITH_POOL}: worker pool broken")
        except concurrent.futures.CancelledError:  # only a stopping pool cancels jobs (callers re-raise their own)
            return EmbedResult(Outcome.WORKER_DIED, detail=f"{LOST_WITH_POOL}: job cancelled by its pool")
        except Exception as exc:  # e.g. a pickling error; never let it reach the caller raw
            log.error("pool job failed: %s", type(exc).__name__)
            return EmbedResult(Outcome.INTERNAL, detail=type(exc).__name__)

    async def card(self, chip: bytes, celebrity: Path, text) -> bytes | None:
        """The "you and them" card (worker/card.py); None if it could not be made."""
        return await self._run(_card, chip, str(celebrity), text)

    async def card_from_photo(self, data: bytes, box: tuple[int, int, int, int], celebrity: Path,
                              text) -> bytes | None:
        return await self._run(_card_from_photo, data, box, str(celebrity), text)

    def _slots_here(self) -> asyncio.Semaphore:
        """The pending-jobs limit, for the running event loop: one pool may serve successive loops
        (a bot restarted in the same process, the tests), and a semaphore belongs to one loop."""
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(self.config.max_pending))
        return self._slots[1]

    async def _run(self, fn, *args):
        """A small job other than embedding; any failure (dead worker, time-out) is None."""
        async with self._slots_here():
            future = self._schedule(fn, *args)
            await self._wait(future)
            if future.cancelled() or future.exception() is not None:
                reason = "cancelled" if future.cancelled() else type(future.exception()).__name__
                log.warning("pool job %s failed: %s", fn.__name__, reason)
                return None
            return future.result()

    async def embed(self, data: bytes, *, jitters: int | None = None, annotate: bool = False,
                    chips: int = 0) -> EmbedResult:
        """Embed one photo without blocking the event loop; beyond ``max_pending`` jobs a caller waits."""
        async with self._slots_here():
            future = self.submit(data, jitters=jitters, annotate=annotate, chips=chips)
            await self._wait(future)  # any failure is turned into an outcome below
            return self.result_of(future)

    def embed_sync(self, data: bytes, *, jitters: int | None = None) -> EmbedResult:
        return self.result_of(self.submit(data, jitters=jitters))

    def map_files(self, paths: Iterable[str | Path], *, jitters: int | None = None,
                  thumbnail_size: int | None = None) -> Iterator[tuple[Path, EmbedResult]]:
        """Embed many files, yielding (path, result) in completion order.

        Keeps at most ``max_pending`` jobs queued so a 100k-photo folder does
        not turn into 100k futures at once.
        """
        todo = iter(paths)
        running: dict[concurrent.futures.Future, Path] = {}

        def refill() -> None:
            for path in todo:
                running[self.submit_file(path, jitters=jitters, thumbnail_size=thumbnail_size)] = Path(path)
                if len(running) >= self.config.max_pending:
                    break

        refill()
        while running:
            done, _ = concurrent.futures.wait(running, timeout=WATCH_S,
                                              return_when=concurrent.futures.FIRST_COMPLETED)
            if not done:
                self._live_pool()  # a broken pool is replaced and its stranded jobs fail
                continue
            for future in done:
                yield running.pop(future), self.result_of(future)
            refill()
