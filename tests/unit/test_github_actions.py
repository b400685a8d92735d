"""GitHub Actions files: `$GITHUB_ENV` lines, the step summary's path, `up --export github`."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.ci import github
from tests.support.cli import run_sandbox


def test_env_lines_are_name_equals_value() -> None:
    text = github.env_lines({"HYDRA_ADMIN_URL": "http://127.0.0.1:4445", "A": "b=c"})
    assert text == "HYDRA_ADMIN_URL=http://127.0.0.1:4445\nA=b=c\n"
    with pytest.raises(ValueError, match="X: a value for \\$GITHUB_ENV must be one line"):
        github.env_lines({"X": "two\nlines"})


def test_summary_only_inside_github_actions(tmp_path: Path) -> None:
    path = str(tmp_path / "summary.md")
    assert github.summary_path({"GITHUB_STEP_SUMMARY": path}) is None
    assert github.summary_path({"GITHUB_ACTIONS": "true"}) is None
    inside = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": path}
    assert github.summary_path(inside) == Path(path)


def test_append_keeps_what_earlier_steps_wrote(tmp_path: Path) -> None:
    path = tmp_path / "env"
    path.write_text("EARLIER=1\n")
    github.append(path, "LATER=2\n")
    assert path.read_text() == "EARLIER=1\nLATER=2\n"


def test_up_export_github_outside_actions_is_bad_input_before_anything(tmp_path: Path) -> None:
    args = ("--state-dir", str(tmp_path / "state"), "up", "--export", "github")
    done = run_sandbox(tmp_path, *args, env={"GITHUB_ENV": ""})  # even when run on Actions
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: --export github: GITHUB_ENV is not set (not a GitHub Actions step)"
    ]
    assert not (tmp_path / "state").exists(), "nothing was created"
