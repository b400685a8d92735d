"""Zone drills on real servers: what a dead zone costs each database engine, per failure mode.

    python benchmarks/chaos.py [--engines cockroachdb,postgres] [--runs 5] [--outage 30s]
                               [--duration 60s] [--modes kill,stop,pause,partition]

Each engine runs where its servers are present; nothing is pulled:
- cockroachdb: the nodes run the image `$IAM_SANDBOX_TEST_COCKROACH_IMAGE` (else the pinned
  official image) with stand-in Ory; the drill fails one zone (us-east-1b) per mode.
- postgres: the images scripts/prepare-images.sh built (PostgreSQL, Patroni and etcd from
  Debian's packages and PyPI, HAProxy, Ory from its Go modules). A single-leader engine costs
  differently when the leader's zone dies than when a standby's does, so before each drill the
  benchmark asks the database which node leads (the one missing from `pg_stat_replication`) and
  fails its zone in every mode, and a standby's zone by `kill` and `pause`.

Every drill writes with the SQL workload (2 writers, one write each per 20 ms). Printed per
row: the median and maximum of the unavailability window (longest gap between two acknowledged
writes), the leader change (postgres: from the fault to the promotion in Patroni's history), the
load balancer's eject and re-add times, the recovery after the restore; the acknowledged and
ambiguous writes, and the lost ones, which must be 0. Exits 1 if any drill lost a write or
did not recover. An engine whose servers are absent prints one `skipped:` line with the reason.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sandbox.chaos.cluster import SqlAccess  # noqa: E402
from tests.support.cockroach import (  # noqa: E402
    SandboxHome,
    real_cockroach_name,
    real_cockroach_problem,
    real_cockroach_sandbox,
)
from tests.support.pg_stack import postgres_stack, stack_problem  # noqa: E402

MODES = ("kill", "stop", "pause", "partition")
STANDBY_MODES = ("kill", "pause")
ZONE_OF_NODE = {"pg-1": "us-east-1a", "pg-2": "us-east-1b", "pg-3": "us-east-1c"}
Drill = tuple[str, str, Callable[[SandboxHome], str]]
"""A table row's label, the chaos mode, and how to pick the zone just before the drill."""


def stats(values: list[float | None]) -> str:
    present = [v for v in values if v is not None]
    if not present:
        return "-"
    missing = f" ({len(values) - len(present)} n/a)" if len(present) < len(values) else ""
    return f"{statistics.median(present):6.2f} / {max(present):6.2f}{missing}"


def postgres_roles(box: SandboxHome) -> tuple[str, list[str]]:
    """(leader, standbys) by node name, from the leader's own view through the load balancer."""
    certs = box.certs / "clients" / "postgres"
    access = SqlAccess("127.0.0.1", box.sql_port, certs, "postgres", "postgres")
    with access.connect("postgres") as conn:
        rows = conn.execute("SELECT application_name FROM pg_stat_replication").fetchall()
    standbys = sorted(str(name) for (name,) in rows)
    leader = [node for node in ZONE_OF_NODE if node not in standbys]
    if len(leader) != 1:
        raise SystemExit(f"cannot tell the leader: standbys streaming are {standbys}")
    return leader[0], standbys


def leader_zone(box: SandboxHome) -> str:
    return ZONE_OF_NODE[postgres_roles(box)[0]]


def standby_zone(box: SandboxHome) -> str:
    return ZONE_OF_NODE[postgres_roles(box)[1][0]]


def drills(engine: str, modes: list[str], zone: str) -> list[Drill]:
    if engine == "cockroachdb":
        return [(mode, mode, lambda _box: zone) for mode in modes]
    rows: list[Drill] = [(f"leader {mode}", mode, leader_zone) for mode in modes]
    rows += [(f"standby {m}", m, standby_zone) for m in STANDBY_MODES if m in modes]
    return rows


def stack(engine: str, home: Path) -> AbstractContextManager[SandboxHome]:
    if engine == "cockroachdb":
        return real_cockroach_sandbox(home, "bench-chaos")
    return postgres_stack(home, "bench-chaos")


def run_engine(engine: str, args: argparse.Namespace) -> Iterator[str | bool]:
    """Yield the engine's printed lines, then whether every drill lost nothing and recovered."""
    problem = real_cockroach_problem() if engine == "cockroachdb" else stack_problem()
    if problem is not None:
        yield f"{engine} skipped: {problem}"
        yield True
        return
    rows = drills(engine, [m for m in args.modes.split(",") if m], args.zone)
    reports: dict[str, list[dict[str, Any]]] = {label: [] for label, _, _ in rows}
    with tempfile.TemporaryDirectory() as tmp, stack(engine, Path(tmp) / "home") as box:
        for run in range(args.runs):
            for label, mode, pick_zone in rows:
                zone = pick_zone(box)
                argv = ("chaos", "zone", zone, "--mode", mode, "--outage", args.outage)
                argv += ("--duration", args.duration, "--workload", "sql", "--output", "json")
                done = box.run(*argv, timeout=900)
                report = json.loads(done.stdout)
                reports[label].append(report)
                gap = report["gaps"][0]["seconds"] if report["gaps"] else None
                print(
                    f"{engine} run {run + 1} {label:17} {zone} exit {done.returncode} gap {gap} "
                    f"failover {(report.get('failover') or {}).get('seconds')} "
                    f"eject {report['load_balancer']['eject']} "
                    f"recover {report['recovery_seconds']} lost {report['lost']}",
                    file=sys.stderr,
                    flush=True,
                )
    if args.json:
        args.json.with_suffix(f".{engine}.json").write_text(json.dumps(reports, indent=2))
    server = real_cockroach_name() if engine == "cockroachdb" else "PostgreSQL under Patroni"
    yield (
        f"{engine}: {server}, 3 nodes, a zone down for {args.outage} in a {args.duration} "
        f"drill, {args.runs} drills per row; median / max in seconds"
    )
    yield (
        f"{'drill':17} {'unavailable':>17} {'leader change':>17} {'LB eject':>17} "
        f"{'LB re-add':>17} {'recover':>17} {'acked':>7} {'ambiguous':>9} {'lost':>5}"
    )
    clean = True
    for label, _, _ in rows:
        done_rows = reports[label]
        acked = sum(a["acknowledged"] for r in done_rows for a in r["audits"])
        ambiguous = sum(len(a["ambiguous"]) for r in done_rows for a in r["audits"])
        lost = sum(r["lost"] for r in done_rows)
        clean &= lost == 0 and all(r["recovered"] for r in done_rows)
        failover = [(r.get("failover") or {}).get("seconds") for r in done_rows]
        yield (
            f"{label:17} "
            f"{stats([r['gaps'][0]['seconds'] if r['gaps'] else None for r in done_rows]):>17} "
            f"{stats(failover):>17} "
            f"{stats([r['load_balancer']['eject'] for r in done_rows]):>17} "
            f"{stats([r['load_balancer']['readd'] for r in done_rows]):>17} "
            f"{stats([r['recovery_seconds'] for r in done_rows]):>17} "
            f"{acked:>7} {ambiguous:>9} {lost:>5}"
        )
    yield clean


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="cockroachdb,postgres")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--outage", default="30s")
    parser.add_argument("--duration", default="60s")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--zone", default="us-east-1b", help="The zone CockroachDB loses.")
    parser.add_argument("--json", type=Path, help="Also write every drill's report here.")
    args = parser.parse_args()
    failed = False
    for engine in [e for e in args.engines.split(",") if e]:
        for line in run_engine(engine, args):
            if isinstance(line, bool):
                failed |= not line
            else:
                print(line, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
