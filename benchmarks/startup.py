"""Start-up time of the CLI: `sandbox --help` and `sandbox config show`, median of N runs.

python benchmarks/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def median_seconds(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    base = [sys.executable, "-m", "sandbox"]
    bare = median_seconds([sys.executable, "-c", "pass"], args.runs)
    help_ = median_seconds([*base, "--help"], args.runs)
    show = median_seconds([*base, "config", "show", "-o", "json"], args.runs)
    print(f"python -c pass:       median {bare * 1000:6.0f} ms")
    print(f"sandbox --help:       median {help_ * 1000:6.0f} ms ({help_ / bare:.1f}x bare Python)")
    print(f"sandbox config show:  median {show * 1000:6.0f} ms ({show / bare:.1f}x bare Python)")


if __name__ == "__main__":
    main()
