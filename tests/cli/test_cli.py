"""The `sandbox` entry point as users run it: real subprocesses, exit codes, stdout/stderr."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import run_sandbox


def run(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_sandbox(tmp_path, "--state-dir", str(tmp_path / "state"), *args, env=env)


def test_certs_create_twice_keeps_the_ca(tmp_path: Path) -> None:
    first = run(tmp_path, "certs", "create", "--output", "json")
    assert first.returncode == 0, first.stderr
    second = run(tmp_path, "certs", "create", "--output", "json")
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    assert a["ca_fingerprint"] == b["ca_fingerprint"]
    assert len(a["created"]) == 6 and b["created"] == []


def test_certs_list_json_parses_and_flags_drift(tmp_path: Path) -> None:
    assert run(tmp_path, "certs", "create").returncode == 0
    listed = run(tmp_path, "certs", "list", "--output", "json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [r["name"] for r in rows] == ["ca", "crdb-1", "crdb-2", "crdb-3", "root", "ory"]
    assert all(r["ok"] and r["days_left"] > 1000 for r in rows)
    assert "crdb.iam-sandbox.svc.cluster.local" in rows[1]["sans"]
    drift = run(tmp_path, "certs", "list", env={"SANDBOX_KUBERNETES__NAMESPACE": "elsewhere"})
    assert drift.returncode == 1
    assert "missing SANs: crdb-1-0.crdb-internal.elsewhere" in drift.stderr


def test_rotate_ca_warns(tmp_path: Path) -> None:
    assert run(tmp_path, "certs", "create").returncode == 0
    rotated = run(tmp_path, "certs", "create", "--rotate-ca")
    assert rotated.returncode == 0
    assert "warning: replacing the CA" in rotated.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ports:\n  sql: [1\n", "sandbox.yaml: line"),
        ("ports:\n  sql: many\n", "sandbox.yaml: ports.sql:"),
        ("zones: [a]\n", "sandbox.yaml: zones:"),
        ("colour: blue\n", "sandbox.yaml: colour: unknown setting"),
    ],
)
def test_bad_file_is_one_line_exit_2_and_touches_nothing(
    tmp_path: Path, text: str, expected: str
) -> None:
    (tmp_path / "sandbox.yaml").write_text(text)
    out = run(tmp_path, "certs", "create")
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0]
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "state").exists()


def test_config_flag_and_env(tmp_path: Path) -> None:
    cfg = tmp_path / "custom.yaml"
    cfg.write_text("project: from-file\n")
    shown = run(
        tmp_path,
        "--config",
        str(cfg),
        "config",
        "show",
        "-o",
        "json",
        env={"SANDBOX_PORTS__SQL": "36257"},
    )
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert (data["project"], data["ports"]["sql"]) == ("from-file", 36257)
    missing = run(tmp_path, "--config", str(tmp_path / "nope.yaml"), "config", "show")
    assert missing.returncode == 2


def test_license_key_never_printed(tmp_path: Path) -> None:
    shown = run(
        tmp_path, "config", "show", env={"SANDBOX_COCKROACH__LICENSE_KEY": "crl-0-TOPSECRET"}
    )
    assert shown.returncode == 0
    assert "TOPSECRET" not in shown.stdout + shown.stderr


def test_unknown_option_is_usage_error(tmp_path: Path) -> None:
    out = run(tmp_path, "certs", "create", "--output", "xml")
    assert out.returncode == 2


def test_debug_shows_traceback(tmp_path: Path) -> None:
    (tmp_path / "sandbox.yaml").write_text("ports: 3\n")
    out = run(tmp_path, "--debug", "config", "show")
    assert out.returncode == 2 and "Traceback" in out.stderr


def test_state_dir_that_cannot_be_created_is_bad_input(tmp_path: Path) -> None:
    out = run_sandbox(tmp_path, "--state-dir", "/proc/x", "up")
    assert out.returncode == 2
    assert out.stderr.splitlines() == [
        "error: /proc/x: cannot create or write this directory (No such file or directory)"
    ]


def test_state_dir_under_a_file_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("not a folder")
    out = run_sandbox(tmp_path, "--state-dir", str(tmp_path / "plain" / "s"), "certs", "create")
    assert out.returncode == 2
    assert out.stderr.splitlines() == [
        f"error: {tmp_path}/plain/s: cannot create or write this directory (Not a directory)"
    ]
