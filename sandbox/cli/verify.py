"""`sandbox verify`: prove Hydra, Kratos and Keto end to end, down to the rows in the database.

Where to look: embedded defaults < the sandbox's state directory < the environment variables of
the CockroachDB + Ory integration guide < flags. So it verifies this sandbox on any target, or
a stack deployed by hand.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sandbox.cli.context import AppContext, Output
from sandbox.cli.endpoint_flags import with_endpoint_flags

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rich.console import JustifyMethod

    from sandbox.checks.report import Report
    from sandbox.checks.targets import Targets

STATE_PASSWORD = "ory-db-password"


def _state_layer(app_ctx: AppContext) -> dict[str, str]:
    """The sandbox's endpoints, with the ory password, when its state directory exists."""
    from sandbox.endpoints import host_endpoints

    state = app_ctx.state()
    if not state.root.is_dir():
        return {}
    password = None
    if (state.secrets_dir / STATE_PASSWORD).is_file():
        from sandbox.state import ory_secrets

        password = ory_secrets(state).db_password
    endpoints = host_endpoints(app_ctx.topology(), app_ctx.cert_layout(), password)
    return endpoints.as_env(with_password=True)


def resolve_targets(
    app_ctx: AppContext, env: Mapping[str, str], flags: Mapping[str, str | None]
) -> Targets:
    from sandbox.checks.targets import ENV_KEYS, resolve
    from sandbox.errors import BadInput
    from sandbox.render.ory import public_urls

    layers: list[tuple[str, Mapping[str, str]]] = [
        ("defaults", public_urls(app_ctx.topology())),
        ("state", _state_layer(app_ctx)),
        ("env", {k: env[k] for k in ENV_KEYS if env.get(k)}),
        ("flag", {k: v for k, v in flags.items() if v}),
    ]
    try:
        return resolve(layers)
    except ValueError as exc:
        raise BadInput(str(exc)) from None


def _print_table(report: Report, targets: Targets) -> None:
    import sys

    from rich.console import Console
    from rich.table import Table

    # Wide enough for the check names and reasons when stdout is a CI log, not a terminal.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    style = {"pass": "green", "fail": "bold red", "skip": "yellow"}
    table = Table(title=f"sandbox verify (run {report.run_id})", title_justify="left")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("service", "left"),
        ("check", "left"),
        ("result", "left"),
        ("ms", "right"),
        ("detail", "left"),
    )
    for header, justify in columns:
        table.add_column(header, justify=justify)
    for c in report.checks:
        table.add_row(
            c.service,
            c.name,
            f"[{style[c.result.value]}]{c.result.value}[/]",
            f"{c.latency_ms:.0f}",
            c.reason or "",
        )
    console.print(table)
    statements = [c for c in report.checks if c.sql]
    if statements:
        console.print("\n[bold]SQL used[/] (run it in `cockroach sql` or psql to see the rows):")
        for c in statements:
            console.print(f"[dim]-- {c.name}[/]", markup=True)
            console.print(c.sql, markup=False, soft_wrap=True)
    by_service = ", ".join(f"{s} {ms:.0f} ms" for s, ms in report.latency_by_service().items())
    shown = ", ".join(
        f"{k}={v} ({targets.sources.get(k, '?')})" for k, v in targets.public().items()
    )
    console.print(f"\ntargets: {shown}", markup=False, soft_wrap=True)
    console.print(f"per service: {by_service}")
    colour = "green" if report.ok else "bold red"
    console.print(f"[{colour}]{report.summary()}[/]")


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")


def _write_junit(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _write_ci_reports(report: Report, junit: Path | None, env: Mapping[str, str]) -> None:
    """The JUnit file when asked for; the Markdown step summary when on GitHub Actions."""
    import socket

    from sandbox.checks.report import junit_xml, markdown_summary
    from sandbox.ci import github

    if junit is not None:
        _write_junit(junit, junit_xml(report, _now(), socket.gethostname()))
    summary = github.summary_path(env)
    if summary is not None:
        github.append(summary, markdown_summary(report))


@with_endpoint_flags
def verify(
    ctx: typer.Context,
    endpoints: dict[str, str | None],
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="postgresql:// or cockroach:// URL with sslmode=verify-full; its database name "
            "is replaced by hydra, kratos and keto (DATABASE_URL, or HYDRA_DATABASE_URL, ...).",
        ),
    ] = None,
    output: Annotated[Output, typer.Option("--output", "-o", help="table or json.")] = Output.table,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.5, help="Seconds per request or query.")
    ] = 30.0,
    junit: Annotated[
        Path | None,
        typer.Option(
            "--junit",
            help="Also write a JUnit XML report: one testcase per check, its SQL as system-out.",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Prove every service end to end, down to its rows in the database. Exit 0 only if all pass."""
    from sandbox.checks.report import Report, junit_xml
    from sandbox.checks.verify import verify as run_checks
    from sandbox.cli.output import emit_json
    from sandbox.errors import SandboxError

    app_ctx: AppContext = ctx.obj
    flags = {
        **endpoints,
        "DATABASE_URL": database_url,
    }
    targets = resolve_targets(app_ctx, os.environ, flags)
    try:
        report = run_checks(targets, timeout=timeout)
    except SandboxError as exc:  # nothing answers: the CI still gets a report saying so
        if junit is not None:
            _write_junit(junit, junit_xml(Report(run_id=""), _now(), error=exc.message))
        raise
    _write_ci_reports(report, junit, os.environ)
    if output is Output.json:
        emit_json({**report.as_dict(), "targets": targets.public(), "sources": targets.sources})
    else:
        _print_table(report, targets)
    raise typer.Exit(report.exit_code)
