"""The phases of a zone drill, around any injector and any workloads.

    baseline   the workloads run against a healthy cluster
    failure    the injector takes the zone down (the history records when)
    outage     the fault holds
    restore    the injector undoes it, whatever state the victim is in
    recovery   wait until every node is live and no range is short of a replica
    audit      the workloads read back what they wrote; the checker compares

The zone is restored in a `finally`, with SIGINT ignored while it happens, so Ctrl-C, SIGTERM
or an error during the outage still brings it back before the drill exits.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from sandbox.chaos.checker import Audit
from sandbox.chaos.history import Event, History
from sandbox.chaos.report import DrillReport, LoadBalancerTimes, build_report
from sandbox.errors import SandboxError


class Injector(Protocol):
    victim: str

    def inject(self) -> None: ...

    def restore(self) -> list[list[str]]: ...


class Workload(Protocol):
    name: str

    @property
    def parts(self) -> tuple[str, ...]:
        """The workload names its events carry (`sql`; `keto`, `kratos`)."""
        ...

    def setup(self) -> None: ...

    def start(self, history: History) -> None: ...

    def stop(self) -> None: ...

    def audits(self, events: list[Event]) -> list[Audit]: ...


@dataclass(frozen=True)
class DrillPlan:
    run_id: str
    target: str
    zone: str
    mode: str
    outage: float
    duration: float
    recovery_timeout: float = 180.0

    @property
    def baseline(self) -> float:
        """Half of the time outside the outage comes before it, half after the restore."""
        return (self.duration - self.outage) / 2


Recovery = Callable[[float, Callable[[str], None]], tuple[bool, str]]
"""recovery(timeout, on_change) -> (recovered, last reason)."""
LbTimes = Callable[[float, float | None], LoadBalancerTimes]
"""lb_times(fault wall time, restore wall time) -> the load balancer's reaction."""


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt, so a terminated drill restores its zone too."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _uninterruptible() -> Iterator[None]:
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class Drill:
    def __init__(
        self,
        plan: DrillPlan,
        injector: Injector,
        workloads: Sequence[Workload],
        recovery: Recovery,
        lb_times: LbTimes,
        say: Callable[[str], None],
    ) -> None:
        self.plan = plan
        self.injector = injector
        self.workloads = list(workloads)
        self.recovery = recovery
        self.lb_times = lb_times
        self.say = say
        self.history = History()
        self.notes: list[str] = []
        self.wall: dict[str, float] = {}
        self.injected = False
        self.restored = False

    def _until(self, seconds_into_drill: float) -> None:
        left = seconds_into_drill - self.history.now()
        if left > 0:
            time.sleep(left)

    def _restore(self) -> None:
        if not self.injected or self.restored:
            return
        with _uninterruptible():
            self.wall["restore"] = time.time()
            self.history.nemesis("restore", self.injector.victim)
            try:
                commands = self.injector.restore()
            except SandboxError as exc:
                raise SandboxError(
                    f"could not restore zone {self.plan.zone} ({exc.message}): "
                    "run `sandbox up` to heal it"
                ) from None
            self.restored = True
            done = "; ".join(" ".join(c[:3]) for c in commands) or "nothing to undo"
            self.say(f"restore: {self.injector.victim} ({done})")

    def run(self) -> DrillReport:
        plan = self.plan
        for workload in self.workloads:
            workload.setup()
        started = []
        interrupted = False
        recovered, reason = False, "not reached"
        try:
            with _sigterm_interrupts():
                self.history = History()  # time 0 is the start of the baseline
                for workload in self.workloads:
                    workload.start(self.history)
                    started.append(workload)
                self.say(f"baseline: {plan.baseline:.0f}s of steady load")
                self._until(plan.baseline)
                self.wall["fault"] = time.time()
                self.history.nemesis("fault", f"{plan.mode} {self.injector.victim}")
                self.injected = True
                self.injector.inject()
                self.say(f"fault: {self.injector.victim} down ({plan.mode}) for {plan.outage:g}s")
                self._until(plan.baseline + plan.outage)
                self._restore()
                self.say("recovery: waiting for the engine's recovery probe")
                recovered, reason = self.recovery(
                    plan.recovery_timeout, lambda why: self.say(f"recovery: {why}")
                )
                if recovered:
                    self.history.nemesis("recovered")
                    self.say("recovery: done")
                self._until(plan.duration)
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            try:
                self._restore()
            finally:
                self.history.nemesis("end")
                for workload in started:
                    workload.stop()
                if interrupted:
                    done = "restored" if self.injected else "never taken down"
                    self.say(f"interrupted: zone {plan.zone} {done}")
        return self._report(recovered, reason)

    def _report(self, recovered: bool, reason: str) -> DrillReport:
        events = self.history.events()
        lb = self.lb_times(self.wall["fault"], self.wall.get("restore"))
        audits: list[Audit] = []
        for workload in self.workloads:
            self.say(f"audit: reading back the {workload.name} writes")
            audits.extend(workload.audits(events))
        return build_report(
            events,
            run_id=self.plan.run_id,
            target=self.plan.target,
            zone=self.plan.zone,
            node=self.injector.victim,
            mode=self.plan.mode,
            outage=self.plan.outage,
            duration=self.plan.duration,
            workloads=[p for w in self.workloads for p in w.parts],
            load_balancer=lb,
            recovered=recovered,
            recovery_detail=reason,
            audits=audits,
            notes=self.notes,
        )
