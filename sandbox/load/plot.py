"""`--plot FILE`: throughput and latency over time, one line per service (matplotlib).

matplotlib comes with the optional extra `plot` (`pip install 'iam-sandbox[plot]'`).
"""

from __future__ import annotations

from pathlib import Path

from sandbox.load.report import Report
from sandbox.plotting import pyplot


def write_plot(report: Report, path: Path) -> None:
    plt = pyplot()

    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(9, 6))
    services = sorted({svc for row in report.timeline for svc in row["services"]})
    for svc in services:
        t = [row["t"] + 0.5 for row in report.timeline if svc in row["services"]]
        cells = [row["services"][svc] for row in report.timeline if svc in row["services"]]
        top.plot(t, [c.get("attempts", 0) for c in cells], label=f"{svc} req/s")
        bottom.plot(t, [c.get("p50_ms", 0) for c in cells], label=f"{svc} p50")
        bottom.plot(t, [c.get("p99_ms", 0) for c in cells], "--", label=f"{svc} p99")
    warm = report.info.warmup_s
    for ax in (top, bottom):
        if warm:
            ax.axvspan(0, warm, color="0.9", label="_warm-up")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", fontsize="small")
    top.set_ylabel("requests/s")
    bottom.set_ylabel("latency (ms)")
    bottom.set_xlabel("seconds (warm-up shaded)")
    top.set_title(f"sandbox load {report.info.workload}, run {report.info.run_id}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
