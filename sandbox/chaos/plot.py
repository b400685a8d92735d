"""The timeline as a picture: successes and errors per second, p99 latency, the outage shaded.

matplotlib comes with the optional extra `plot` (`pip install 'iam-sandbox[plot]'`); it is
imported here only, with the non-interactive Agg backend, so it needs no display.
"""

from __future__ import annotations

from pathlib import Path

from sandbox.chaos.report import DrillReport
from sandbox.plotting import pyplot


def write_plot(report: DrillReport, path: Path) -> None:
    plt = pyplot()

    seconds = [s.second for s in report.timeline]
    fig, (counts, latency) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    counts.bar(seconds, [s.ok for s in report.timeline], width=0.9, label="ok", color="tab:green")
    counts.bar(
        seconds,
        [s.failed for s in report.timeline],
        width=0.9,
        bottom=[s.ok for s in report.timeline],
        label="errors",
        color="tab:red",
    )
    counts.set_ylabel("operations / s")
    p99 = [None if s.p99 is None else s.p99 * 1000 for s in report.timeline]
    p50 = [None if s.p50 is None else s.p50 * 1000 for s in report.timeline]
    latency.plot(seconds, p50, label="p50", color="tab:blue")
    latency.plot(seconds, p99, label="p99", color="tab:orange")
    latency.set_ylabel("latency (ms)")
    latency.set_xlabel("seconds into the drill")
    fault, restore = report.phases.get("fault"), report.phases.get("restore")
    for ax in (counts, latency):
        if fault is not None:
            ax.axvspan(
                fault,
                restore if restore is not None else seconds[-1],
                color="grey",
                alpha=0.25,
                label="outage",
            )
        if report.phases.get("recovered") is not None:
            ax.axvline(report.phases["recovered"], color="black", linestyle=":", label="recovered")
        ax.legend(loc="upper right", fontsize="small")
    counts.set_title(
        f"zone {report.zone} ({report.node}), {report.mode}: "
        f"lost {report.lost}, {'PASS' if report.ok else 'FAIL'}"
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
