"""`sandbox chaos zone` through the real entry point: bad input is one line, exit 2, and
nothing is touched; without a sandbox it says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import run_sandbox


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["us-east-1x"],
            "error: ZONE: unknown zone 'us-east-1x' (choose from us-east-1a, "
            "us-east-1b, us-east-1c)",
        ),
        (
            ["--outage", "20s", "--duration", "21s"],
            "error: --duration (21s) must be longer than "
            "--outage (20s) by at least 2s, to leave time before the fault and after the restore",
        ),
        (
            ["--workload", "keto"],
            "error: --workload: unknown workload 'keto' (choose from sql, ory)",
        ),
        (
            ["--target", "aws"],
            "error: aws: a zone drill evicts every pod from this sandbox's EKS "
            "nodes in one zone of cluster iam-sandbox: re-run with --yes",
        ),
        (
            ["--target", "aws", "--yes", "--mode", "pause"],
            "error: --mode pause: not available on "
            "aws (the sandbox cannot freeze or cut off an EC2 instance); use stop or kill",
        ),
        (
            ["--target", "k8s"],
            "error: --target k8s: zone drills run on compose, kind, aws only "
            "(on a cluster the sandbox does not own, the zone's nodes are not its to take down)",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], line: str) -> None:
    done = run_sandbox(tmp_path, "chaos", "zone", *args)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [line]
    assert done.stdout == ""
    assert not (tmp_path / ".sandbox").exists(), "nothing was created"


def test_without_a_sandbox_it_says_to_bring_one_up(tmp_path: Path) -> None:
    done = run_sandbox(tmp_path, "chaos", "zone")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: no sandbox in {Path('.sandbox')}: run `sandbox up` first"
    ]
