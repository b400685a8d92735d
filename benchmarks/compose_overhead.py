"""The sandbox's own overhead on `up` and `down`, against raw Docker Compose on the same file.

    python benchmarks/compose_overhead.py [--runs N]

Both sides start the same rendered project (stand-in images from scripts/prepare-docker.sh,
since no registry is reachable here) and count as "up" only when every Ory service answers
/health/ready: raw Compose gets the same host-side readiness poll the sandbox does. Prints the
median wall time of each and the ratio sandbox/raw.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sandbox.probes import http_status  # noqa: E402
from tests.support.cli import run_sandbox  # noqa: E402
from tests.support.docker import STANDIN_IMAGES, engine_problem, standin_ports  # noqa: E402
from tests.support.ports import free_base  # noqa: E402

PORTS = standin_ports(free_base())
ORY_PORTS = [int(v) for k, v in PORTS.items() if k.startswith(("hydra", "kratos", "keto"))]


def sandbox(home: Path, *args: str) -> None:
    run_sandbox(home, *args, timeout=600).check_returncode()


def wait_ready(timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while any(http_status("127.0.0.1", p, "/health/ready") != 200 for p in ORY_PORTS):
        if time.monotonic() > deadline:
            raise RuntimeError("services did not become ready")
        time.sleep(0.2)


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    problem = engine_problem()
    if problem:
        sys.exit(f"cannot benchmark: {problem}")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        (home / "sandbox.yaml").write_text(
            yaml.safe_dump(
                {
                    "project": "sbx-bench",
                    "images": STANDIN_IMAGES,
                    "ports": PORTS,
                    "timeouts": {"poll_interval": 0.2},
                }
            )
        )
        sandbox(home, "render", "--out", str(home / "raw"))
        compose = ["docker", "compose", "-f", str(home / "raw" / "compose.yaml")]
        results: dict[str, list[float]] = {
            "sandbox up": [],
            "sandbox down": [],
            "compose up": [],
            "compose down": [],
        }
        for _ in range(args.runs):
            results["sandbox up"].append(timed(lambda: sandbox(home, "up")))
            results["sandbox down"].append(timed(lambda: sandbox(home, "down", "--volumes")))
            results["compose up"].append(
                timed(
                    lambda: (
                        subprocess.run([*compose, "up", "-d"], check=True, capture_output=True),
                        wait_ready(),
                    )
                )
            )
            results["compose down"].append(
                timed(
                    lambda: subprocess.run(
                        [*compose, "down", "-v"], check=True, capture_output=True
                    )
                )
            )
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"{args.runs} runs each, stand-in images, ready = every Ory /health/ready answers 200")
    for key, value in med.items():
        print(f"  {key:13s} median {value:6.2f} s")
    print(f"  up:   sandbox/raw ratio {med['sandbox up'] / med['compose up']:.2f}")
    print(f"  down: sandbox/raw ratio {med['sandbox down'] / med['compose down']:.2f}")


if __name__ == "__main__":
    main()
