"""Polling with a deadline, a sleep between tries, and evidence when it gives up."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sandbox.errors import SandboxError


class StageFailed(SandboxError):
    """A stage of `up` failed or timed out; carries the service to blame, when known."""

    def __init__(
        self, stage: str, reason: str, service: str | None = None, detail: str | None = None
    ) -> None:
        self.stage = stage
        self.service = service
        who = f" ({service})" if service else ""
        super().__init__(f"stage '{stage}' failed{who}: {reason}", detail=detail)


@dataclass(frozen=True)
class Deadline:
    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def sooner(self, seconds: float) -> Deadline:
        return Deadline(min(self.at, time.monotonic() + seconds))


def poll(
    check: Callable[[], str | None],
    deadline: Deadline,
    interval: float,
    stage: str,
) -> None:
    """Call `check` until it returns None (done); it returns what is still awaited, or raises.

    Sleeps `interval` between tries; on timeout raises StageFailed naming what was awaited.
    """
    waiting = "not checked yet"
    while True:
        waiting = check() or ""
        if not waiting:
            return
        if deadline.remaining() <= 0:
            raise StageFailed(stage, f"timed out waiting for {waiting}")
        time.sleep(min(interval, max(deadline.remaining(), 0.05)))
