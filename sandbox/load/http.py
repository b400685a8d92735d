"""The aiohttp client (`--client aiohttp`): one session per process, connections kept alive.

aiohttp was measured against httpx in `benchmarks/load.py` and is the faster of the two by a
wide margin; `sandbox.load.wire` is faster still and is the default. The pool holds at most one
connection per worker, so a closed loop of N workers keeps N connections open.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol

from sandbox.load.ops import HttpStatus, WrongAnswer

if TYPE_CHECKING:
    import aiohttp
    from yarl import URL


class Client(Protocol):
    """What the workloads need from an HTTP client (`Http` here, `wire.Wire`)."""

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
    ) -> tuple[int, bytes]: ...


class Http:
    def __init__(self, timeout: float, connections: int) -> None:
        self.timeout = timeout
        self.connections = connections
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Http:
        import aiohttp

        connector = aiohttp.TCPConnector(
            limit=max(1, self.connections), keepalive_timeout=60, ttl_dns_cache=300
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            skip_auto_headers=("User-Agent",),
            headers={"User-Agent": "sandbox-load"},
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

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
        """(status, body); an unexpected status raises `HttpStatus` (an error, not a wrong
        answer). Timeouts and connection failures propagate as the client's own exceptions."""
        import aiohttp

        assert self._session is not None, "use `async with Http(...)`"
        kwargs: dict[str, Any] = {}
        if body is not None:
            kwargs["data"] = json.dumps(body).encode()
            headers = {**(headers or {}), "Content-Type": "application/json"}
        elif form is not None:
            kwargs["data"] = form
        if auth is not None:
            kwargs["auth"] = aiohttp.BasicAuth(*auth)
        async with self._session.request(method, url, headers=headers, **kwargs) as resp:
            data = await resp.read()
            if resp.status not in expect:
                raise HttpStatus(resp.status)
            return resp.status, data


def obj(body: bytes, what: str) -> dict[str, Any]:
    """A JSON object from a response body; anything else is a wrong answer."""
    try:
        data = json.loads(body)
    except ValueError:
        raise WrongAnswer(f"{what}: the body is not JSON") from None
    if not isinstance(data, dict):
        raise WrongAnswer(f"{what}: the body is not a JSON object")
    return data
