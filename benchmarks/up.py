"""`up` from nothing against `up --from-snapshot`, on the real stack the suite can run.

    python benchmarks/up.py [--runs 5] [--skip-raw]

The stack: `database.engine: postgres` on the images scripts/prepare-images.sh builds
(PostgreSQL 15, Patroni, etcd and HAProxy from Debian's packages; hydra v2.3.0, kratos v1.3.1,
keto v0.13.0-alpha.0 built from their Go modules; the login UI stand-in). Medians of N runs:

- `up` from nothing, to the first passing `verify`;
- `up --from-snapshot`, to the first passing `verify` (volumes removed before, not timed);
- `down --volumes` + `up --from-snapshot` + `verify`, as a CI job does it;
- the snapshot's archive size and its save time (the stack stopped);
- raw `docker compose up -d` of the same rendered project to the same readiness (every server
  answering its health path), against `sandbox up` to that point: the sandbox's own overhead.

Goals printed, not asserted: from-snapshot at most 0.3x a fresh `up`; the overhead at most
1.10x. Timings belong here, never in the tests.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sandbox.probes import http_status  # noqa: E402
from tests.support.cockroach import SandboxHome  # noqa: E402
from tests.support.pg_stack import stack_problem, write_stack  # noqa: E402


def run(box: SandboxHome, *args: str) -> subprocess.CompletedProcess[str]:
    done = box.run(*args, timeout=900)
    if done.returncode != 0:
        sys.exit(f"sandbox {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done


def timed(step: Callable[[], object]) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def health_urls(box: SandboxHome) -> list[str]:
    env = json.loads(run(box, "env", "--format", "json").stdout)
    keys = ("HYDRA_ADMIN_URL", "KRATOS_PUBLIC_URL", "KETO_READ_REMOTE", "KRATOS_UI_URL")
    return [f"{env[k]}/health/alive" for k in keys if k in env]


def wait_answering(urls: list[str], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    for url in urls:
        while http_status(url, timeout=2) != 200:
            if time.monotonic() > deadline:
                sys.exit(f"{url} did not answer within {timeout:.0f}s")
            time.sleep(0.2)


def raw_compose(box: SandboxHome, urls: list[str]) -> float:
    """`docker compose up -d` of the rendered project, to every server answering."""
    project = box.home / ".sandbox" / "compose" / "compose.yaml"
    argv = ["docker", "compose", "-f", str(project), "-p", box.project]
    subprocess.run([*argv, "down", "--volumes"], capture_output=True, check=True)
    start = time.perf_counter()
    subprocess.run([*argv, "up", "-d", "--quiet-pull"], capture_output=True, check=True)
    wait_answering(urls)
    elapsed = time.perf_counter() - start
    subprocess.run([*argv, "down", "--volumes"], capture_output=True, check=True)
    return elapsed


def line(label: str, values: list[float], unit: str = "s") -> float:
    median = statistics.median(values)
    print(
        f"  {label:<44} median {median:7.2f} {unit}  (min {min(values):.2f}, max {max(values):.2f})"
    )
    return median


def verdict(value: float, goal: float) -> str:
    return "met" if value <= goal else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-raw", action="store_true", help="no raw Compose comparison")
    args = parser.parse_args()
    problem = stack_problem()
    if problem:
        sys.exit(f"cannot benchmark: {problem}")
    with tempfile.TemporaryDirectory(prefix="bench-up-") as tmp:
        box = write_stack(Path(tmp) / "home", "bench-up")
        fresh, restored, ci, ready, raw, sizes, saves = [], [], [], [], [], [], []
        try:
            run(box, "up")  # warm-up: the PostgreSQL image `up` builds, caches
            run(box, "snapshot", "save", "bench")
            urls = health_urls(box)
            for _ in range(args.runs):
                run(box, "down", "--volumes")
                start = time.perf_counter()
                run(box, "up")
                ready.append(time.perf_counter() - start)
                run(box, "verify")
                fresh.append(time.perf_counter() - start)
                info = json.loads(run(box, "snapshot", "save", "bench", "--output", "json").stdout)
                sizes.append(info["bytes"] / 1e6)
                saves.append(info["save_seconds"])
                run(box, "down", "--volumes")
                restored.append(
                    timed(lambda: (run(box, "up", "--from-snapshot", "bench"), run(box, "verify")))
                )
                ci.append(
                    timed(
                        lambda: (
                            run(box, "down", "--volumes"),
                            run(box, "up", "--from-snapshot", "bench"),
                            run(box, "verify"),
                        )
                    )
                )
                if not args.skip_raw:
                    run(box, "down", "--volumes")
                    raw.append(raw_compose(box, urls))
        finally:
            box.down()
    print(f"up on the PostgreSQL engine, real servers (see the docstring): {args.runs} runs")
    base = line("up from nothing, to a passing verify", fresh)
    snap = line("up --from-snapshot, to a passing verify", restored)
    line("down --volumes + up --from-snapshot + verify", ci)
    line("snapshot archive size", sizes, "MB")
    line("snapshot save time (stack stopped)", saves)
    ratio = snap / base
    print(f"  from-snapshot / fresh: {ratio:.2f}x (goal at most 0.30x: {verdict(ratio, 0.3)})")
    if raw:
        up_ready = line("sandbox up, to every server answering", ready)
        raw_ready = line("raw docker compose up -d, to the same", raw)
        overhead = up_ready / raw_ready
        print(
            f"  sandbox / raw Compose: {overhead:.2f}x "
            f"(goal at most 1.10x: {verdict(overhead, 1.1)})"
        )


if __name__ == "__main__":
    main()
