"""`profiles:` through the real CLI: an unknown profile is one line naming the field, exit 2."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import run_sandbox


def test_an_unknown_profile_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "sandbox.yaml").write_text("profiles: [login, oathkeeper]\n")
    done = run_sandbox(tmp_path, "config", "show")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "profiles" in lines[0] and "'login'" in lines[0] and "oathkeeper" in lines[0]


def test_no_profile_leaves_the_ui_out_of_the_render(tmp_path: Path) -> None:
    (tmp_path / "sandbox.yaml").write_text("profiles: []\n")
    out = tmp_path / "out"
    done = run_sandbox(tmp_path, "render", "--target", "compose", "--out", str(out))
    assert done.returncode == 0, done.stderr
    text = (out / "compose.yaml").read_text()
    assert "kratos-selfservice-ui-node" not in text and "\n  hydra:\n" in text
