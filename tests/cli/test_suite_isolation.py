"""The suite itself: no test sees the settings of whoever runs it (tests/conftest.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.cli import sandbox_env

REPO = Path(__file__).resolve().parents[2]


def test_tests_ignore_a_sandbox_yaml_and_variables_of_the_caller(tmp_path: Path) -> None:
    """Run settings-reading tests from a folder with a hostile sandbox.yaml and SANDBOX_*
    variables: they pass, because tests/conftest.py isolates every test."""
    (tmp_path / "sandbox.yaml").write_text("ports:\n  hydra_admin: 1111\n")
    env = sandbox_env({"SANDBOX_PORTS__SQL": "2222", "SANDBOX_PROJECT": "hostile"})
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--rootdir={REPO}",
            str(REPO / "tests" / "unit" / "test_checks_cli.py"),
            str(REPO / "tests" / "unit" / "test_settings.py"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert " passed" in done.stdout and "failed" not in done.stdout
