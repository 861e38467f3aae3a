"""Typed view of config.yaml.

One loader for every entry point, so a key is spelled once and a typo in the
YAML fails at start-up instead of at the first photo.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config.yaml"
DESCRIPTOR_BACKENDS = ("dlib", "onnx")  # the reference first


@dataclass(frozen=True)
class Paths:
    photos: Path = Path("photos")
    assets: Path = Path("assets")


@dataclass(frozen=True)
class EngineConfig:
    detect_size: int = 640
    second_pass: bool = True      # False: the old rule, one upsample only when pass 1 found nothing
    small_face_px: int = 40       # the second pass looks for faces down to this width (original px)
    second_pass_max_pixels: int = 12_000_000  # pixels HOG scans in the second pass (upsample included)
    second_pass_skip_share: float = 0.04  # no second pass when a pass-1 face covers this share of the photo
    max_pixels: int = 40_000_000
    max_bytes: int = 20 * 1024 * 1024
    max_faces: int = 10
    min_face_px: int = 20
    jitters: int = 0
    descriptor: str = "onnx"  # "onnx": dlib's ResNet on ONNX Runtime; "dlib": dlib's own (reference)

    def __post_init__(self) -> None:
        if self.descriptor not in DESCRIPTOR_BACKENDS:
            raise ValueError(f"engine.descriptor: expected one of {DESCRIPTOR_BACKENDS}, got {self.descriptor!r}")
        if self.small_face_px <= 0 or self.second_pass_max_pixels <= 0 or self.second_pass_skip_share < 0:
            raise ValueError("engine: small_face_px and second_pass_max_pixels must be positive, "
                             "second_pass_skip_share at least 0")


@dataclass(frozen=True)
class PoolConfig:
    workers: int = 0
    max_pending: int = 64
    job_timeout_s: float = 30.0

    @property
    def worker_count(self) -> int:
        return self.workers if self.workers > 0 else (os.cpu_count() or 1)


@dataclass(frozen=True)
class GalleryConfig:
    jitters: int = 1
    min_eye_distance: float = 10.0
    max_roll: float = 25.0
    near_duplicate: float = 0.12
    thumbnail_size: int = 512
    # Cleaning after selection (rebuild/clean.py); thresholds measured on ../shared/faces.
    clean: bool = True
    clean_min_photos: int = 3        # people with fewer photos are not judged: no majority to compare with
    same_person: float = 0.6         # dlib's same-person distance: a photo further from its own (median) may go
    mislabel_margin: float = 0.10    # ... if also this much further than from the nearest other person (median)
    stranger_distance: float = 0.65  # no own photo this close: the true person is not in the gallery
    split_distance: float = 0.6      # groups of a person's photos further apart than this are flagged
    split_min_group: int = 2


@dataclass(frozen=True)
class BuildConfig:
    """The offline build scripts: how much work a kill may lose, how much memory maths may take."""
    batch_size: int = 256         # photos per commit of the embedding cache (a kill -9 loses at most one batch)
    memory_mb: int = 256          # exact search and calibration tiles (never queries x gallery)
    dask_in_flight: int = 4       # --dask: tasks queued per Dask worker thread before more are sent


@dataclass(frozen=True)
class IndexConfig:
    M: int = 16
    efConstruction: int = 200
    efSearch: int = 80
    post: int = 0
    person_pull: float = 0.7      # each face moves this share of the way to its person's mean face (search/pull.py)


@dataclass(frozen=True)
class SearchConfig:
    top_k: int = 3
    fold_factor: int = 8


@dataclass(frozen=True)
class SimilarityConfig:
    min_similarity: float = 0.01
    strong_match: float = 0.10   # below: "no strong lookalike", then the nearest one anyway
    calibration: str = "boxcox"   # what the normal is fitted to: "boxcox" (the distance transformed) or "normal"
    min_people: int = 10
    prior_mean: float = 0.70
    prior_std: float = 0.07


@dataclass(frozen=True)
class ScrapeConfig:
    """Where scrape_photos.py collects celebrity photos (overridable for local tests)."""
    sparql_endpoint: str = "https://query.wikidata.org/sparql"
    commons_api: str = "https://commons.wikimedia.org/w/api.php"
    contact: str = ""             # e-mail or URL for the User-Agent; no default: see collect/agent.py
    thumb_width: int = 960        # snapped up to a Wikimedia standard thumbnail step
    concurrency: int = 2          # upload.wikimedia.org robot policy: at most 2 at once
    download_mbps: float = 25.0   # upload.wikimedia.org robot policy: at most 25 Mbps
    retries: int = 5
    timeout_s: float = 30.0       # API calls and downloads
    sparql_timeout_s: float = 75.0  # WDQS runs a query up to 60 s before it answers
    backoff_s: float = 1.0        # first retry delay without Retry-After, doubled each time
    max_wait_s: float = 300.0     # a longer Retry-After stops the run for that host
    maxlag: int = 5               # Action API maxlag (Manual:Maxlag parameter)
    language: str = "en"          # labels, descriptions and the Wikipedia link
    min_sitelinks: int = 20       # fame floor that keeps the top-N SPARQL query fast


@dataclass(frozen=True)
class WebhookConfig:
    url: str = ""                 # public HTTPS URL Telegram posts to; empty: long polling
    listen: str = "127.0.0.1"     # the HTTP server (webhook, /healthz, /metrics) binds here
    port: int = 8080              # 0: no HTTP server in polling mode
    path: str = "/telegram"
    max_body: int = 1_048_576     # bytes; an update is a few KB
    max_connections: int = 40


@dataclass(frozen=True)
class LimitsConfig:
    global_per_second: int = 30
    private_per_second: int = 1
    private_burst: int = 3        # a private chat may get this many messages at once, then 1/s
    group_per_minute: int = 20
    max_retries: int = 3          # per request, after a 429 (waiting retry_after)
    per_user_pending: int = 10    # photos one user may have in progress
    max_in_flight: int = 500      # photos in progress over all users


@dataclass(frozen=True)
class FetchConfig:
    """getFile + download of a user's photo: both are safe to retry, within a budget."""
    budget_s: float = 60.0        # per photo; at least two attempts always fit (see chatbot/fetch.py)
    read_timeout_s: float = 5.0   # no byte for this long is a stall
    min_rate: int = 262_144       # bytes/s a download may slow down to before it counts as stalled
    backoff_s: float = 0.5        # first pause between attempts, doubled each time
    max_backoff_s: float = 8.0


@dataclass(frozen=True)
class TelegramConfig:
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    webhook: WebhookConfig = field(default_factory=WebhookConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    fetch: FetchConfig = field(default_factory=FetchConfig)
    result_card: bool = True      # one face: the "you and them" card; False: the celebrity's photo only
    results_ttl_s: float = 3600.0  # buttons under a result work this long (vectors and matches in memory)
    max_results: int = 20_000      # results kept for buttons at most; the oldest go first
    media_chat_id: int = 0         # a private channel where the bot uploads celebrity photos for inline sharing
    state_db: str = "telegram_state.sqlite3"  # in paths.assets: the webhook journal (chatbot/journal.py)
    journal_keep_s: float = 172_800.0  # answered update ids kept this long to spot Telegram's re-deliveries
    polling_timeout: int = 30
    reload_check_s: float = 10.0  # how often index.json is checked for a rebuilt gallery
    shutdown_grace_s: float = 30.0


@dataclass(frozen=True)
class Config:
    paths: Paths = field(default_factory=Paths)
    engine: EngineConfig = field(default_factory=EngineConfig)
    pool: PoolConfig = field(default_factory=PoolConfig)
    gallery: GalleryConfig = field(default_factory=GalleryConfig)
    build: BuildConfig = field(default_factory=BuildConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    similarity: SimilarityConfig = field(default_factory=SimilarityConfig)
    scrape: ScrapeConfig = field(default_factory=ScrapeConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    source: Path | None = None

    def replace(self, **sections: Any) -> "Config":
        """Copy with some fields of some sections changed: replace(pool={"workers": 2})."""
        return _replace(self, sections)


T = TypeVar("T")


def _replace(obj: T, changes: dict) -> T:
    values = {}
    for name, value in changes.items():
        current = getattr(obj, name)
        values[name] = _replace(current, value) if isinstance(value, dict) and dataclasses.is_dataclass(current) else value
    return dataclasses.replace(obj, **values)


def _build(cls: type[T], data: Any, where: str) -> T:
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping, got {type(data).__name__}")
    known = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - set(known)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}")
    values = {}
    for name, value in data.items():
        default = getattr(cls(), name)
        if dataclasses.is_dataclass(default):
            values[name] = _build(type(default), value, f"{where}.{name}")
        elif isinstance(default, Path):
            values[name] = Path(value)
        elif isinstance(default, bool):
            values[name] = bool(value)
        elif isinstance(default, (int, float)) and not isinstance(value, (int, float)):
            raise ValueError(f"{where}.{name}: expected a number, got {value!r}")
        else:
            values[name] = type(default)(value) if isinstance(default, float) else value
    return cls(**values)


def load_config(path: str | Path | None = None) -> Config:
    """Read a YAML config; relative paths in it are taken from the file's folder."""
    path = Path(path) if path else DEFAULT_CONFIG
    with open(path, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh) or {}
    config = _build(Config, raw, path.name)
    base = path.resolve().parent
    paths = Paths(**{f.name: base / getattr(config.paths, f.name) for f in dataclasses.fields(Paths)})
    return dataclasses.replace(config, paths=paths, source=path.resolve())
