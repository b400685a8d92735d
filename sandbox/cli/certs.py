"""`sandbox certs create|list`: the PKI that CockroachDB and the Ory services trust."""

from __future__ import annotations

from typing import Annotated

import typer

from sandbox.cli.context import AppContext, Output
from sandbox.cli.output import OutputOption, emit_json, info, table, warn

app = typer.Typer(
    help="Create and inspect the sandbox's CA, node and client certificates.", no_args_is_help=True
)


@app.command("create")
def create(
    ctx: typer.Context,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Re-issue every node and client certificate (the CA is kept)."
        ),
    ] = False,
    rotate_ca: Annotated[
        bool,
        typer.Option("--rotate-ca", help="Replace the CA itself; invalidates every certificate."),
    ] = False,
    output: OutputOption = Output.table,
) -> None:
    """Create the CA and the certificates, keeping whatever is still valid."""
    from sandbox.pki.store import ensure_pki

    app_ctx: AppContext = ctx.obj
    topology = app_ctx.topology()
    app_ctx.state().create()
    if rotate_ca:
        warn(
            "replacing the CA: running nodes and clients that trust the old CA will fail "
            "until they get the new certificates"
        )
    report = ensure_pki(topology, app_ctx.cert_layout(), force=force, rotate_ca=rotate_ca)
    for line in report.warnings:
        warn(line)
    if output is Output.json:
        emit_json(report.as_dict())
        return
    info(f"certificates in {app_ctx.cert_layout().root}")
    info(f"  created: {', '.join(report.created) or 'nothing'}")
    info(f"  kept:    {', '.join(report.kept) or 'nothing'}")
    info(f"  CA SHA-256 fingerprint: {report.ca_fingerprint}")


@app.command("list")
def list_(
    ctx: typer.Context,
    output: OutputOption = Output.table,
) -> None:
    """Show every certificate: subject, SANs, expiry, and what no longer fits the settings."""
    from sandbox.pki.store import list_pki

    app_ctx: AppContext = ctx.obj
    infos = list_pki(app_ctx.topology(), app_ctx.cert_layout())
    if output is Output.json:
        emit_json([vars(i) | {"ok": i.ok} for i in infos])
    else:
        rows = [
            (
                i.role,
                i.name,
                i.subject,
                i.not_after[:10],
                i.days_left,
                ", ".join(i.sans) if len(i.sans) <= 3 else f"{len(i.sans)} names",
                "ok" if i.ok else "; ".join(i.problems),
            )
            for i in infos
        ]
        typer.echo(table(["ROLE", "NAME", "SUBJECT", "NOT AFTER", "DAYS", "SANS", "STATUS"], rows))
    for i in infos:
        for problem in i.problems:
            warn(f"{i.role} {i.name}: {problem}")
    if any(not i.ok for i in infos):
        raise typer.Exit(1)
