"""Shared fixtures: real photos, real models, a demo gallery built by the real scripts."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import pytest_asyncio
import yaml
from PIL import Image

from collect.agent import CONTACT_ENV
from gallery.demo import build_demo_photos, test_images as fetch_test_images
from settings import DEFAULT_CONFIG, Config, load_config
from testkit.fake_wikimedia import FakePerson, FakeWikimedia
from testkit.images import jpeg

ROOT = Path(__file__).resolve().parent.parent


def write_config(path: Path, **overrides: dict) -> Path:
    """A copy of config.yaml with some sections changed; paths may be absolute."""
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text())
    for section, values in overrides.items():
        raw.setdefault(section, {}).update({k: str(v) if isinstance(v, Path) else v for k, v in values.items()})
    path.write_text(yaml.safe_dump(raw))
    return path


def run_script(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run one of the entry points as a user would, from the repository root."""
    return subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="session", autouse=True)
def _close_shared_pools():
    """The bots of a session share warm workers (testkit.bot.shared_pool); they go at its end."""
    yield
    from testkit.bot import close_shared_pools
    close_shared_pools()


@pytest.fixture(scope="session")
def images() -> Path:
    return fetch_test_images()


@pytest.fixture(scope="session")
def photo(images: Path):
    def read(name: str) -> bytes:
        return (images / name).read_bytes()
    return read


@pytest.fixture(scope="session")
def config() -> Config:
    return load_config()


@pytest.fixture(scope="session")
def engine(config: Config):
    from worker.engine import FaceEngine
    return FaceEngine(config.engine)


@pytest.fixture(scope="session")
def dlib_engine(config: Config):
    """The reference backend: dlib's own ResNet (``engine.descriptor: dlib``)."""
    from worker.engine import FaceEngine
    return FaceEngine(config.replace(engine={"descriptor": "dlib"}).engine)


@pytest.fixture(scope="session")
def demo_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A config whose assets/ holds the demo gallery, built by the real scripts."""
    root = tmp_path_factory.mktemp("demo")
    photos = build_demo_photos(root / "photos")
    cfg = write_config(root / "config.yaml", paths={"photos": photos, "assets": root / "assets"},
                       pool={"workers": 2})
    for script in ("build_embeddings.py", "build_index.py"):
        done = run_script(script, "--config", cfg)
        assert done.returncode == 0, done.stderr
    return cfg


def photo_folder(out: Path, images: Path, count: int) -> list[Path]:
    """``count`` distinct real photos (resized copies of the test faces) in two person folders,
    plus a photo without a face and a broken file: every outcome the build meets."""
    sources = ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"]
    paths = []
    for i in range(count):
        name = sources[i % len(sources)]
        folder = out / ("Joe Biden" if name.startswith("biden") else "Barack Obama")
        folder.mkdir(parents=True, exist_ok=True)
        im = Image.open(images / name)
        width = 320 + 8 * i  # small and all different: fast to embed, distinct content hashes
        path = folder / f"{i:03d}-{name}"
        path.write_bytes(jpeg(im.resize((width, round(im.height * width / im.width)))))
        paths.append(path)
    (out / "Nobody").mkdir(exist_ok=True)
    (out / "Nobody" / "wall.jpg").write_bytes(jpeg(Image.new("RGB", (400, 300), "beige")))
    (out / "Nobody" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return paths + [out / "Nobody" / "wall.jpg", out / "Nobody" / "broken.jpg"]


@pytest_asyncio.fixture
async def wikimedia(monkeypatch: pytest.MonkeyPatch):
    """Factory: start a fake Wikimedia serving the given people; all are closed at the end.

    An operator's own LOOKALIKE_CONTACT would override the tests' contact: it is unset here."""
    monkeypatch.delenv(CONTACT_ENV, raising=False)
    started: list[FakeWikimedia] = []

    async def start(people: list[FakePerson]) -> FakeWikimedia:
        fake = FakeWikimedia(people)
        await fake.start()
        started.append(fake)
        return fake

    yield start
    for fake in started:
        await fake.close()
