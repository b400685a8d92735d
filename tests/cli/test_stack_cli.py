"""Stack commands that need no running stack: env formats, targets, missing or unreachable
Docker, missing images, `status` exit codes, Ctrl-C during `up`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.cli.stack import status_exit_code
from sandbox.config.settings import Settings
from sandbox.model.topology import Topology
from sandbox.plan.status import Status
from sandbox.runtime.base import ServiceStatus
from sandbox.runtime.compose_docker import missing_images_message, unreachable_message
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


class _InterruptedDriver:
    """Stands in for a driver whose `up` is interrupted half-way through a stage."""

    target = "compose"

    def __init__(self, ctx: object) -> None:
        self.status_lines: Status = ctx.status  # type: ignore[attr-defined]

    def up(self, options: object) -> None:
        with self.status_lines.step("pre-flight"):
            pass
        with self.status_lines.step("nodes started"):
            raise KeyboardInterrupt

    def status(self) -> list[ServiceStatus]:
        return [
            ServiceStatus("crdb-1", "running"),
            ServiceStatus("crdb-2", "running"),
            ServiceStatus("crdb-init", "missing"),
        ]


def test_ctrl_c_during_up_prints_what_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sandbox.runtime as drivers
    from sandbox.cli import main

    monkeypatch.setattr(drivers, "get_driver", lambda target, ctx: _InterruptedDriver(ctx))
    monkeypatch.setattr(sys, "argv", ["sandbox", "--state-dir", str(tmp_path / "s"), "up"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 130
    lines = capsys.readouterr().err.splitlines()
    assert lines[-2].startswith("✗ nodes started (")
    assert lines[-1] == (
        "error: interrupted during 'nodes started'; left running: crdb-1, crdb-2; "
        "`sandbox up` resumes, `sandbox down` removes it all"
    )


def test_status_exit_codes() -> None:
    healthy = [
        ServiceStatus("crdb-1", "running", "healthy"),
        ServiceStatus("crdb", "running", ""),
        ServiceStatus("crdb-init", "exited", "completed"),
    ]
    assert status_exit_code(healthy) == 0
    exited = [*healthy[1:], ServiceStatus("crdb-1", "exited", "unhealthy")]
    assert status_exit_code(exited) == 1
    starting = [*healthy[1:], ServiceStatus("crdb-1", "running", "starting")]
    assert status_exit_code(starting) == 1
    failed = [*healthy[:2], ServiceStatus("crdb-init", "exited", "failed (1)")]
    assert status_exit_code(failed) == 1
    partly = [*healthy[:2], ServiceStatus("crdb-init", "missing")]
    assert status_exit_code(partly) == 1
    assert status_exit_code([ServiceStatus("crdb-1", "missing")] * 3) == 3


def test_unreachable_docker_asks_once() -> None:
    docker_cli = (
        "Cannot connect to the Docker daemon at unix:///tmp/nope.sock. "
        "Is the docker daemon running?"
    )
    assert unreachable_message(docker_cli + "\n") == f"Docker is not reachable: {docker_cli}"
    other = "permission denied while trying to connect to the Docker daemon socket"
    assert unreachable_message(other) == (
        f"Docker is not reachable: {other} (is the Docker engine running?)"
    )


def test_missing_images_are_all_named_with_their_settings() -> None:
    topology = Topology(Settings())
    message = missing_images_message(
        topology,
        ["cockroachdb/cockroach:v25.4.11", "oryd/hydra:v26.2.0", "oryd/keto:v26.2.0"],
        "no route to registry",
    )
    assert message == (
        "3 images are not on this machine and cannot be pulled (no route to registry): "
        "cockroachdb/cockroach:v25.4.11, oryd/hydra:v26.2.0, oryd/keto:v26.2.0; "
        "`docker load` them or set images.cockroach, images.hydra, images.keto"
    )
