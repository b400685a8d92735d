"""`sandbox` help as users read it: the bare command, `--help` of the app and of each command,
a help text for every option, and help that imports nothing heavy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_sandbox


def test_help_lists_commands(tmp_path: Path) -> None:
    out = run_sandbox(tmp_path, "--help")
    assert out.returncode == 0
    for command in ("up", "certs", "config"):
        assert command in out.stdout


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
        "sql Open the engine's SQL shell inside a node with the right client certificate.",
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
        (
            "sql",
            "--user",
            "root (the engine's superuser: root on CockroachDB, postgres on PostgreSQL) or "
            "ory (the services' user); its client certificate.",
        ),
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


def test_help_imports_nothing_heavy(tmp_path: Path) -> None:
    """`sandbox --help` stays fast by importing no settings, crypto, Docker or HTTP library."""
    probe = (
        "import sys\n"
        "sys.argv = ['sandbox', '--help']\n"
        "from sandbox.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ['pydantic', 'cryptography', 'python_on_whales', 'httpx', 'psycopg', 'yaml',"
        " 'rich']\n"
        "print('HEAVY=' + ','.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert "Commands:" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "HEAVY="


def test_env_names_the_integration_guide_not_the_seeds(tmp_path: Path) -> None:
    # "the seeds" meant nothing to a user: the variables come from the CockroachDB + Ory
    # integration guide, and the help and the README say so.
    out = run_sandbox(tmp_path, "--help").stdout
    listed = " ".join(out.split())
    assert "env The integration guide's variables (HYDRA_ADMIN_URL, ...)" in listed
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert [word for word in ("seeds", "the seed's") if word in readme.lower()] == []
    assert "It follows the CockroachDB + Ory integration guide" in readme
