"""Every setting, with its type, its default and what it means: the one place they are written.

Each section of config.yaml is a frozen dataclass; the string under a field is its meaning,
read by ``settings.reference`` into docs/configuration.md. config.yaml sets only what an
operator usually changes; any other field here can be set there by its name all the same.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

DESCRIPTOR_BACKENDS = ("dlib", "onnx")  # the reference first


@dataclass(frozen=True)
class Paths:
    """Where the gallery is read from and written to. Relative paths are taken from the folder of
    the config file."""

    photos: Path = Path("photos")
    """Input of build_embeddings.py and output of scrape_photos.py: ``photos/<Person Name>/*.jpg``."""
    assets: Path = Path("assets")
    """The gallery, thumbnails, index, metadata and the bot's state files."""


@dataclass(frozen=True)
class EngineConfig:
    """The face pipeline on a user's photo (worker/; docs/engine.md)."""

    detect_size: int = 640
    """Pass 1: HOG on a copy whose longer side is at most this many px (the second pass finds what
    it misses; 640 instead of 800 saves 35% of HOG: BENCHMARKS.md, section 1)."""
    second_pass: bool = True
    """A finer pass for faces too small for pass 1's copy (group photos); false: the old rule, one 2x
    upsample of that copy only when it showed no face at all."""
    small_face_px: int = 40
    """The second pass looks for faces down to this width (original px), at most 2x upsampled."""
    second_pass_max_pixels: int = 12_000_000
    """The second pass's budget: pixels HOG scans at the finer scale, upsample included (about 45 ms
    a Mpx)."""
    second_pass_skip_share: float = 0.04
    """No second pass when a face found by pass 1 covers this share of the photo (selfies)."""
    max_pixels: int = 40_000_000
    """Images above this many pixels are refused, checked on the header (also the bomb guard)."""
    max_bytes: int = 20 * 1024 * 1024
    """Larger files are refused: 20 MB, Telegram's download limit for bots."""
    max_faces: int = 10
    """Faces embedded per photo (largest first), boxed and listed in a reply."""
    min_face_px: int = 20
    """Boxes narrower than this (original px) are ignored."""
    jitters: int = 0
    """Extra jittered descriptor passes at query time (slow, tiny gain); above 1 they run on dlib."""
    descriptor: str = "onnx"
    """``onnx``: dlib's ResNet weights on ONNX Runtime (3-8 ms a face); ``dlib``: dlib's own, the
    reference (60-130 ms), same vectors. Jitters above 1 (here or gallery.jitters) always run on
    dlib: docs/engine.md."""

    def __post_init__(self) -> None:
        if self.descriptor not in DESCRIPTOR_BACKENDS:
            raise ValueError(f"engine.descriptor: expected one of {DESCRIPTOR_BACKENDS}, got {self.descriptor!r}")
        if self.small_face_px <= 0 or self.second_pass_max_pixels <= 0 or self.second_pass_skip_share < 0:
            raise ValueError("engine: small_face_px and second_pass_max_pixels must be positive, "
                             "second_pass_skip_share at least 0")


@dataclass(frozen=True)
class PoolConfig:
    """The face worker processes (worker/pool.py)."""

    workers: int = 0
    """Worker processes; 0: one per CPU core."""
    max_pending: int = 64
    """Jobs queued or running in the pool before embed() waits."""
    job_timeout_s: float = 30.0
    """A job running longer is killed and reported as a timeout."""

    @property
    def worker_count(self) -> int:
        return self.workers if self.workers > 0 else (os.cpu_count() or 1)


@dataclass(frozen=True)
class GalleryConfig:
    """Which celebrity photos build_embeddings.py keeps (rebuild/select.py, rebuild/clean.py;
    thresholds measured on ../shared/faces with bench/quality.py)."""

    jitters: int = 1
    """1: one plain descriptor pass; N > 1 averages N jittered copies (N times slower, on dlib)."""
    min_eye_distance: float = 10.0
    """Px between eye centres; smaller faces are too blurry to trust (20 lost 2% of
    ../shared/faces photos and rank-1 with them)."""
    max_roll: float = 25.0
    """Degrees of head tilt allowed in a gallery photo."""
    near_duplicate: float = 0.12
    """Same-person faces closer than this L2 distance are dropped as duplicates."""
    thumbnail_size: int = 512
    """Longer side (px) of the stored celebrity thumbnail (JPEG)."""
    clean: bool = True
    """Cleaning after selection (docs/collecting.md): drops likely mislabelled photos and copies of
    one photo under several people, and lists them and people split into two groups in
    assets/gallery_review.csv; false: keep every selected photo (no review list)."""
    clean_min_photos: int = 3
    """People with fewer photos are not judged (no majority says which one is odd)."""
    same_person: float = 0.6
    """dlib's same-person distance: a photo whose median distance to its own person's other photos
    is above this is dropped as mislabelled..."""
    mislabel_margin: float = 0.10
    """...if that median is also this much above its median to the nearest other person."""
    stranger_distance: float = 0.65
    """A photo is dropped when no other photo of its person is this close (the true person is not in
    the gallery)."""
    split_distance: float = 0.6
    """A person whose photos form groups this far apart is flagged for review (not dropped)."""
    split_min_group: int = 2
    """Photos a group needs to count as one (a single odd photo is not a split)."""


@dataclass(frozen=True)
class BuildConfig:
    """The offline build scripts, build_embeddings.py and build_index.py: how much work a kill may
    lose, how much memory maths may take."""

    batch_size: int = 256
    """Photos per commit of the embedding cache: a kill -9 loses at most one batch."""
    memory_mb: int = 256
    """Budget of one exact-search / calibration tile (never queries x gallery)."""
    dask_in_flight: int = 4
    """``--dask``: tasks queued per Dask worker thread before more are submitted."""


@dataclass(frozen=True)
class IndexConfig:
    """The HNSW index build_index.py writes (nmslib; parameters chosen in BENCHMARKS.md)."""

    M: int = 16
    """HNSW links per node: more gives better recall, a bigger index and a slower build."""
    efConstruction: int = 200
    """HNSW candidate list while building: more gives a better graph and a slower build."""
    efSearch: int = 80
    """HNSW candidate list per query (nmslib searches with max(efSearch, k)): 80 reaches recall@1
    0.99 at 1M faces."""
    post: int = 0
    """nmslib's post-processing of the graph after the build (0: none; 1, 2: more)."""
    person_pull: float = 0.7
    """Each gallery face is indexed this share of the way to its person's mean face (search/pull.py):
    damps one photo's light and expression; 0: the photos as they are (bench/quality.py)."""


@dataclass(frozen=True)
class SearchConfig:
    """A query against the index."""

    top_k: int = 3
    """Distinct people returned per face."""
    fold_factor: int = 8
    """Neighbours fetched per wanted person (top_k x fold_factor), then folded by person."""


@dataclass(frozen=True)
class SimilarityConfig:
    """How a distance becomes the similarity shown to the user (search/similarity.py,
    docs/engine.md)."""

    min_similarity: float = 0.01
    """Floor of the reported similarity (as a fraction)."""
    strong_match: float = 0.10
    """A best match below this says "no strong lookalike" first (then shows it anyway): 10% is
    weaker than the best match of 90% of the people who try."""
    calibration: str = "boxcox"
    """What the normal is fitted to: ``boxcox``, boxcox(distance) (nearest-stranger minima are
    skewed); ``normal``, the plain distance."""
    min_people: int = 10
    """A gallery with fewer people is not calibrated on its own distances but uses the prior below
    (the demo)."""
    prior_mean: float = 0.70
    """The prior's mean nearest-stranger distance, for galleries under min_people."""
    prior_std: float = 0.07
    """The prior's standard deviation, for galleries under min_people."""


@dataclass(frozen=True)
class ScrapeConfig:
    """scrape_photos.py: where and how politely celebrity photos are collected from Wikidata and
    Wikimedia Commons (docs/collecting.md)."""

    sparql_endpoint: str = "https://query.wikidata.org/sparql"
    """The Wikidata Query Service (the tests point it at a local fake)."""
    commons_api: str = "https://commons.wikimedia.org/w/api.php"
    """The Commons Action API (the tests point it at a local fake)."""
    contact: str = ""
    """YOUR e-mail or URL, sent in the User-Agent as Wikimedia's policy requires; the environment
    variable LOOKALIKE_CONTACT wins; nothing is sent without one (collect/agent.py)."""
    thumb_width: int = 960
    """Px width of the thumbnails, snapped up to a Wikimedia standard step (960, 1280...)."""
    concurrency: int = 2
    """Requests at once (robot policy: at most 2 to upload.wikimedia.org)."""
    download_mbps: float = 25.0
    """Photo download cap (robot policy: 25 Mbps for upload.wikimedia.org)."""
    retries: int = 5
    """Retries per request, with backoff, honouring Retry-After."""
    timeout_s: float = 30.0
    """Per API request or download."""
    sparql_timeout_s: float = 75.0
    """The Wikidata query: WDQS may think for its full 60 s before the first byte; never retried."""
    backoff_s: float = 1.0
    """First retry delay when no Retry-After is given, doubled each time, with jitter (x0.5-1.5)."""
    max_wait_s: float = 300.0
    """A Retry-After above this stops asking that host: run again later."""
    maxlag: int = 5
    """Action API maxlag: wait while Commons' databases lag (Manual:Maxlag parameter)."""
    language: str = "en"
    """Language of the labels and descriptions, and which Wikipedia is linked."""
    min_sitelinks: int = 20
    """Fame floor: keeps the top-N Wikidata query under WDQS's 60 s limit."""


@dataclass(frozen=True)
class WebhookConfig:
    """The bot's HTTP server: the webhook, /healthz and /metrics (chatbot/delivery/http.py)."""

    url: str = ""
    """Public HTTPS URL Telegram posts updates to (ports 443, 80, 88, 8443); empty: long polling."""
    listen: str = "127.0.0.1"
    """Address the HTTP server binds to."""
    port: int = 8080
    """Port of the HTTP server; 0: no HTTP server in polling mode."""
    path: str = "/telegram"
    """URL path the webhook updates are posted to."""
    max_body: int = 1_048_576
    """Bytes; larger webhook bodies get 413 (an update is a few KB)."""
    max_connections: int = 40
    """Connections at once Telegram may open to the webhook (setWebhook's max_connections)."""


@dataclass(frozen=True)
class LimitsConfig:
    """What the bot sends (chatbot/delivery/ratelimit.py) and how much it takes in at once."""

    global_per_second: int = 30
    """Never more sends than this in any 1-second window (Telegram's limit)."""
    private_per_second: int = 1
    """Sends per second to one private chat, after its burst."""
    private_burst: int = 3
    """A private chat may get this many messages at once, then 1/s."""
    group_per_minute: int = 20
    """Sends per minute to one group (Telegram's limit)."""
    max_retries: int = 3
    """After a 429, wait retry_after and retry that request only, this many times."""
    per_user_pending: int = 10
    """Photos one user may have in progress; more get "busy"."""
    max_in_flight: int = 500
    """Photos in progress over all users; more get "busy"."""


@dataclass(frozen=True)
class FetchConfig:
    """Downloading a user's photo (getFile + the file download): both are safe to retry, within a
    budget (chatbot/flow/fetch.py)."""

    budget_s: float = 60.0
    """Per photo; then one friendly "please send it again" (never silence). At least two attempts
    always fit."""
    read_timeout_s: float = 5.0
    """No byte for this long counts as a stall."""
    min_rate: int = 262_144
    """Bytes/s a download may slow down to: its time limit is read_timeout_s + size / min_rate."""
    backoff_s: float = 0.5
    """First pause between attempts, doubled up to max_backoff_s; a 429 waits retry_after."""
    max_backoff_s: float = 8.0
    """Longest pause between attempts."""


@dataclass(frozen=True)
class TelegramConfig:
    """The bot (bot.py, chatbot/). The token comes from the environment variable BOT_TOKEN and the
    webhook secret from WEBHOOK_SECRET, never from a config file."""

    base_url: str = "https://api.telegram.org/bot"
    """Bot API endpoint, the token appended (a local Bot API server; the tests' fake)."""
    base_file_url: str = "https://api.telegram.org/file/bot"
    """Bot API file download endpoint, the token appended."""
    webhook: WebhookConfig = field(default_factory=WebhookConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    fetch: FetchConfig = field(default_factory=FetchConfig)
    result_card: bool = True
    """One face: a "you and them" card (your face beside theirs); false: the celebrity's photo only."""
    results_ttl_s: float = 3600.0
    """Buttons under a result ("More lookalikes", "Face 2") work this long."""
    max_results: int = 20_000
    """Results kept for those buttons at most (face vectors and matches, never photos); the oldest
    go first."""
    media_chat_id: int = 0
    """A private channel (the bot an admin) where it uploads celebrity photos for inline sharing;
    0: share the cached photo if one is known, else a text invitation (docs/deploy.md)."""
    state_db: str = "telegram_state.sqlite3"
    """In paths.assets: the journal of webhook updates until answered (chatbot/delivery/journal.py)."""
    journal_keep_s: float = 172_800.0
    """Answered update ids are remembered this long (2 days) to ignore Telegram's re-deliveries."""
    polling_timeout: int = 30
    """Long-polling getUpdates timeout (s)."""
    reload_check_s: float = 10.0
    """How often index.json is checked for a rebuilt gallery (also on SIGHUP)."""
    shutdown_grace_s: float = 30.0
    """On SIGTERM: time allowed to finish the photos in progress."""


@dataclass(frozen=True)
class Config:
    """The whole configuration: one section per top-level key of config.yaml."""

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
    source: Path | None = field(default=None, metadata={"setting": False})
    """The file this configuration was read from: set by load_config, not a setting."""

    def replace(self, **sections: Any) -> "Config":
        """Copy with some fields of some sections changed: replace(pool={"workers": 2})."""
        return _replace(self, sections)


T = TypeVar("T")


def setting_fields(cls: type) -> list[dataclasses.Field]:
    """The fields of a section that a config file may set (Config.source is not one)."""
    return [f for f in dataclasses.fields(cls) if f.metadata.get("setting", True)]


def _replace(obj: T, changes: dict) -> T:
    values = {}
    for name, value in changes.items():
        current = getattr(obj, name)
        values[name] = _replace(current, value) if isinstance(value, dict) and dataclasses.is_dataclass(current) else value
    return dataclasses.replace(obj, **values)
