"""Text for people: the progress line printed each second and the final table. Pure."""

from __future__ import annotations

from typing import Any

from sandbox.load.report import Report, Second

SUMMARY_LABELS = (
    ("Duration", "duration_s", "{:.1f}s"),
    ("Concurrency", "concurrency", "{}"),
    ("Checks/sec", "checks_per_sec", "{:.1f}"),
    ("Mode", "mode", "{}"),
    ("Active", "active", "{}"),
    ("Inactive", "inactive", "{}"),
    ("Writes", "writes", "{}"),
    ("Reads", "reads", "{}"),
    ("Read/Write ratio", "read_write_ratio", "{}:1"),
    ("Failed writes", "failed_writes", "{}"),
    ("Failed reads", "failed_reads", "{}"),
    ("Late sends", "late_sends", "{}"),
    ("Wrong answers", "wrong_answers", "{}"),
    ("Error rate", "error_rate", "{:.4%}"),
)
"""The load simulator's summary fields, in their order and words, then what they lacked."""

OP_HEADERS = (
    "operation",
    "count",
    "ok",
    "errors",
    "wrong",
    "late",
    "req/s",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "p99.9 ms",
    "max ms",
)


def progress_line(row: Second) -> str:
    """`[  3s measured] hydra 812/s p99 4.1ms | keto 2950/s p99 2.0ms | err 0 wrong 0 late 0`."""
    parts = [
        f"{svc} {cell.get('attempts', 0):.0f}/s p99 {cell.get('p99_ms', 0.0):.1f}ms"
        for svc, cell in sorted(row.by_service.items())
    ]
    tail = (
        f"err {row.total('errors'):.0f} wrong {row.total('wrong'):.0f} late {row.total('late'):.0f}"
    )
    return f"[{row.t + 1:>4}s {row.phase:<8}] " + " | ".join([*parts, tail])


def _errors(errors: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in errors.items()) or "0"


def op_rows(report: Report) -> list[list[str]]:
    out = []
    for r in report.rows:
        lat: dict[str, Any] = r["latency_ms"]
        out.append(
            [
                r["operation"],
                str(r["count"]),
                str(r["ok"]),
                _errors(r["errors"]),
                str(r["wrong"]),
                str(r["late"]),
                f"{r['throughput']:.1f}",
                *(f"{lat[k]:.2f}" for k in ("p50", "p90", "p99", "p99.9", "max")),
            ]
        )
    return out


def summary_lines(report: Report) -> list[str]:
    width = max(len(label) for label, _, _ in SUMMARY_LABELS)
    lines = []
    for label, key, fmt in SUMMARY_LABELS:
        value = report.summary[key]
        shown = "n/a" if value is None else fmt.format(value)
        lines.append(f"{label:<{width}}  {shown}")
    return lines


def render(report: Report) -> str:
    from sandbox.text import table

    info = report.info
    how = f"rate {info.rate:g}/s" if info.rate else f"concurrency {info.concurrency}"
    lines = [
        f"sandbox load {info.workload} (run {info.run_id}): {info.mode} loop, {how}, "
        f"{info.processes} process(es), {info.measured_s:.1f}s measured after "
        f"{info.warmup_s:g}s warm-up",
        "",
        table(OP_HEADERS, op_rows(report)),
        "",
        *summary_lines(report),
        "",
        "created: " + (", ".join(f"{k} {v}" for k, v in sorted(report.created.items())) or "none"),
    ]
    if report.removed is not None:
        lines.append("removed: " + ", ".join(f"{k} {v}" for k, v in sorted(report.removed.items())))
    else:
        lines.append("kept: the run's data stays (remove it with --cleanup next time)")
    gen = report.generator
    if gen:
        lines.append(
            f"generator: {gen['processes']} process(es), {gen['cpu_s']:.2f} s CPU in the measured "
            f"window, {gen['busy']:.0%} of a core each"
        )
        if report.generator_bound():
            lines.append(
                "warning: the generator was nearly CPU-bound and may have limited these numbers: "
                "add --processes"
            )
    warm = report.warmup
    lines.append(
        f"warm-up: {warm['count']} requests, {warm['errors']} errors, {warm['wrong']} wrong"
    )
    for r in report.rows:
        for sample in r["wrong_samples"]:
            lines.append(f"wrong answer in {r['operation']}: {sample}")
    lines.append(report.verdict())
    return "\n".join(lines)
