"""The fake's own event loop: a background thread serving aiohttp, and change notification.

The bot under test may run in the test's event loop or in a subprocess alike.  All public
methods of the fake are thread-safe; the simulators (``send_photo`` ...) only queue work and
never block.  Nothing is written to disk.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Self

import aiohttp
from aiohttp import web

from .protocol import MB, UPLOAD_LIMIT


class Server:
    """Start/stop, the URLs to point PTB at, and waking whoever waits for a change."""

    host: str
    _lock: threading.RLock
    _cond: threading.Condition
    _async_waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]
    _closing: bool

    def __init__(self) -> None:
        # Owned by the server thread.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._port: int | None = None
        self._poll_waiters: list[asyncio.Future[None]] = []
        self._pump_event: asyncio.Event | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self._delivery_tasks: set[asyncio.Task[None]] = set()

    def start(self) -> Self:
        """Start serving; returns once the port is bound."""
        if self._thread is not None:
            raise RuntimeError("FakeTelegram already started")
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._astart())
            except BaseException as exc:  # noqa: BLE001 - reported to start()'s caller
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="FakeTelegram", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop serving; long polls in progress return empty and webhook deliveries stop."""
        if self._thread is None or self._loop is None:
            return
        loop = self._loop
        with self._lock:
            self._closing = True
        future = asyncio.run_coroutine_threadsafe(self._astop(), loop)
        try:
            future.result(timeout=15)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(timeout=15)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return self.start()

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeTelegram is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """PTB's ``base_url``: it requests ``{base_url}{token}/{method}``."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """PTB's ``base_file_url``: it downloads ``{base_file_url}{token}/{file_path}``."""
        return f"http://{self.host}:{self.port}/file/bot"

    async def _astart(self) -> None:
        app = web.Application(client_max_size=UPLOAD_LIMIT + 10 * MB)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_download)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self._session = aiohttp.ClientSession()
        self._pump_event = asyncio.Event()
        self._pump_task = asyncio.create_task(self._webhook_pump())

    async def _astop(self) -> None:
        self._wake_loop()
        tasks = [t for t in (self._pump_task, *self._delivery_tasks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def _changed(self, *, updates: bool = True) -> None:
        """Wake wait_for/wait_for_async; with ``updates`` also long polls and the webhook pump.

        Bookkeeping (recorded calls, the poll counter) passes ``updates=False``: waking a long
        poll for it would make the poll wake itself forever.
        """
        with self._cond:
            self._cond.notify_all()
            waiters = list(self._async_waiters)
        for loop, event in waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # that loop is closed; its waiter is gone
                pass
        loop = self._loop
        if updates and loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._wake_loop)
            except RuntimeError:
                pass

    def _wake_loop(self) -> None:
        for fut in self._poll_waiters:
            if not fut.done():
                fut.set_result(None)
        self._poll_waiters.clear()
        if self._pump_event is not None:
            self._pump_event.set()
