"""The drill's report: the model, and its table and JSON forms (plot lives in `plot`).

Pure: built from the history, the audits and a few measured times. Exit code 0 only when
nothing was lost (no audit anomaly at all) and the cluster recovered.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sandbox.chaos.checker import Audit
from sandbox.chaos.history import Event
from sandbox.chaos.timeline import Gap, Second, nemesis_times, timeline, unavailability
from sandbox.text import table


@dataclass(frozen=True)
class Failover:
    """A leader change the fault caused, on engines that have one leader (PostgreSQL)."""

    leader: str | None
    """The node that took over; None: the leader stayed."""
    seconds: float | None
    """From the fault until the new leader's promotion."""
    how: str


@dataclass(frozen=True)
class LoadBalancerTimes:
    eject: float | None
    """Seconds from the fault until the load balancer stopped routing to the node."""
    readd: float | None
    """Seconds from the restore until it routed to the node again."""
    how: str
    """How these were measured (or why they were not)."""


@dataclass
class DrillReport:
    run_id: str
    target: str
    zone: str
    node: str
    mode: str
    outage: float
    duration: float
    phases: dict[str, float]
    """Seconds into the drill: `fault`, `restore`, `recovered`, `end`."""
    timeline: list[Second]
    gaps: list[Gap]
    load_balancer: LoadBalancerTimes
    recovered: bool
    recovery_seconds: float | None
    """From the restore until every node was live and no range was short of a replica."""
    recovery_detail: str
    audits: list[Audit]
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False
    failover: Failover | None = None

    @property
    def lost(self) -> int:
        return sum(len(a.lost) for a in self.audits)

    @property
    def ok(self) -> bool:
        return self.recovered and not self.interrupted and all(a.ok for a in self.audits)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def gap(self, workload: str) -> Gap | None:
        return next((g for g in self.gaps if g.workload == workload), None)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["timeline"] = [{**asdict(s), "failed": s.failed} for s in self.timeline]
        data["audits"] = [
            {**asdict(a), "ok": a.ok, "ambiguous_committed": a.ambiguous_committed}
            for a in self.audits
        ]
        data["lost"] = self.lost
        data["ok"] = self.ok
        data["exit_code"] = self.exit_code
        return data


def build_report(
    events: list[Event],
    *,
    run_id: str,
    target: str,
    zone: str,
    node: str,
    mode: str,
    outage: float,
    duration: float,
    workloads: list[str],
    load_balancer: LoadBalancerTimes,
    recovered: bool,
    recovery_detail: str,
    audits: list[Audit],
    notes: list[str] | None = None,
    interrupted: bool = False,
) -> DrillReport:
    phases = nemesis_times(events)
    end = phases.get("end", max((e.time for e in events), default=0.0))
    gaps = [g for w in workloads if (g := unavailability(events, w, end)) is not None]
    recovery = (
        phases["recovered"] - phases["restore"]
        if "recovered" in phases and "restore" in phases
        else None
    )
    return DrillReport(
        run_id=run_id,
        target=target,
        zone=zone,
        node=node,
        mode=mode,
        outage=outage,
        duration=duration,
        phases=phases,
        timeline=timeline(events, end),
        gaps=gaps,
        load_balancer=load_balancer,
        recovered=recovered,
        recovery_seconds=recovery,
        recovery_detail=recovery_detail,
        audits=audits,
        notes=list(notes or []),
        interrupted=interrupted,
    )


def _s(value: float | None, unit: str = "s") -> str:
    return "-" if value is None else f"{value:.2f}{unit}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}"


def render_table(report: DrillReport) -> str:
    """What a person reads: the verdict, the outage numbers, the timeline, the audit."""
    r = report
    verdict = "PASS" if r.ok else "FAIL"
    why = []
    if r.interrupted:
        why.append("interrupted")
    if not r.recovered:
        why.append(f"not recovered ({r.recovery_detail})")
    if r.lost:
        why.append(f"{r.lost} acknowledged writes lost")
    if any(not a.ok for a in r.audits) and not r.lost:
        why.append("audit anomalies")
    lines = [
        f"zone drill {r.run_id}: {r.target}, zone {r.zone} ({r.node}), mode {r.mode}, "
        f"outage {r.outage:g}s, duration {r.duration:g}s",
        f"verdict: {verdict}" + (f" ({'; '.join(why)})" if why else ""),
        "",
    ]
    summary = []
    for gap in r.gaps:
        summary.append(
            (f"unavailability window ({gap.workload})", f"{gap.seconds:.2f}s at {gap.start:.1f}s")
        )
    lb = r.load_balancer
    if r.failover is not None:
        new = r.failover.leader or "none (the leader stayed)"
        summary.append(("failover: new leader", new))
        summary.append(("failover: promoted after the fault", _s(r.failover.seconds)))
    summary.append(("load balancer ejected the node after", _s(lb.eject)))
    summary.append(("load balancer routed to it again after restore", _s(lb.readd)))
    summary.append(("time to recover after restore", _s(r.recovery_seconds)))
    summary.append(("lost (acknowledged but missing)", str(r.lost)))
    lines.append(table(["MEASURE", "VALUE"], summary))
    lines.append(f"(load balancer times: {lb.how})")
    lines.append("")
    marks: dict[int, str] = {}
    for name, t in sorted(r.phases.items(), key=lambda item: item[1]):
        marks[int(t)] = f"{marks[int(t)]}, {name}" if int(t) in marks else name
    rows = []
    for s in r.timeline:
        errors = ", ".join(f"{k} {n}" for k, n in s.errors.items())
        rows.append(
            (s.second, marks.get(s.second, ""), s.ok, s.failed, _ms(s.p50), _ms(s.p99), errors)
        )
    lines.append(
        table(["SECOND", "PHASE", "OK", "ERRORS", "P50 MS", "P99 MS", "ERROR KINDS"], rows)
    )
    lines.append("")
    audit_rows = [
        (
            a.workload,
            a.source,
            a.attempted,
            a.acknowledged,
            a.found,
            len(a.lost),
            len(a.duplicates),
            f"{len(a.ambiguous)} ({a.ambiguous_committed} committed)",
            len(a.failed_but_found) + len(a.unexpected) + len(a.stale_reads),
        )
        for a in r.audits
    ]
    lines.append(
        table(
            [
                "WORKLOAD",
                "READ FROM",
                "ATTEMPTED",
                "ACKNOWLEDGED",
                "FOUND",
                "LOST",
                "DUPLICATES",
                "AMBIGUOUS",
                "OTHER ANOMALIES",
            ],
            audit_rows,
        )
    )
    for a in r.audits:
        for res in a.ambiguous:
            state = "committed" if res.committed else "not committed"
            lines.append(f"  ambiguous {a.workload} {res.key} ({res.error}): {state}")
        for key in a.lost:
            lines.append(f"  LOST {a.workload} {key}")
        for name, keys in (
            ("DUPLICATE", a.duplicates),
            ("FAILED BUT FOUND", a.failed_but_found),
            ("UNEXPECTED", a.unexpected),
            ("STALE READ", a.stale_reads),
        ):
            lines.extend(f"  {name} {a.workload} {k}" for k in keys)
    lines.extend(f"note: {n}" for n in r.notes)
    return "\n".join(lines)
