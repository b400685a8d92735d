"""What a new user and a fault-injection run found in the command line, one test per defect."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sandbox.cli.stack import status_exit_code
from sandbox.config.settings import Settings
from sandbox.config.topology import Topology
from sandbox.drivers.base import ServiceStatus
from sandbox.drivers.compose import missing_images_message, unreachable_message
from sandbox.pipeline.status import Status
from tests.support.cli import run_sandbox

REPO = Path(__file__).resolve().parents[2]


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_sandbox(tmp_path, "--state-dir", str(tmp_path / "s"), *args)


# ---- defect 4: an unusable state directory is bad input --------------------------------------


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


# ---- defect 5: Ctrl-C says what was left and what to do --------------------------------------


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
    import sandbox.drivers as drivers
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


# ---- defect 6: status exit codes a script can use ---------------------------------------------


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


# ---- defect 9: the engine question is asked once ---------------------------------------------


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


# ---- defect 11: every missing image in one line -----------------------------------------------


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


# ---- help texts -------------------------------------------------------------------------------


def test_no_arguments_shows_help_and_exits_0(tmp_path: Path) -> None:
    out = run_sandbox(tmp_path)
    assert out.returncode == 0
    assert out.stdout.startswith("Usage: ") and "[OPTIONS] COMMAND [ARGS]..." in out.stdout
    assert "Commands:" in out.stdout and out.stderr == ""


def test_top_level_summaries_are_whole(tmp_path: Path) -> None:
    out = run_sandbox(tmp_path, "--help").stdout
    commands = out.split("Commands:")[1].splitlines()
    assert [line for line in commands if line.rstrip().endswith("...")] == []
    listed = " ".join(" ".join(commands).split())
    for summary in (
        "up Create certificates, start the stack and wait until every service is healthy.",
        "render Write every file of a target (without starting anything) into a folder.",
        "sql Open `cockroach sql` inside a node with the right client certificate.",
    ):
        assert summary in listed


def _options_without_help() -> list[str]:
    import typer.main

    from sandbox.cli import app

    missing = []

    def walk(command: Any, path: list[str]) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])
        for param in getattr(command, "params", []):
            is_option = param.param_type_name == "option"
            if is_option and "--help" not in param.opts and not (param.help or "").strip():
                missing.append(f"{' '.join(path)} {param.opts[0]}")

    walk(typer.main.get_command(app), ["sandbox"])
    return missing


def test_every_option_has_a_help_text() -> None:
    assert _options_without_help() == []


@pytest.mark.parametrize(
    ("command", "option", "text"),
    [
        ("down", "--dry-run", "Print what would be removed; remove nothing."),
        ("logs", "--follow", "Keep printing new lines until Ctrl-C."),
        ("logs", "--tail", "Only the last N lines of each service (default: all)."),
        ("sql", "--user", "root (admin) or ory (the services' user); its client certificate."),
        ("env", "--format", "shell (export lines), dotenv, github (for $GITHUB_ENV) or json."),
    ],
)
def test_named_options_explain_themselves(
    tmp_path: Path, command: str, option: str, text: str
) -> None:
    out = run_sandbox(tmp_path, command, "--help", env={"COLUMNS": "250"}).stdout
    assert option in out and text in " ".join(out.split())


def test_up_target_help_does_not_contradict_itself(tmp_path: Path) -> None:
    out = " ".join(run_sandbox(tmp_path, "up", "--help").stdout.split())
    target = out.split("--target")[1].split("--timeout")[0]
    assert target.count("default") == 1, target
    assert "default: the target of the running sandbox, else compose" in target


# ---- defect 10: no test sees the caller's settings --------------------------------------------


def test_tests_ignore_a_sandbox_yaml_and_variables_of_the_caller(tmp_path: Path) -> None:
    """Run settings-reading tests from a folder with a hostile sandbox.yaml and SANDBOX_*
    variables: they pass, because tests/conftest.py isolates every test."""
    (tmp_path / "sandbox.yaml").write_text("ports:\n  hydra_admin: 1111\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
    env.update(SANDBOX_PORTS__SQL="2222", SANDBOX_PROJECT="hostile")
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
