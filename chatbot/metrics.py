"""Prometheus metrics for /metrics, in a registry of their own (no global state)."""
from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20, 30, 60)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.updates = Counter("lookalike_updates", "Updates received, by kind", ["kind"], registry=r)
        self.photos = Counter("lookalike_photos", "Photos answered, by outcome", ["outcome"], registry=r)
        self.faces = Counter("lookalike_faces", "Faces found in answered photos", registry=r)
        self.errors = Counter("lookalike_errors", "Errors, by kind", ["kind"], registry=r)
        self.retries = Counter("lookalike_telegram_retries", "Requests retried after a 429", ["method"], registry=r)
        self.latency = Histogram("lookalike_photo_latency_seconds", "From receiving a photo to its answer",
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.queue_depth = Gauge("lookalike_queue_depth", "Photos admitted and not yet answered", registry=r)
        self.pool_pending = Gauge("lookalike_pool_pending", "Jobs in the worker pool", registry=r)
        self.gallery_faces = Gauge("lookalike_gallery_faces", "Faces in the loaded gallery", registry=r)

    def watch(self, queue_depth: Callable[[], float], pool_pending: Callable[[], float]) -> None:
        self.queue_depth.set_function(queue_depth)
        self.pool_pending.set_function(pool_pending)

    def render(self) -> bytes:
        return generate_latest(self.registry)
