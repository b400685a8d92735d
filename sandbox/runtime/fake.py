"""A runtime that runs nothing: it records what the stage plan asks of it.

The stage plan is the same on every target, so its order, its gates and how it stops on a
failure are unit-tested against this recorder instead of Docker or a cluster. A test can make
any stage's wait fail, as a crashed container or a failed Job would.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox.plan.stages import Stage
from sandbox.plan.wait import Deadline, StageFailed


@dataclass
class FakeRuntime:
    """A `StageExecutor` that records (verb, stage title, services) for each request."""

    failures: dict[str, str] = field(default_factory=dict)
    """Stage title -> the reason its wait fails with."""
    calls: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)

    def start(self, stage: Stage, deadline: Deadline) -> None:
        self.calls.append(("start", stage.title, stage.services))

    def wait(self, stage: Stage, deadline: Deadline) -> None:
        self.calls.append(("wait", stage.title, stage.services))
        reason = self.failures.get(stage.title)
        if reason is not None:
            raise StageFailed(stage.title, reason, service=stage.services[0])
