"""Shared fixtures: real photos, real models, a demo gallery built by the real scripts."""
from __future__ import annotations

from pathlib import Path

import pytest
import pytest_asyncio

from collect.agent import CONTACT_ENV
from gallery.demo import build_demo_photos, test_images as fetch_test_images
from settings import Config, load_config
from testkit.fake_wikimedia import FakePerson, FakeWikimedia
from testkit.scripts import run_script, write_config


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
