"""A small client for Janus's HTTP API (sessions, handles, plugin messages, long-poll events).

Call sequence checked against Debian's Janus 1.1.2 (notes in docs/webrtc.md): ``create`` ->
session, ``attach`` -> handle, plugin requests as ``message``; asynchronous answers arrive on the
session's long-poll (``GET /janus/<sid>?maxev=1``), sometimes *before* the POST that caused them
returns, so a transaction is registered before it is sent. Keepalives every 25 s (Janus drops
idle sessions after 60 s). When the long-poll or a keepalive fails, :attr:`JanusSession.lost`
is set with the reason: the caller (the publisher) reconnects.
"""
from __future__ import annotations

import asyncio
import secrets
from typing import Any

import aiohttp

KEEPALIVE_S = 25.0


class JanusError(Exception):
    """Janus answered with an error (``code`` is Janus's or the plugin's error code)."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message if code is None else f"{message} (code {code})")
        self.code = code


class JanusSession:
    def __init__(self, url: str, http: aiohttp.ClientSession, *, timeout: float = 10.0) -> None:
        self.url, self.http, self.timeout = url.rstrip("/"), http, timeout
        self.id: int | None = None
        self.lost = asyncio.Event()
        self.lost_reason = ""
        self.events: asyncio.Queue[dict] = asyncio.Queue(maxsize=256)  # events no transaction waits for
        self._pending: dict[str, asyncio.Future] = {}
        self._tasks: list[asyncio.Task] = []

    async def _post(self, path: str, body: dict) -> dict:
        try:
            async with self.http.post(f"{self.url}{path}", json=body,
                                      timeout=aiohttp.ClientTimeout(total=self.timeout)) as resp:
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise ConnectionError(f"Janus at {self.url} unreachable: {type(exc).__name__}: {exc}") from None
        if not isinstance(data, dict):
            raise ConnectionError(f"Janus at {self.url}: expected a JSON object, got {data!r:.80}")
        return data

    async def create(self) -> int:
        data = await self._post("", {"janus": "create", "transaction": secrets.token_hex(6)})
        _raise_for(data)
        self.id = int(data["data"]["id"])
        self._tasks = [asyncio.ensure_future(self._poll()), asyncio.ensure_future(self._keepalive())]
        return self.id

    async def attach(self, plugin: str) -> int:
        data = await self.request({"janus": "attach", "plugin": plugin})
        return int(data["data"]["id"])

    async def message(self, handle: int, body: dict, jsep: dict | None = None) -> dict:
        """A plugin request; returns Janus's final answer (synchronous ``success`` or the event)."""
        msg: dict[str, Any] = {"janus": "message", "body": body}
        if jsep is not None:
            msg["jsep"] = jsep
        data = await self.request(msg, handle=handle)
        plugin = data.get("plugindata", {}).get("data", {})
        if "error" in plugin:
            raise JanusError(f"Janus {body.get('request')}: {plugin['error']}", plugin.get("error_code"))
        return data

    async def request(self, body: dict, *, handle: int | None = None) -> dict:
        if self.lost.is_set():
            raise ConnectionError(f"Janus session lost: {self.lost_reason}")
        tx = secrets.token_hex(6)
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending[tx] = fut  # before the POST: the event may beat its answer
        path = f"/{self.id}" + (f"/{handle}" if handle is not None else "")
        try:
            data = await self._post(path, {**body, "transaction": tx})
            if data.get("janus") != "ack":
                _raise_for(data)
                return data
            lost = asyncio.ensure_future(self.lost.wait())
            try:
                done, _ = await asyncio.wait({fut, lost}, timeout=self.timeout, return_when=asyncio.FIRST_COMPLETED)
            finally:
                lost.cancel()
            if fut in done:
                data = fut.result()
                _raise_for(data)
                return data
            if self.lost.is_set():
                raise ConnectionError(f"Janus session lost: {self.lost_reason}")
            raise ConnectionError(f"Janus {body.get('janus')}: no answer in {self.timeout:.0f} s")
        finally:
            self._pending.pop(tx, None)

    def _lose(self, reason: str) -> None:
        if not self.lost.is_set():
            self.lost_reason = reason
            self.lost.set()

    async def _poll(self) -> None:
        while not self.lost.is_set():
            try:
                async with self.http.get(f"{self.url}/{self.id}", params={"maxev": "1", "rid": secrets.token_hex(4)},
                                         timeout=aiohttp.ClientTimeout(total=self.timeout + 40)) as resp:
                    data = await resp.json(content_type=None)
            except asyncio.CancelledError:
                raise
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
                self._lose(f"event poll failed: {type(exc).__name__}: {exc}")
                return
            for ev in data if isinstance(data, list) else [data]:
                if not isinstance(ev, dict):
                    continue
                if ev.get("janus") == "error":  # e.g. 458 no such session (Janus restarted)
                    self._lose(f"Janus: {ev.get('error', {}).get('reason', ev)}")
                    return
                fut = self._pending.get(str(ev.get("transaction")))
                if fut is not None and not fut.done() and ev.get("janus") != "ack":
                    fut.set_result(ev)
                elif ev.get("janus") != "keepalive" and not self.events.full():
                    self.events.put_nowait(ev)

    async def _keepalive(self) -> None:
        while not self.lost.is_set():
            await asyncio.sleep(KEEPALIVE_S)
            try:
                data = await self._post(f"/{self.id}", {"janus": "keepalive", "transaction": secrets.token_hex(6)})
                _raise_for(data)
            except (ConnectionError, JanusError) as exc:
                self._lose(f"keepalive failed: {exc}")

    async def destroy(self) -> None:
        """Best effort: Janus may already be gone."""
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.id is not None and not self.lost.is_set():
            try:
                await self._post(f"/{self.id}", {"janus": "destroy", "transaction": secrets.token_hex(6)})
            except ConnectionError:
                pass
        self._lose("destroyed")


def _raise_for(data: dict) -> None:
    if data.get("janus") == "error":
        err = data.get("error", {})
        raise JanusError(f"Janus: {err.get('reason', 'error')}", err.get("code"))
