"""The pytest fixture's overhead over a bare `sandbox up` + `sandbox down --volumes`.

    python benchmarks/fixture.py [--runs N]

Both sides bring the same stand-in stack up (images from scripts/prepare-docker.sh, since no
registry is reachable here) and remove it with its volumes. The fixture side is a whole pytest
session in a subprocess with one test that asks for `iam_sandbox` (pytest start-up, the reuse
probe, `sandbox env`, the teardown); the bare side is the two commands. Runs alternate; prints
the median wall time of each, the difference (also as the median of each run's pair, which
a busy machine disturbs less) and the ratio fixture/bare.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.cli import sandbox_argv, sandbox_env  # noqa: E402
from tests.support.docker import STANDIN_IMAGES, engine_problem, standin_ports  # noqa: E402
from tests.support.ports import free_base  # noqa: E402

TEST = """
def test_uses_the_sandbox(iam_sandbox):
    assert iam_sandbox.hydra_admin_url
"""


def run(home: Path, argv: list[str]) -> float:
    env = sandbox_env(drop=("SANDBOX_", "PYTEST_"))
    start = time.perf_counter()
    subprocess.run(argv, cwd=home, env=env, check=True, capture_output=True, timeout=600)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    problem = engine_problem()
    if problem:
        sys.exit(f"cannot benchmark: {problem}")
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        settings = {
            "project": f"fixture-bench-{os.getpid()}",
            "images": STANDIN_IMAGES,
            "ports": standin_ports(free_base()),
            "timeouts": {"poll_interval": 0.5},
        }
        (home / "sandbox.yaml").write_text(yaml.safe_dump(settings))
        (home / "test_bench.py").write_text(TEST)
        bare, fixture = [], []
        try:
            for i in range(args.runs):
                bare.append(
                    run(home, sandbox_argv("up")) + run(home, sandbox_argv("down", "--volumes"))
                )
                fixture.append(run(home, [py, "-m", "pytest", "-q", "-p", "sandbox.pytest"]))
                print(f"run {i + 1}: bare {bare[-1]:.2f}s, fixture {fixture[-1]:.2f}s", flush=True)
        finally:
            run(home, sandbox_argv("down", "--volumes"))
    b, f = statistics.median(bare), statistics.median(fixture)
    print(f"bare `sandbox up` + `down --volumes`: median {b:.2f}s over {args.runs} runs")
    print(f"pytest session with iam_sandbox:     median {f:.2f}s over {args.runs} runs")
    paired = statistics.median(x - y for x, y in zip(fixture, bare, strict=True))
    print(f"overhead {f - b:+.2f}s (median of the paired differences {paired:+.2f}s)")
    print(f"ratio fixture/bare {f / b:.2f}")


if __name__ == "__main__":
    main()
