"""A lean HTTP/1.1 client for the load generator: asyncio protocols, httptools parsing.

Why not only aiohttp: on this machine aiohttp costs about 200 us of CPU per request, which
caps one process far below what `wrk` drives (`benchmarks/load.py` has the figures). This
client does only what the workloads need (one request at a time per kept-alive connection,
Content-Length or chunked bodies parsed by httptools, a deadline per request) and costs a
fraction of that. Same interface as `sandbox.load.http.Http`; `--client aiohttp` picks that one.

A request that times out or loses its connection closes that connection: it is never reused
with a response still in flight.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlencode

from sandbox.load.ops import HttpStatus

if TYPE_CHECKING:
    from yarl import URL


class _Conn(asyncio.Protocol):
    """One keep-alive connection; `waiter` gets (status, body) when a response completes."""

    def __init__(self) -> None:
        import httptools

        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.body: list[bytes] = []
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream protocol's connection_made is always handed a Transport (asyncio docs).
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except Exception as exc:  # httptools.HttpParserError and friends: a broken response
            self._fail(ConnectionError(f"bad HTTP response: {exc}"))

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        body = b"".join(self.body)
        self.body = []
        if not self.parser.should_keep_alive():
            self.close()
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((status, body))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(ConnectionResetError("the server closed the connection"))

    def _fail(self, exc: Exception) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


def _expire(fut: asyncio.Future[Any]) -> None:
    if not fut.done():
        fut.set_exception(TimeoutError())


class Wire:
    def __init__(self, timeout: float, connections: int) -> None:
        self.timeout = timeout
        self.connections = connections
        self._idle: dict[tuple[str, int], list[_Conn]] = {}
        self._all: list[_Conn] = []

    async def __aenter__(self) -> Wire:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for conn in self._all:
            conn.close()
        self._all.clear()
        self._idle.clear()

    async def _conn(self, host: str, port: int) -> _Conn:
        idle = self._idle.get((host, port))
        while idle:
            conn = idle.pop()
            if not conn.closed:
                return conn
        loop = asyncio.get_running_loop()
        _, conn = await asyncio.wait_for(
            loop.create_connection(_Conn, host, port), timeout=self.timeout
        )
        self._all = [c for c in self._all if not c.closed]
        self._all.append(conn)
        return conn

    async def call(
        self,
        method: str,
        url: str | URL,
        expect: tuple[int, ...],
        *,
        body: Any = None,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """(status, body); an unexpected status raises `HttpStatus`. A timeout raises
        TimeoutError, a lost or refused connection an OSError."""
        from yarl import URL

        u = url if isinstance(url, URL) else URL(url)
        host, port = u.host or "127.0.0.1", u.port or 80
        payload = b""
        lines = [f"{method} {u.raw_path_qs} HTTP/1.1", f"Host: {host}:{port}"]
        if body is not None:
            payload = json.dumps(body).encode()
            lines.append("Content-Type: application/json")
        elif form is not None:
            payload = urlencode(form).encode()
            lines.append("Content-Type: application/x-www-form-urlencoded")
        if payload or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(payload)}")
        if auth is not None:
            pair = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            lines.append(f"Authorization: Basic {pair}")
        if headers:
            lines.extend(f"{k}: {v}" for k, v in headers.items())
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload

        conn = await self._conn(host, port)
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[tuple[int, bytes]] = loop.create_future()
        conn.waiter = fut
        assert conn.transport is not None
        conn.transport.write(request)
        timer = loop.call_later(self.timeout, _expire, fut)
        try:
            status, data = await fut
        except BaseException:
            conn.close()  # a response may still be on its way: never reuse this connection
            raise
        finally:
            timer.cancel()
        if not conn.closed:
            self._idle.setdefault((host, port), []).append(conn)
        if status not in expect:
            raise HttpStatus(status)
        return status, data
