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


def poll_until(
    check: Callable[[], dict[str, str]],
    deadline: Deadline,
    interval: float,
    on_change: Callable[[dict[str, str]], None] | None = None,
) -> dict[str, str]:
    """The one poll loop (`up`, `wait`, port-forwards, `chaos` recovery): call `check` until it
    returns nothing to wait for ({} back), or until the deadline, then return what it still
    awaited ({what: detail}).

    Sleeps `interval` between looks, never past the deadline, and takes no look that would end
    after it (judged by how long the last one took), so a deadline given by a user holds.
    `on_change` hears every new answer, for progress lines.
    """
    last: dict[str, str] | None = None
    while True:
        asked = time.monotonic()
        waiting = check()
        if on_change is not None and waiting != last:
            on_change(waiting)
        last = waiting
        if not waiting:
            return {}
        took = time.monotonic() - asked
        if deadline.remaining() <= took:
            return waiting
        time.sleep(min(interval, max(deadline.remaining() - took, 0.0)))


def poll(
    check: Callable[[], dict[str, str]],
    deadline: Deadline,
    interval: float,
    stage: str,
) -> None:
    """`poll_until`, failing the stage when the time is up: StageFailed names what was awaited
    and blames the first service still waited for. `check` may raise to fail at once."""
    waiting = poll_until(check, deadline, interval)
    if waiting:
        what = ", ".join(f"{svc} {item}".rstrip() for svc, item in waiting.items())
        raise StageFailed(stage, f"timed out waiting for {what}", service=next(iter(waiting)))
