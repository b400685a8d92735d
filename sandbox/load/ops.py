"""Operations and outcomes: what a workload does, and how each attempt ended.

An attempt ends in exactly one of: ok (the expected answer), a wrong answer (the service
answered, but not what it must: fails the run), or an error of one kind: `http <status>`,
`timeout` or `connection`. Timeouts and lost connections are indeterminate for writes: the
write may or may not have happened, so they are never counted as acknowledged.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    write = "write"
    read = "read"


@dataclass(frozen=True)
class Op:
    name: str
    """`service.thing.verb`, e.g. `keto.check.allowed`."""
    kind: Kind
    positive: bool = True
    """For reads: an ok answer counts as the load simulator's Active (token active, session valid,
    allowed) or, when False, as Inactive (a denial that was expected)."""

    @property
    def service(self) -> str:
        return self.name.split(".", 1)[0]


TIMEOUT = "timeout"
CONNECTION = "connection"


def http_error(status: int) -> str:
    return f"http {status}"


class WrongAnswer(Exception):
    """The service answered, but not with what it must; the message says what differed."""


class HttpStatus(Exception):
    """An unexpected HTTP status: an error, not a wrong answer."""

    def __init__(self, status: int) -> None:
        super().__init__(http_error(status))
        self.status = status


def classify(exc: BaseException) -> str | None:
    """The error kind of an exception raised while attempting an operation, or None for
    anything that is not the service's or the network's doing (a bug: it must surface).

    Timeouts are checked first: some clients' timeouts are also connection errors by type.
    """
    if isinstance(exc, HttpStatus):
        return http_error(exc.status)
    if isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__:
        return TIMEOUT
    if isinstance(exc, OSError) or _is_client_error(exc):
        return CONNECTION
    return None


def _is_client_error(exc: BaseException) -> bool:
    """aiohttp's and httpx's transport errors, recognised without importing either."""
    return any(
        cls.__module__.split(".")[0] in ("aiohttp", "httpx", "httpcore")
        for cls in type(exc).__mro__
    )
