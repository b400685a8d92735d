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
from sandbox.cli.output import OutputOption, emit_json, table
from sandbox.state import TARGET_FILE
from sandbox.targets import DEFAULT, NAMES, TargetChoice

if TYPE_CHECKING:
    from sandbox.plan.status import Status
    from sandbox.runtime.base import Driver, ServiceStatus


class EnvFormat(StrEnum):
    shell = "shell"
    dotenv = "dotenv"
    github = "github"
    json = "json"


TargetOption = Annotated[
    TargetChoice | None,
    typer.Option(
        "--target",
        "-t",
        help=f"{', '.join(NAMES)} (k8s: an existing cluster); default: the target of the "
        f"running sandbox, else {DEFAULT}.",
    ),
]
ContextOption = Annotated[
    str | None,
    typer.Option("--context", help="k8s: the kubeconfig context of the cluster (default: current)"),
]
KubeconfigOption = Annotated[
    Path | None,
    typer.Option("--kubeconfig", dir_okay=False, help="k8s: the kubeconfig file to use."),
]
WaitOption = Annotated[
    bool,
    typer.Option(
        "--wait/--no-wait",
        help="Kubernetes targets: --no-wait applies every object without waiting for pods, Jobs "
        "or rollouts (e.g. an API server without kubelets).",
    ),
]


def _target(app_ctx: AppContext, target: str | None) -> str:
    if target is not None:
        return target
    remembered = app_ctx.state().root / TARGET_FILE
    if remembered.is_file():
        return remembered.read_text().strip() or DEFAULT
    return DEFAULT


def _driver(
    app_ctx: AppContext, target: str, quiet: bool = False, status: Status | None = None
) -> Driver:
    from sandbox.plan.status import Status
    from sandbox.runtime import get_driver
    from sandbox.runtime.base import DriverContext

    topology = app_ctx.topology()
    status = status or Status(quiet=quiet)
    return get_driver(target, DriverContext(topology, app_ctx.state(), status))


def _interrupted(driver: Driver, status: Status) -> str:
    """The one line after Ctrl-C: where `up` stopped, what it left running, what to do."""
    failed = [s.name for s in status.steps if not s.ok]
    where = f" during '{failed[-1]}'" if failed else ""
    try:
        running = [r.name for r in driver.status() if r.state == "running"]
        left = f"left running: {', '.join(running)}" if running else "nothing was left running"
    except (Exception, KeyboardInterrupt):  # a second Ctrl-C or no engine: say so, still one line
        left = "what was started may still be running"
    return f"interrupted{where}; {left}; `sandbox up` resumes, `sandbox down` removes it all"


def _print_endpoints(app_ctx: AppContext) -> None:
    """After `up`: the variables `sandbox env` prints (no password) and each node's web
    endpoint (the engine's console or API)."""
    from sandbox.endpoints import host_endpoints

    topology = app_ctx.topology()
    values = host_endpoints(topology, app_ctx.cert_layout(), None).as_env()
    typer.echo("endpoints (`sandbox env` prints them as variables):")
    for name, value in values.items():
        typer.echo(f"  {name}={value}")
    for node in topology.nodes:
        url = f"https://localhost:{node.http_host_port}"
        typer.echo(f"  {topology.engine.console} {node.name} ({node.zone}): {url}")


class ExportTo(StrEnum):
    github = "github"


def _github_env() -> Path:
    import os

    from sandbox.ci.github import github_env_path

    return github_env_path(os.environ)


def _export_github(app_ctx: AppContext, path: Path) -> None:
    """The variables of `sandbox env --format github` (no password), appended to $GITHUB_ENV."""
    from sandbox.ci.github import append, env_lines
    from sandbox.endpoints import host_endpoints

    values = host_endpoints(app_ctx.topology(), app_ctx.cert_layout(), None).as_env()
    append(path, env_lines(values))


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
    kube_context: ContextOption = None,
    kubeconfig: KubeconfigOption = None,
    wait: WaitOption = True,
    public: Annotated[
        bool,
        typer.Option(
            "--public",
            help="aws: put Hydra, Kratos and Keto read on internet-facing NLBs (risky; needs "
            "--yes). Default: every API private, reached through port-forwards.",
        ),
    ] = False,
    export: Annotated[
        ExportTo | None,
        typer.Option(
            "--export",
            help="github: append the endpoint variables to $GITHUB_ENV, as `sandbox env "
            "--format github` prints them.",
        ),
    ] = None,
    from_snapshot: Annotated[
        str | None,
        typer.Option(
            "--from-snapshot",
            help="Compose: start from a saved snapshot (a name from `sandbox snapshot list`, "
            "or an archive's path): its data is already migrated.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="With --from-snapshot: replace existing data.")
    ] = False,
) -> None:
    """Create certificates, start the stack and wait until every service is healthy."""
    from sandbox import STARTED
    from sandbox.cli.snapshot import snapshot_path
    from sandbox.errors import Interrupted
    from sandbox.plan.status import Status
    from sandbox.runtime.base import UpOptions
    from sandbox.state import write_atomic

    app_ctx: AppContext = ctx.obj
    github_env = _github_env() if export is ExportTo.github else None  # checked before starting
    chosen = _target(app_ctx, target)
    if public and chosen != "aws":
        from sandbox.errors import BadInput

        raise BadInput(f"--public: only --target aws exposes APIs publicly, not {chosen}")
    snapshot = snapshot_path(app_ctx, chosen, from_snapshot, force)
    status = Status()
    driver = _driver(app_ctx, chosen, status=status)
    app_ctx.state().create()
    try:
        driver.up(
            UpOptions(
                timeout=timeout,
                started=STARTED,
                dry_run=dry_run,
                yes=yes,
                wait=wait,
                kube_context=kube_context,
                kubeconfig=kubeconfig,
                public=public,
                from_snapshot=snapshot,
                force=force,
            )
        )
    except KeyboardInterrupt:
        raise Interrupted(_interrupted(driver, status)) from None
    if not dry_run:
        write_atomic(app_ctx.state().root / TARGET_FILE, chosen.encode(), 0o600)
        if github_env is not None:
            _export_github(app_ctx, github_env)
    if output is Output.json:
        services = [] if dry_run else [vars(s) for s in driver.status()]
        emit_json({"target": chosen, "dry_run": dry_run, "services": services})
    elif not dry_run:
        _print_endpoints(app_ctx)


def down(
    ctx: typer.Context,
    target: TargetOption = None,
    volumes: Annotated[
        bool, typer.Option("--volumes", "-v", help="Also delete the data volumes.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be removed; remove nothing.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Confirm (needed for aws).")] = False,
    kube_context: ContextOption = None,
    kubeconfig: KubeconfigOption = None,
    wait: WaitOption = True,
) -> None:
    """Remove everything the sandbox started. Safe to run twice."""
    from sandbox.runtime.base import DownOptions

    app_ctx: AppContext = ctx.obj
    _driver(app_ctx, _target(app_ctx, target)).down(
        DownOptions(
            volumes=volumes,
            dry_run=dry_run,
            yes=yes,
            wait=wait,
            kube_context=kube_context,
            kubeconfig=kubeconfig,
        )
    )
    if not dry_run:  # nothing runs any more: the next `up` starts from the default target
        (app_ctx.state().root / TARGET_FILE).unlink(missing_ok=True)


def status_exit_code(rows: list[ServiceStatus]) -> int:
    """0: every service healthy (one-shots completed); 1: something is down; 3: no sandbox."""
    from sandbox.errors import EXIT_FAILURE, EXIT_NO_SANDBOX, EXIT_OK

    if all(r.state == "missing" for r in rows):
        return EXIT_NO_SANDBOX
    healthy = all(
        r.health == "completed" or (r.state == "running" and r.health in ("", "healthy"))
        for r in rows
    )
    return EXIT_OK if healthy else EXIT_FAILURE


def status(
    ctx: typer.Context, target: TargetOption = None, output: OutputOption = Output.table
) -> None:
    """Each service: state, health, zone and endpoint.

    Exit code 0 when every service is healthy, 1 when one is not, 3 when nothing exists.
    """
    app_ctx: AppContext = ctx.obj
    rows = _driver(app_ctx, _target(app_ctx, target), quiet=True).status()
    if output is Output.json:
        emit_json([vars(r) for r in rows])
    else:
        typer.echo(
            table(
                ["SERVICE", "STATE", "HEALTH", "ZONE", "ENDPOINT"],
                [(r.name, r.state, r.health, r.zone, r.endpoint) for r in rows],
            )
        )
    raise typer.Exit(status_exit_code(rows))


def env(
    ctx: typer.Context,
    fmt: Annotated[
        EnvFormat,
        typer.Option(
            "--format",
            "-f",
            help="shell (export lines), dotenv, github (for $GITHUB_ENV) or json.",
        ),
    ] = EnvFormat.shell,
    show_password: Annotated[
        bool,
        typer.Option("--show-password", help="Put the ory user's password into the database URLs."),
    ] = False,
) -> None:
    """The integration guide's variables (HYDRA_ADMIN_URL, ...) and this sandbox's database URLs."""
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
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines until Ctrl-C.")
    ] = False,
    tail: Annotated[
        int | None,
        typer.Option("--tail", min=0, help="Only the last N lines of each service (default: all)."),
    ] = None,
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
    user: Annotated[
        SqlUser,
        typer.Option(
            "--user",
            "-u",
            help="root (the engine's superuser: root on CockroachDB, postgres on PostgreSQL) or "
            "ory (the services' user); its client certificate.",
        ),
    ] = SqlUser.root,
    execute: Annotated[
        str | None, typer.Option("--execute", "-e", help="Run one statement and exit.")
    ] = None,
    target: TargetOption = None,
) -> None:
    """Open the engine's SQL shell inside a node with the right client certificate."""
    app_ctx: AppContext = ctx.obj
    code = _driver(app_ctx, _target(app_ctx, target)).sql(user.value, execute)
    raise typer.Exit(code)


def render(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Folder to write into.", file_okay=False)],
    target: Annotated[
        TargetChoice,
        typer.Option("--target", "-t", help=f"{', '.join(NAMES)}: whose files to write."),
    ] = DEFAULT,
) -> None:
    """Write every file of a target (without starting anything) into a folder."""
    app_ctx: AppContext = ctx.obj
    written = _driver(app_ctx, target).render(out)
    for path in written:
        typer.echo(str(path))


def register(app: typer.Typer) -> None:
    for command in (up, down, status, env, logs, sql, render):
        app.command(command.__name__)(command)
