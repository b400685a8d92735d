"""Stack lifecycle commands: `up` (more arrive as targets are built)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from sandbox.cli.context import AppContext


class Target(StrEnum):
    compose = "compose"
    kind = "kind"
    aws = "aws"


def up(
    ctx: typer.Context,
    target: Annotated[
        Target, typer.Option("--target", "-t", help="Where to run the stack.")
    ] = Target.compose,
) -> None:
    """Create certificates and start the stack."""
    from sandbox.errors import SandboxError
    from sandbox.pki.store import ensure_pki

    app_ctx: AppContext = ctx.obj
    topology = app_ctx.topology()
    app_ctx.state().create()
    ensure_pki(topology, app_ctx.cert_layout())
    raise SandboxError(
        f"target {target.value!r} is not built yet: certificates are ready in "
        f"{app_ctx.cert_layout().root}"
    )


def register(app: typer.Typer) -> None:
    app.command("up")(up)
