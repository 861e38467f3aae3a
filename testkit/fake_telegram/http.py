"""Requests as they arrive: decoding JSON, urlencoded and multipart bodies, dispatching to the
Bot API methods, recording every call, downloads, and the faults that break the HTTP itself."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import aiohttp
from aiohttp import web

from .faults import FaultSpec
from .models import Call, StoredFile
from .protocol import ApiError, bad, decode_param


class Http:
    """The two routes: ``/bot<token>/<method>`` and ``/file/bot<token>/<path>``."""

    token: str
    API_METHODS: tuple[str, ...]
    _lock: threading.RLock
    _calls: list[Call]
    _paths: dict[str, StoredFile]

    def __init__(self) -> None:
        #: Method names are case-insensitive in the Bot API.
        self._method_names = {name.lower(): name for name in self.API_METHODS}

    def _record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)
            self._changed(updates=False)

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        """Decode query, JSON, urlencoded or multipart bodies into (params, files)."""
        raw: dict[str, Any] = dict(request.query)
        files: dict[str, bytes] = {}
        if request.method == "POST" and request.body_exists:
            ctype = request.content_type
            if ctype == "application/json":
                body = await request.json()
                if not isinstance(body, dict):
                    raise bad("request body must be a JSON object")
                raw.update(body)
            elif ctype.startswith("multipart/"):
                reader = await request.multipart()
                while (part := await reader.next()) is not None:
                    if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
                        continue
                    if part.filename is not None:
                        files[part.name] = bytes(await part.read())
                    else:
                        raw[part.name] = await part.text()
            else:
                raw.update(await request.post())
        params = {k: decode_param(k, v) if isinstance(v, str) else v for k, v in raw.items()}
        return params, files

    async def _handle_api(self, request: web.Request) -> web.Response:
        started = time.monotonic()
        name = request.match_info["method"]
        try:
            params, files = await self._read_params(request)
        except (ApiError, ValueError) as exc:
            error = exc if isinstance(exc, ApiError) else bad(str(exc))
            self._record(Call(name, {}, {}, started, error.status, description=error.description))
            return web.json_response(error.body(), status=error.status)
        if request.match_info["token"] != self.token:
            error = ApiError(401, "Unauthorized")
        elif (method := self._method_names.get(name.lower())) is None:
            error = ApiError(404, "Not Found")
        else:
            error = None
        if error is not None:
            self._record(Call(name, params, files, started, error.status, description=error.description))
            return web.json_response(error.body(), status=error.status)

        fault = self._take_fault(Call(method, params, files, started, 0))
        if fault is not None:
            answer = await self._fault_answer(request, fault, method, params, files, started)
            if answer is not None:  # (a Response is falsy: it is also an empty mapping)
                return answer

        status, result, description = 200, None, None
        try:
            result = await getattr(self, "_" + method)(params, files)
            body = {"ok": True, "result": result}
            if method == "setWebhook":
                body["description"] = "Webhook was set" if params.get("url") else "Webhook was deleted"
            elif method == "deleteWebhook":
                body["description"] = "Webhook was deleted"
        except ApiError as exc:
            status, description, body = exc.status, exc.description, exc.body()
        except asyncio.CancelledError:
            self._record(Call(method, params, files, started, 499, description="cancelled"))
            raise
        self._record(Call(method, params, files, started, status, result, description))
        return web.json_response(body, status=status)

    async def _fault_answer(self, request: web.Request, fault: FaultSpec, method: str, params: dict[str, Any],
                            files: dict[str, bytes], started: float) -> web.Response | None:
        """Stall, drop the connection or answer an error; None: handle the request after all."""
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.reset:
            return self._reset(request, Call(method, params, files, started, 0, description="reset"))
        if fault.status is not None:
            body = fault.body()
            self._record(Call(method, params, files, started, fault.status, description=body["description"]))
            return web.json_response(body, status=fault.status)
        return None

    async def _handle_download(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        path = request.match_info["path"]
        with self._lock:
            stored = self._paths.get(path) if request.match_info["token"] == self.token else None
        params = {"file_path": path, "file_id": stored.file_id if stored else None}
        fault = self._take_fault(Call("file", params, {}, started, 0))
        if fault is not None:
            answer = await self._fault_answer(request, fault, "file", params, {}, started)
            if answer is not None:
                return answer
        if stored is None:
            self._record(Call("file", params, {}, started, 404))
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        if fault is not None and fault.truncate is not None:
            return await self._truncated(request, stored.data, fault, Call("file", params, {}, started, 206,
                                                                            description="truncated"))
        self._record(Call("file", params, {}, started, 200))
        return web.Response(body=stored.data, content_type="application/octet-stream")

    def _reset(self, request: web.Request, call: Call) -> web.Response:
        """Drop the connection with no answer at all, as a failing proxy does."""
        self._record(call)
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)  # never reaches the client: the socket is gone

    async def _truncated(self, request: web.Request, data: bytes, fault: FaultSpec, call: Call) -> web.StreamResponse:
        """Send the first ``fault.truncate`` bytes, then break the connection (or end early)."""
        cut = data[: fault.truncate]
        announced = len(cut) if fault.short else len(data)
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream",
                                               "Content-Length": str(announced)})
        await response.prepare(request)
        await response.write(cut)
        self._record(call)
        if fault.short:
            await response.write_eof()
        elif request.transport is not None:
            request.transport.abort()
        return response
