"""The `sandbox` command line: global options here, one module per command group.

Exit codes: 0 success, 1 failure, 2 bad input (settings, flags, environment).
Errors are one line on stderr; `--debug` adds the traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from sandbox import __version__
from sandbox.cli import certs, chaos, config, load, login, snapshot, stack, verify, wait
from sandbox.cli.context import AppContext


class _WholeSummaries(TyperGroup):
    """`sandbox --help` lists each command with its whole first sentence, never cut with ..."""

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


app = typer.Typer(
    cls=_WholeSummaries,
    name="sandbox",
    help="Ory Hydra, Kratos and Keto on a secure three-zone CockroachDB, on one machine.",
    invoke_without_command=True,  # `sandbox` alone prints the help and exits 0
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(certs.app, name="certs")
app.add_typer(config.app, name="config")
app.add_typer(chaos.app, name="chaos")
app.add_typer(snapshot.app, name="snapshot")
stack.register(app)
app.command("verify")(verify.verify)
app.command("wait")(wait.wait)
app.command("load")(load.load)
app.command("demo")(login.demo)
app.command("login")(login.login)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sandbox {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            envvar="SANDBOX_CONFIG",
            help="Settings file (default: ./sandbox.yaml when present).",
            dir_okay=False,
        ),
    ] = None,
    state_dir: Annotated[
        Path,
        typer.Option(
            "--state-dir",
            envvar="SANDBOX_STATE_DIR",
            help="Where this sandbox keeps its certificates, secrets and files.",
            file_okay=False,
        ),
    ] = Path(".sandbox"),
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    ctx.obj = AppContext(config=config_file, state_dir=state_dir, debug=debug)


def main() -> None:
    """Entry point: turn the sandbox's own errors into one line and an exit code."""
    from sandbox.errors import SandboxError

    debug = "--debug" in sys.argv or os.environ.get("SANDBOX_DEBUG") == "1"
    try:
        app()
    except SandboxError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        sys.stderr.write(f"error: {exc.message}\n")
        if exc.detail:
            sys.stderr.write(exc.detail.rstrip() + "\n")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        sys.exit(130)
    except Exception as exc:  # a bug: still one line, the traceback only with --debug
        if debug:
            raise
        sys.stderr.write(
            f"error: internal error: {type(exc).__name__}: {exc} "
            "(run with --debug for the traceback)\n"
        )
        sys.exit(1)
