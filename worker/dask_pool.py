"""The build's embedding jobs on a Dask cluster, with the local pool's interface.

``build_embeddings.py --dask tcp://scheduler:8786`` (or ``--dask local:N`` for a
LocalCluster of N worker processes) uses this instead of ``FacePool``. Each
Dask worker runs the very same job function as a pool worker
(``worker.pool._embed_file``); a worker plugin loads the models once per worker
process, as the pool's initializer does. Jobs carry a path, not bytes: the
photos sit on storage every worker mounts (measured in BENCHMARKS.md, section
"Dask"), so nothing large passes through the scheduler.

When a Dask worker dies, the scheduler reruns its tasks elsewhere; a photo that
kills workers ``distributed.scheduler.allowed-failures`` times ends as
WORKER_DIED, as a photo that kills its pool worker does. Each task yields once:
results are keyed by future, and a rerun task still has one future.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from distributed import Client, KilledWorker, LocalCluster, WorkerPlugin, as_completed

from settings import EngineConfig
from worker import pool as local_pool
from worker.outcome import EmbedResult, Outcome

log = logging.getLogger(__name__)

PLUGIN_NAME = "lookalike-face-engine"


class EngineLoader(WorkerPlugin):
    """Loads the face engine once in each Dask worker process (and in each one that replaces it)."""

    name = PLUGIN_NAME

    def __init__(self, config: EngineConfig) -> None:
        self.config = config

    def setup(self, worker) -> None:  # noqa: ANN001 - distributed.Worker
        if worker.state.nthreads > 1:
            log.warning("Dask worker %s has %d threads; dlib is run one photo per process: "
                        "start workers with --nthreads 1", worker.address, worker.state.nthreads)
        local_pool._init_worker(self.config)


def _embed_task(path: str, jitters: int | None, thumbnail_size: int | None) -> EmbedResult:
    return local_pool._embed_file(path, jitters, thumbnail_size)


def parse_target(target: str) -> tuple[str, int | None]:
    """``local:N`` -> ("local", N); anything else is a scheduler address."""
    if target.startswith("local:"):
        n = int(target.split(":", 1)[1])
        if n < 1:
            raise ValueError("local:N needs N >= 1")
        return "local", n
    return target, None


class DaskPool:
    """Face engines on Dask workers; ``map_files`` streams results in completion order."""

    def __init__(self, target: str, engine: EngineConfig, in_flight_per_thread: int = 4) -> None:
        address, local_workers = parse_target(target)
        for name in local_pool.THREAD_VARS:
            os.environ.setdefault(name, "1")  # inherited by LocalCluster's worker processes
        self.cluster = None
        if local_workers:
            self.cluster = LocalCluster(n_workers=local_workers, threads_per_worker=1, processes=True,
                                        dashboard_address=None, scheduler_port=0)
            address = self.cluster
        self.client = Client(address)
        self.client.register_plugin(EngineLoader(engine))
        self.in_flight_per_thread = max(1, in_flight_per_thread)

    @property
    def threads(self) -> int:
        return max(1, sum(self.client.nthreads().values()))

    def worker_pids(self) -> dict[str, int]:
        """Dask worker address -> process id (for tests and benchmarks)."""
        return self.client.run(os.getpid)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def __enter__(self) -> "DaskPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def map_files(self, paths: Iterable[str | Path], *, jitters: int | None = None,
                  thumbnail_size: int | None = None) -> Iterator[tuple[Path, EmbedResult]]:
        """Embed many files on the cluster, yielding (path, result) in completion order.

        At most ``in_flight_per_thread`` tasks per worker thread are submitted
        at a time, so a million photos never become a million futures.
        """
        todo = iter(paths)
        running = {}
        done = as_completed()
        limit = self.threads * self.in_flight_per_thread

        def refill() -> None:
            for path in todo:
                future = self.client.submit(_embed_task, str(path), jitters, thumbnail_size, pure=False)
                running[future.key] = Path(path)
                done.add(future)
                if len(running) >= limit:
                    break

        refill()
        for future in done:
            path = running.pop(future.key)
            result = self.result_of(future)
            future.release()
            yield path, result
            refill()

    @staticmethod
    def result_of(future) -> EmbedResult:  # noqa: ANN001 - distributed.Future
        """The task's result, with a photo that killed its workers turned into an outcome."""
        try:
            return future.result()
        except KilledWorker as exc:
            return EmbedResult(Outcome.WORKER_DIED, detail=f"killed the Dask workers that ran it ({exc.__class__.__name__})")
        except Exception as exc:
            log.error("dask job failed: %s", type(exc).__name__)
            return EmbedResult(Outcome.INTERNAL, detail=type(exc).__name__)
