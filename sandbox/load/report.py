"""The report model: flushed tallies in; per-operation rows, the load simulator's summary and a
verdict out.

`Aggregator` is fed the once-a-second messages of every worker process and keeps warm-up and
measured numbers apart. `Report` is what every reporter (table, JSON, metrics, plot) prints;
it is computed from the aggregator alone, so it can be tested with hand-made tallies.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sandbox.load.ops import Kind, Op
from sandbox.load.stats import OpStats, new_histogram

WARMUP = "warmup"
MEASURED = "measured"
GENERATOR_BUSY = 0.85
"""A generator process busier than this share of a core may be what limits the numbers."""


@dataclass
class Second:
    """One second of the run, all processes together: what the progress line and plot show."""

    t: int
    phase: str
    by_service: dict[str, dict[str, float]] = field(default_factory=dict)
    latency_us: dict[str, Counter[int]] = field(default_factory=dict, repr=False)
    """Per service, kept so that every process's flush of this second merges exactly."""

    def total(self, key: str) -> float:
        return sum(v.get(key, 0) for v in self.by_service.values())


@dataclass
class Aggregator:
    ops: dict[str, Op]
    phases: dict[str, dict[str, OpStats]] = field(
        default_factory=lambda: {WARMUP: {}, MEASURED: {}}
    )
    seconds: dict[int, Second] = field(default_factory=dict)

    def add_tick(self, second: int, tallies: dict[str, dict[str, dict[str, Any]]]) -> Second:
        """Fold one process's flush for `second` ({phase: {op: tally}}) in; returns the row."""
        row = self.seconds.setdefault(second, Second(t=second, phase=WARMUP))
        latencies: dict[str, Counter[int]] = {}
        for phase, by_op in tallies.items():
            if by_op and phase == MEASURED:
                row.phase = MEASURED
            for name, tally in by_op.items():
                stats = self.phases[phase].setdefault(name, OpStats())
                stats.add(tally)
                svc = self.ops[name].service
                cell = row.by_service.setdefault(svc, {})
                cell["attempts"] = cell.get("attempts", 0) + (
                    tally["ok"] + tally["wrong"] + sum(tally["errors"].values())
                )
                cell["ok"] = cell.get("ok", 0) + tally["ok"]
                cell["errors"] = cell.get("errors", 0) + sum(tally["errors"].values())
                cell["wrong"] = cell.get("wrong", 0) + tally["wrong"]
                cell["late"] = cell.get("late", 0) + tally["late"]
                latencies.setdefault(svc, Counter()).update(tally["latency_us"])
        for svc, counts in latencies.items():
            merged = row.latency_us.setdefault(svc, Counter())
            merged.update(counts)
            h = new_histogram()
            for us, n in merged.items():
                h.record_value(us, n)
            row.by_service[svc]["p50_ms"] = h.get_value_at_percentile(50) / 1000
            row.by_service[svc]["p99_ms"] = h.get_value_at_percentile(99) / 1000
        return row

    def totals(self, phase: str) -> OpStats:
        total = OpStats()
        for stats in self.phases[phase].values():
            total.merge(stats)
        return total


@dataclass(frozen=True)
class RunInfo:
    """How the run was set up, and the measured window as it really was."""

    run_id: str
    workload: str
    mode: str  # closed | open
    concurrency: int
    rate: float | None
    processes: int
    duration_s: float
    warmup_s: float
    measured_s: float
    read_ratio: int
    deny_share: float
    hydra_token: str
    max_error_rate: float


def _row(op: Op, stats: OpStats, measured_s: float) -> dict[str, Any]:
    return {
        "service": op.service,
        "operation": op.name,
        "kind": op.kind.value,
        "count": stats.attempts,
        "ok": stats.ok,
        "errors": dict(sorted(stats.errors.items())),
        "error_count": stats.error_count,
        "wrong": stats.wrong,
        "late": stats.late,
        "throughput": round(stats.attempts / measured_s, 2) if measured_s > 0 else 0.0,
        "latency_ms": {k: round(v, 3) for k, v in stats.latency_ms().items()},
        "wrong_samples": list(stats.samples),
    }


@dataclass
class Report:
    info: RunInfo
    rows: list[dict[str, Any]]
    summary: dict[str, Any]
    warmup: dict[str, int]
    created: dict[str, int]
    removed: dict[str, int] | None
    timeline: list[dict[str, Any]]
    generator: dict[str, Any] = field(default_factory=dict)
    """processes, CPU seconds in the measured window, and `busy`: that CPU over the window
    (per process; 1.0 is one core saturated, when the generator may be the limit)."""

    def generator_bound(self) -> bool:
        return float(self.generator.get("busy", 0.0)) >= GENERATOR_BUSY

    @property
    def wrong_answers(self) -> int:
        return int(self.summary["wrong_answers"])

    @property
    def error_rate(self) -> float:
        return float(self.summary["error_rate"])

    @property
    def ok(self) -> bool:
        return self.wrong_answers == 0 and self.error_rate <= self.info.max_error_rate

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def verdict(self) -> str:
        if self.ok:
            return "PASS: no wrong answer, error rate within --max-error-rate"
        reasons = []
        if self.wrong_answers:
            reasons.append(f"{self.wrong_answers} wrong answer(s)")
        if self.error_rate > self.info.max_error_rate:
            reasons.append(
                f"error rate {self.error_rate:.4%} over --max-error-rate "
                f"{self.info.max_error_rate:.4%}"
            )
        return "FAIL: " + ", ".join(reasons)

    def as_dict(self) -> dict[str, Any]:
        info = self.info
        return {
            "run_id": info.run_id,
            "workload": info.workload,
            "settings": {
                "mode": info.mode,
                "concurrency": info.concurrency,
                "rate": info.rate,
                "processes": info.processes,
                "duration_s": info.duration_s,
                "warmup_s": info.warmup_s,
                "read_ratio": info.read_ratio,
                "deny_share": info.deny_share,
                "hydra_token": info.hydra_token,
                "max_error_rate": info.max_error_rate,
            },
            "measured_s": round(info.measured_s, 3),
            "operations": self.rows,
            "summary": self.summary,
            "warmup": self.warmup,
            "created": self.created,
            "removed": self.removed,
            "timeline": self.timeline,
            "generator": {**self.generator, "may_be_the_limit": self.generator_bound()},
            "ok": self.ok,
            "exit_code": self.exit_code,
            "verdict": self.verdict(),
        }


def build_report(
    info: RunInfo,
    agg: Aggregator,
    created: dict[str, int],
    removed: dict[str, int] | None = None,
    order: Iterable[str] | None = None,
    generator: dict[str, Any] | None = None,
) -> Report:
    measured = agg.phases[MEASURED]
    names = [n for n in (order or agg.ops) if n in measured]
    rows = [_row(agg.ops[n], measured[n], info.measured_s) for n in names]
    warm = agg.totals(WARMUP)
    everything = agg.totals(MEASURED)
    everything.merge(warm)

    def of(kind: Kind) -> list[OpStats]:
        return [s for n, s in measured.items() if agg.ops[n].kind is kind]

    writes, reads = of(Kind.write), of(Kind.read)
    ok_reads = sum(s.ok for s in reads)
    ok_writes = sum(s.ok for s in writes)
    active = sum(s.positive for n, s in measured.items() if agg.ops[n].kind is Kind.read)
    attempts = everything.attempts
    failed = everything.error_count + everything.wrong
    summary = {
        "duration_s": round(info.measured_s, 3),
        "concurrency": info.concurrency,
        "checks_per_sec": round(ok_reads / info.measured_s, 2) if info.measured_s > 0 else 0.0,
        "mode": "LIVE",
        "active": active,
        "inactive": ok_reads - active,
        "writes": ok_writes,
        "reads": ok_reads,
        "read_write_ratio": round(ok_reads / ok_writes, 2) if ok_writes else None,
        "failed_writes": sum(s.error_count + s.wrong for s in writes),
        "failed_reads": sum(s.error_count + s.wrong for s in reads),
        "late_sends": sum(s.late for s in measured.values()),
        "wrong_answers": everything.wrong,
        "errors": everything.error_count,
        "error_rate": round(failed / attempts, 6) if attempts else 0.0,
    }
    warmup = {"count": warm.attempts, "errors": warm.error_count, "wrong": warm.wrong}
    timeline = [
        {
            "t": s.t,
            "phase": s.phase,
            "services": {svc: dict(cell) for svc, cell in sorted(s.by_service.items())},
        }
        for s in sorted(agg.seconds.values(), key=lambda s: s.t)
    ]
    return Report(info, rows, summary, warmup, dict(created), removed, timeline, generator or {})
