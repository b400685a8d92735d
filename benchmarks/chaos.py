"""Zone drills on a real CockroachDB: how long a dead zone costs, per failure mode.

    python benchmarks/chaos.py [--runs 5] [--outage 20s] [--duration 50s] [--modes kill,...]

Brings up one Compose sandbox whose nodes run a CockroachDB image already on the engine
(`$IAM_SANDBOX_TEST_COCKROACH_IMAGE`, else the pinned official image; nothing is pulled or
built), with Debian's real HAProxy in the stand-in image and stand-in Ory, runs `sandbox chaos
zone us-east-1b` N times per mode with the SQL workload (2 writers, one write each per 20 ms),
and prints per mode the median and maximum of: the unavailability window (longest gap between
two acknowledged writes), the load balancer's eject time (HAProxy's own DOWN line after the
fault), its re-add time, the time to recover after the restore, and the lost writes, which
must be 0. Exits 1 if any drill lost a write or did not recover. Without a CockroachDB
image (or a Docker engine) it prints one `skipped:` line saying which image it looked for and
exits 0.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.cockroach import (  # noqa: E402
    real_cockroach_name,
    real_cockroach_problem,
    real_cockroach_sandbox,
)

MODES = ("kill", "stop", "pause", "partition")


def stats(values: list[float | None]) -> str:
    present = [v for v in values if v is not None]
    if not present:
        return "-"
    missing = f" ({len(values) - len(present)} n/a)" if len(present) < len(values) else ""
    return f"{statistics.median(present):6.2f} / {max(present):6.2f}{missing}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--outage", default="20s")
    parser.add_argument("--duration", default="50s")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--zone", default="us-east-1b")
    parser.add_argument("--json", type=Path, help="Also write every drill's report here.")
    args = parser.parse_args()
    problem = real_cockroach_problem()
    if problem is not None:
        print(f"skipped: {problem}")
        return 0
    modes = [m for m in args.modes.split(",") if m]
    reports: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
    with (
        tempfile.TemporaryDirectory() as tmp,
        real_cockroach_sandbox(Path(tmp) / "home", "bench-chaos") as box,
    ):
        for run in range(args.runs):
            for mode in modes:
                done = box.run(
                    "chaos",
                    "zone",
                    args.zone,
                    "--mode",
                    mode,
                    "--outage",
                    args.outage,
                    "--duration",
                    args.duration,
                    "--workload",
                    "sql",
                    "--output",
                    "json",
                    timeout=900,
                )
                report = json.loads(done.stdout)
                reports[mode].append(report)
                gap = report["gaps"][0]["seconds"] if report["gaps"] else None
                print(
                    f"run {run + 1} {mode:9} exit {done.returncode} gap {gap} "
                    f"eject {report['load_balancer']['eject']} "
                    f"recover {report['recovery_seconds']} lost {report['lost']} "
                    f"({'; '.join(report['notes'])})",
                    file=sys.stderr,
                )
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2))
    print(
        f"{real_cockroach_name()}, 3 nodes, zone {args.zone} down for {args.outage} in a "
        f"{args.duration} drill, {args.runs} drills per mode; median / max in seconds"
    )
    header = f"{'mode':10} {'unavailable':>17} {'LB eject':>17} {'LB re-add':>17} "
    header += f"{'recover':>17} {'acked':>7} {'ambiguous':>9} {'lost':>5}"
    print(header)
    failed = False
    for mode in modes:
        rows = reports[mode]
        acked = sum(a["acknowledged"] for r in rows for a in r["audits"])
        ambiguous = sum(len(a["ambiguous"]) for r in rows for a in r["audits"])
        lost = sum(r["lost"] for r in rows)
        failed |= lost > 0 or not all(r["recovered"] for r in rows)
        print(
            f"{mode:10} "
            f"{stats([r['gaps'][0]['seconds'] if r['gaps'] else None for r in rows]):>17} "
            f"{stats([r['load_balancer']['eject'] for r in rows]):>17} "
            f"{stats([r['load_balancer']['readd'] for r in rows]):>17} "
            f"{stats([r['recovery_seconds'] for r in rows]):>17} "
            f"{acked:>7} {ambiguous:>9} {lost:>5}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
