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
    def after(cls, seconds: float, start: float | None = None) -> Deadline:
        """`seconds` from `start` (a `time.monotonic()` reading; default: now)."""
        return cls((time.monotonic() if start is None else start) + seconds)

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def sooner(self, seconds: float) -> Deadline:
        return Deadline(min(self.at, time.monotonic() + seconds))

    def require(self, stage: str, services: list[str] | None = None) -> None:
        """Refuse to go on once the time is up: `--timeout` is a promise."""
        if self.remaining() > 0:
            return
        if services:
            what = f"timed out before starting {', '.join(services)}"
            raise StageFailed(stage, what, service=services[0])
        raise StageFailed(stage, "timed out (raise --timeout or timeouts.up)")


def poll(
    check: Callable[[], dict[str, str]],
    deadline: Deadline,
    interval: float,
    stage: str,
) -> None:
    """Call `check` until it returns nothing to wait for; it returns {service: what is awaited}
    or raises.

    Sleeps `interval` between tries, never past the deadline; on timeout raises StageFailed
    naming what was awaited and blaming the first service still waited for.
    """
    while True:
        waiting = check()
        if not waiting:
            return
        if deadline.remaining() <= 0:
            what = ", ".join(f"{svc} {item}".rstrip() for svc, item in waiting.items())
            raise StageFailed(stage, f"timed out waiting for {what}", service=next(iter(waiting)))
        time.sleep(min(interval, max(deadline.remaining(), 0.05)))
