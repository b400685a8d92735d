"""A drill's history, recorded the way Jepsen does it.

Every operation is recorded twice: `invoke` when it is sent, then `ok` (it happened and the
client was told so), `fail` (it definitely did not happen) or `info` (nobody knows: the reply
never came, or CockroachDB answered "result is ambiguous"). The fault injector writes its own
`nemesis` events into the same history. The checker and the timeline read nothing else, so
both are tested with hand-written histories.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

NEMESIS = "nemesis"


class Type(StrEnum):
    invoke = "invoke"
    ok = "ok"
    fail = "fail"
    info = "info"
    retry = "retry"
    """A transaction retry error (40001) the client retried: the operation goes on."""
    nemesis = "nemesis"


@dataclass(frozen=True)
class Event:
    time: float
    """Seconds since the drill started (monotonic clock)."""
    process: str
    """Who did it: `sql-0`, `keto-1`, `nemesis`."""
    type: Type
    workload: str = ""
    """`sql`, `keto`, `kratos`; empty for nemesis events."""
    f: str = ""
    """`write` or `read` for operations; `fault` / `restore` / `recovered` for the nemesis."""
    key: str = ""
    """The client-generated id the operation wrote or read."""
    value: str = ""
    """What a read saw (`found` / `missing`), or what the nemesis did."""
    error: str = ""
    """Why a `fail`, `info` or `retry` happened, as a short kind (`deadline`, `40003`, ...)."""
    latency: float | None = None
    """Seconds from invoke to this completion."""


@dataclass
class Pending:
    """An invoked operation waiting for its completion."""

    process: str
    workload: str
    f: str
    key: str
    started: float


class History:
    """Thread-safe, append-only; times are relative to the moment it was created."""

    def __init__(self, clock: float | None = None) -> None:
        self.origin = time.monotonic() if clock is None else clock
        self.wall_origin = time.time()
        self._events: list[Event] = []
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.monotonic() - self.origin

    def _add(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)

    def invoke(self, process: str, workload: str, f: str, key: str) -> Pending:
        started = self.now()
        self._add(Event(started, process, Type.invoke, workload, f, key))
        return Pending(process, workload, f, key, started)

    def complete(self, op: Pending, type: Type, value: str = "", error: str = "") -> Event:
        t = self.now()
        event = Event(t, op.process, type, op.workload, op.f, op.key, value, error, t - op.started)
        self._add(event)
        return event

    def retry(self, op: Pending, error: str) -> None:
        self._add(Event(self.now(), op.process, Type.retry, op.workload, op.f, op.key, "", error))

    def nemesis(self, f: str, value: str = "") -> float:
        t = self.now()
        self._add(Event(t, NEMESIS, Type.nemesis, "", f, "", value))
        return t

    def events(self) -> list[Event]:
        with self._lock:
            return list(self._events)

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events())
