"""Stack commands: up, down, status, env, logs, sql, render. Each parses, calls a driver, prints.

The target a sandbox was brought up on is remembered in its state directory, so `down`,
`status`, `logs` and `sql` find it without `--target`.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sandbox.cli.context import AppContext, Output
from sandbox.cli.output import emit_json, table

if TYPE_CHECKING:
    from sandbox.drivers.base import Driver


class Target(StrEnum):
    compose = "compose"
    kind = "kind"
    aws = "aws"


class EnvFormat(StrEnum):
    shell = "shell"
    dotenv = "dotenv"
    github = "github"
    json = "json"


TARGET_FILE = "target"
TargetOption = Annotated[
    Target | None,
    typer.Option(
        "--target",
        "-t",
        help="compose (default), kind or aws; default: the target the sandbox was brought up on.",
    ),
]
OutputOption = Annotated[Output, typer.Option("--output", "-o", help="table or json.")]


def _target(app_ctx: AppContext, target: Target | None) -> str:
    if target is not None:
        return target.value
    remembered = app_ctx.state().root / TARGET_FILE
    if remembered.is_file():
        return remembered.read_text().strip() or Target.compose.value
    return Target.compose.value


def _driver(app_ctx: AppContext, target: str, quiet: bool = False) -> Driver:
    from sandbox.drivers import get_driver
    from sandbox.drivers.base import DriverContext
    from sandbox.pipeline.status import Status

    topology = app_ctx.topology()
    return get_driver(target, DriverContext(topology, app_ctx.state(), Status(quiet=quiet)))


def up(
    ctx: typer.Context,
    target: TargetOption = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout", min=1, help="Seconds to wait for the whole stack (default: timeouts.up)."
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Print the commands and write the artifacts without changing anything.",
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Confirm (needed for aws).")] = False,
    output: OutputOption = Output.table,
) -> None:
    """Create certificates, start the stack and wait until every service is healthy."""
    from sandbox.drivers.base import UpOptions
    from sandbox.state import write_atomic

    app_ctx: AppContext = ctx.obj
    chosen = _target(app_ctx, target)
    driver = _driver(app_ctx, chosen)
    app_ctx.state().create()
    driver.up(UpOptions(timeout=timeout, dry_run=dry_run, yes=yes))
    if not dry_run:
        write_atomic(app_ctx.state().root / TARGET_FILE, chosen.encode(), 0o600)
    if output is Output.json:
        services = [] if dry_run else [vars(s) for s in driver.status()]
        emit_json({"target": chosen, "dry_run": dry_run, "services": services})


def down(
    ctx: typer.Context,
    target: TargetOption = None,
    volumes: Annotated[
        bool, typer.Option("--volumes", "-v", help="Also delete the data volumes.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Confirm (needed for aws).")] = False,
) -> None:
    """Remove everything the sandbox started. Safe to run twice."""
    from sandbox.drivers.base import DownOptions

    app_ctx: AppContext = ctx.obj
    _driver(app_ctx, _target(app_ctx, target)).down(
        DownOptions(volumes=volumes, dry_run=dry_run, yes=yes)
    )
    if not dry_run:  # nothing runs any more: the next `up` starts from the default target
        (app_ctx.state().root / TARGET_FILE).unlink(missing_ok=True)


def status(
    ctx: typer.Context, target: TargetOption = None, output: OutputOption = Output.table
) -> None:
    """Each service: state, health, zone and endpoint."""
    app_ctx: AppContext = ctx.obj
    rows = _driver(app_ctx, _target(app_ctx, target), quiet=True).status()
    if output is Output.json:
        emit_json([vars(r) for r in rows])
        return
    typer.echo(
        table(
            ["SERVICE", "STATE", "HEALTH", "ZONE", "ENDPOINT"],
            [(r.name, r.state, r.health, r.zone, r.endpoint) for r in rows],
        )
    )


def env(
    ctx: typer.Context,
    fmt: Annotated[EnvFormat, typer.Option("--format", "-f")] = EnvFormat.shell,
    show_password: Annotated[
        bool,
        typer.Option("--show-password", help="Put the ory user's password into the database URLs."),
    ] = False,
) -> None:
    """The seeds' variables (HYDRA_ADMIN_URL, ...) and the database URLs of this sandbox."""
    import shlex

    from sandbox.endpoints import host_endpoints
    from sandbox.state import ory_secrets

    app_ctx: AppContext = ctx.obj
    password = ory_secrets(app_ctx.state()).db_password if show_password else None
    values = host_endpoints(app_ctx.topology(), app_ctx.cert_layout(), password).as_env(
        with_password=show_password
    )
    if fmt is EnvFormat.json:
        emit_json(values)
        return
    for name, value in values.items():
        if fmt is EnvFormat.shell:
            typer.echo(f"export {name}={shlex.quote(value)}")
        else:  # dotenv and $GITHUB_ENV share NAME=value lines
            typer.echo(f"{name}={value}")


def logs(
    ctx: typer.Context,
    service: Annotated[str | None, typer.Argument(help="One service; default: all.")] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f")] = False,
    tail: Annotated[int | None, typer.Option("--tail", min=0)] = None,
    target: TargetOption = None,
) -> None:
    """Show the logs of the stack or of one service."""
    app_ctx: AppContext = ctx.obj
    _driver(app_ctx, _target(app_ctx, target)).logs(service, follow, tail)


class SqlUser(StrEnum):
    root = "root"
    ory = "ory"


def sql(
    ctx: typer.Context,
    user: Annotated[SqlUser, typer.Option("--user", "-u")] = SqlUser.root,
    execute: Annotated[
        str | None, typer.Option("--execute", "-e", help="Run one statement and exit.")
    ] = None,
    target: TargetOption = None,
) -> None:
    """Open `cockroach sql` inside a node with the right client certificate."""
    app_ctx: AppContext = ctx.obj
    code = _driver(app_ctx, _target(app_ctx, target)).sql(user.value, execute)
    raise typer.Exit(code)


def render(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Folder to write into.", file_okay=False)],
    target: Annotated[Target, typer.Option("--target", "-t")] = Target.compose,
) -> None:
    """Write every file of a target (without starting anything) into a folder."""
    app_ctx: AppContext = ctx.obj
    written = _driver(app_ctx, target.value).render(out)
    for path in written:
        typer.echo(str(path))


def register(app: typer.Typer) -> None:
    for command in (up, down, status, env, logs, sql, render):
        app.command(command.__name__)(command)
