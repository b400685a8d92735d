"""Stack commands that need no running stack: env formats, targets, missing Docker."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.support.cli import run_sandbox


def run(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_sandbox(tmp_path, "--state-dir", str(tmp_path / "s"), *args, env=env)


def test_env_formats(tmp_path: Path) -> None:
    as_json = json.loads(run(tmp_path, "env", "--format", "json").stdout)
    assert as_json["HYDRA_ADMIN_URL"] == "http://127.0.0.1:4445"
    assert as_json["KETO_READ_REMOTE"] == "http://127.0.0.1:4466"
    assert as_json["KRATOS_DATABASE_URL"].startswith("postgresql://ory@localhost:26257/kratos?")
    assert "sslmode=verify-full" in as_json["KRATOS_DATABASE_URL"]
    shell = run(tmp_path, "env").stdout
    assert "export KRATOS_PUBLIC_URL=http://127.0.0.1:4433\n" in shell
    github = run(tmp_path, "env", "--format", "github").stdout.splitlines()
    assert "HYDRA_PUBLIC_URL=http://127.0.0.1:4444" in github
    assert all("=" in line and not line.startswith("export") for line in github)


def test_env_password_only_when_asked(tmp_path: Path) -> None:
    without = run(tmp_path, "env", "--format", "json").stdout
    assert "ory:" not in without
    shown = json.loads(run(tmp_path, "env", "--format", "json", "--show-password").stdout)
    password = (tmp_path / "s" / "secrets" / "ory-db-password").read_text().strip()
    assert f"postgresql://ory:{password}@localhost" in shown["HYDRA_DATABASE_URL"]
    assert password not in run(tmp_path, "env").stdout


def test_env_follows_settings(tmp_path: Path) -> None:
    out = run(tmp_path, "env", "-f", "dotenv", env={"SANDBOX_PORTS__HYDRA_ADMIN": "14445"})
    assert "HYDRA_ADMIN_URL=http://127.0.0.1:14445" in out.stdout.splitlines()


def test_unknown_target_is_bad_input(tmp_path: Path) -> None:
    out = run(tmp_path, "up", "--target", "nomad")
    assert out.returncode == 2
    assert "nomad" in out.stderr
    assert not (tmp_path / "s").exists()


def test_missing_docker_cli_is_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    out = run(tmp_path, "up", env={"PATH": str(empty)})
    assert out.returncode == 1
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: Docker is not available: docker: command not found"]
    assert "Traceback" not in out.stderr


def test_status_without_docker_fails_cleanly(tmp_path: Path) -> None:
    out = run(tmp_path, "status", env={"PATH": str(tmp_path)})
    assert out.returncode == 1 and "Traceback" not in out.stderr


def test_logs_without_sandbox(tmp_path: Path) -> None:
    out = run(tmp_path, "logs")
    assert out.returncode == 1
    assert "no Compose sandbox" in out.stderr


def test_render_compose_layout(tmp_path: Path) -> None:
    out = run(tmp_path, "render", "--target", "compose", "--out", str(tmp_path / "r"))
    assert out.returncode == 0, out.stderr
    files = {str(p.relative_to(tmp_path / "r")) for p in (tmp_path / "r").rglob("*") if p.is_file()}
    assert {
        "compose.yaml",
        "haproxy.cfg",
        "ory/hydra.yaml",
        "ory/kratos.yaml",
        "ory/keto.yaml",
        "ory/identity.default.schema.json",
        "secrets/hydra.env",
        ".gitignore",
        "certs/nodes/crdb-1/node.key",
        "certs/ca/ca.crt",
    } <= files
    assert "certs/ca/ca.key" not in files
    assert (tmp_path / "r" / "secrets" / "bootstrap.env").stat().st_mode & 0o777 == 0o600


def test_up_json_dry_run_reports_without_status(tmp_path: Path) -> None:
    out = run(tmp_path, "up", "--target", "kind", "--dry-run", "--output", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"target": "kind", "dry_run": True, "services": []}
    assert not (tmp_path / "s" / "target").exists(), "a dry run is not remembered"
