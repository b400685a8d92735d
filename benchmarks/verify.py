"""How long `sandbox verify` takes on real Ory servers: median of N runs, per service.

    python benchmarks/verify.py [--runs 5] [--from-env]

By default it starts what the integration test starts: a TLS PostgreSQL from Debian's packages
and hydra v2.3.0, kratos v1.3.1 and keto v0.13.0-alpha.0 built by scripts/prepare-ory.sh, on
127.0.0.1 (the module proxy here refuses v26.2.0; CockroachDB cannot run here). With
--from-env it measures a running stack found through HYDRA_ADMIN_URL, ..., DATABASE_URL
instead, such as a sandbox brought up with `sandbox up` and `eval "$(sandbox env)"`.
One warm-up run is not counted. Each run uses fresh data, as verify always does. The `oidc`
line is the person's-login group (authorization code + PKCE with a Kratos login). Verify runs
each service's checks in a thread of its own, so the per-service times overlap: their sum is
more than the wall time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox.checks.report import Report
from sandbox.checks.targets import ENV_KEYS, Targets, resolve
from sandbox.checks.verify import verify


@contextlib.contextmanager
def local_stack() -> Iterator[Targets]:
    from sandbox.config.settings import Settings
    from sandbox.model.topology import Topology
    from sandbox.pki.layout import CertLayout
    from sandbox.pki.store import ensure_pki
    from tests.support import ory
    from tests.support.postgres import postgres_bin

    reason = ory.missing_reason()
    if postgres_bin() is None:
        reason = "PostgreSQL server not installed (scripts/test.sh installs it)"
    if reason:
        sys.exit(f"cannot benchmark: {reason}")
    topology = Topology(Settings())
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        layout = CertLayout(Path(tmp) / "certs")
        ensure_pki(topology, layout)
        with ory.on_postgres(topology, layout) as stack:
            yield resolve([("bench", stack.env())])


GOAL_SECONDS = 1.5
"""The whole `verify` (with its OIDC group, `oidc` above) on a warm stack, median."""


def measure(targets: Targets, runs: int) -> tuple[list[float], list[Report]]:
    verify(targets)  # warm-up: connections, caches, first migrations' lazy work
    walls, reports = [], []
    for _ in range(runs):
        start = time.perf_counter()
        report = verify(targets)
        walls.append(time.perf_counter() - start)
        reports.append(report)
        if not report.ok:
            failed = [f"{c.name}: {c.reason}" for c in report.checks if c.result.value != "pass"]
            sys.exit("verify failed during the benchmark:\n" + "\n".join(failed))
    return walls, reports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--from-env", action="store_true", help="measure the stack in the env")
    args = parser.parse_args()

    if args.from_env:
        stack: contextlib.AbstractContextManager[Targets] = contextlib.nullcontext(
            resolve([("env", {k: os.environ[k] for k in ENV_KEYS if os.environ.get(k)})])
        )
        where = "the stack in the environment"
    else:
        stack = local_stack()
        where = "local hydra v2.3.0, kratos v1.3.1, keto v0.13.0-alpha.0, PostgreSQL (TLS)"
    with stack as targets:
        walls, reports = measure(targets, args.runs)

    print(f"sandbox verify on {where}: {args.runs} runs after 1 warm-up")
    print(f"  wall time   median {statistics.median(walls) * 1000:8.1f} ms   "
          f"(min {min(walls) * 1000:.1f}, max {max(walls) * 1000:.1f})")  # fmt: skip
    services = list(reports[0].latency_by_service())
    for service in services:
        values = [r.latency_by_service()[service] for r in reports]
        print(f"  {service:<10}  median {statistics.median(values):8.1f} ms   "
              f"(min {min(values):.1f}, max {max(values):.1f})")  # fmt: skip
    checks = [c.name for c in reports[0].checks]
    slowest = sorted(
        checks,
        key=lambda n: (
            -statistics.median(next(c.latency_ms for c in r.checks if c.name == n) for r in reports)
        ),
    )[:3]
    print("  slowest checks (median): " + ", ".join(slowest))
    median = statistics.median(walls)
    verdict = "met" if median < GOAL_SECONDS else "NOT met"
    print(f"  goal: the whole verify under {GOAL_SECONDS} s (median): {verdict}")


if __name__ == "__main__":
    main()
