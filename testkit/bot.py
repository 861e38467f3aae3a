"""The real bot against the fake Bot API: in this process (BotRunner) or as bot.py's own process."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from chatbot.app import BotRunner
from settings import Config, load_config
from worker.pool import FacePool
from testkit.fake_telegram import Call, FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:AAH-secret-test-token-abcdefghijklmno"
_POOLS: dict[tuple, FacePool] = {}


def shared_pool(config: Config) -> FacePool:
    """One warm worker pool per engine and pool setting, for every bot these tests start.

    Starting a bot is mostly starting its workers (each loads dlib's models); a test
    that is about the pool itself, or kills its workers, asks for its own.
    """
    key = (config.engine, config.pool)
    if key not in _POOLS:
        _POOLS[key] = FacePool(config.engine, config.pool)
    return _POOLS[key]


def close_shared_pools() -> None:
    while _POOLS:
        _POOLS.popitem()[1].close()


@contextlib.asynccontextmanager
async def running_bot(demo_config, webhook: bool = False, secret: str | None = None, own_pool: bool = False,
                      assets: Path | None = None, **telegram):
    """The bot (BotRunner) in this event loop against a new fake; ``own_pool``: workers of its own;
    ``assets``: a copy of the gallery there, so that its state files are its own (bots side by side)."""
    with FakeTelegram(token=TOKEN) as fake:
        tg = {"base_url": fake.base_url, "base_file_url": fake.base_file_url, "polling_timeout": 1,
              "webhook": {"port": 0, "listen": "127.0.0.1"}, **telegram}
        config = load_config(demo_config).replace(telegram=tg, pool={"workers": 2})
        if assets is not None:
            config = config.replace(paths={"assets": copy_gallery(config.paths.assets, assets)})
        forget_other_telegrams(config.paths.assets)
        if webhook:
            config = config.replace(telegram={"webhook": {"url": "http://127.0.0.1:1/placeholder"}})
        runner = BotRunner(config, TOKEN, secret, pool=None if own_pool else shared_pool(config))
        if webhook:
            # The webhook URL must point at our own server, whose port is known only once it listens.
            runner.config = config
        await runner.start()
        if webhook:
            url = f"http://127.0.0.1:{runner.http.port}{config.telegram.webhook.path}"
            await runner.app.bot.set_webhook(url, secret_token=runner.webhook_secret)  # given, or generated
        try:
            yield fake, runner
        finally:
            await runner.stop()


@contextlib.asynccontextmanager
async def restarted(runner: BotRunner, fake: FakeTelegram, secret: str | None = None):
    """The same bot started again (same config, state files and Telegram) after ``runner`` stopped;
    ``secret``: the WEBHOOK_SECRET it is given, as for the first start (None: the one it keeps)."""
    again = BotRunner(runner.config, TOKEN, secret, pool=runner.pool if not runner._own_pool else None)
    await again.start()
    if again.webhook:
        url = f"http://127.0.0.1:{again.http.port}{again.config.telegram.webhook.path}"
        await again.app.bot.set_webhook(url, secret_token=again.webhook_secret)
    try:
        yield again
    finally:
        await again.stop()


def copy_gallery(assets: Path, to: Path) -> Path:
    """The gallery and index in ``to``, without any bot's state files: for a bot beside another."""
    shutil.copytree(assets, to, ignore=shutil.ignore_patterns("telegram_*"))
    return to


def forget_other_telegrams(assets: Path) -> None:
    """Each test's fake is a new Telegram with the same bot token: the file_ids
    and update offsets an earlier fake handed out mean nothing to it."""
    for name in ("telegram_file_ids.json", "telegram_updates.json", "telegram_state.sqlite3",
                 "telegram_state.sqlite3-wal", "telegram_state.sqlite3-shm"):
        (assets / name).unlink(missing_ok=True)


async def answers(fake: FakeTelegram, count: int, chat_id=None, timeout: float = 60) -> list[Call]:
    return await fake.wait_for_sent_async(chat_id=chat_id, count=count, timeout=timeout)


def only_answer(fake: FakeTelegram, chat_id: int, message_id: int) -> Call:
    replies = fake.replies_to(chat_id, message_id)
    assert len(replies) == 1, [r.method for r in replies]
    return replies[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bot_process(demo_config: Path, fake: FakeTelegram, tmp_path: Path, *, webhook_port: int | None = None,
                env: dict[str, str] | None = None, cwd: Path = ROOT, telegram: dict | None = None,
                assets: Path | None = None, **popen) -> Callable[[], subprocess.Popen]:
    """A starter for bot.py as a real process with the demo gallery: polling the fake, or
    (``webhook_port``) serving a webhook there with the secret ``WEBHOOK_SECRET``; ``assets``:
    a copy of the gallery there, so that its state files are its own (bots side by side)."""
    raw = yaml.safe_load(demo_config.read_text())
    if assets is not None:
        raw["paths"]["assets"] = str(copy_gallery(Path(raw["paths"]["assets"]), assets))
    raw["telegram"] = {"base_url": fake.base_url, "base_file_url": fake.base_file_url, "polling_timeout": 1,
                       "webhook": {"port": 0}, **(telegram or {})}
    if webhook_port:
        raw["telegram"]["webhook"] = {"port": webhook_port, "listen": "127.0.0.1",
                                      "url": f"http://127.0.0.1:{webhook_port}/telegram"}
    assets = Path(raw["paths"]["assets"])
    forget_other_telegrams(assets)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(raw))
    full_env = {**os.environ, "BOT_TOKEN": TOKEN, "WEBHOOK_SECRET": "webhook-secret", **(env or {})}
    return lambda: subprocess.Popen([sys.executable, str(ROOT / "bot.py"), "--config", str(cfg)], cwd=cwd,
                                    env=full_env, **popen)
