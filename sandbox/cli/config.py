"""`sandbox config show`: the effective settings after file and environment are applied."""

from __future__ import annotations

import typer

from sandbox.cli.context import AppContext, Output
from sandbox.cli.output import OutputOption, emit_json, info

app = typer.Typer(help="Inspect the sandbox's settings.", no_args_is_help=True)


@app.command("show")
def show(
    ctx: typer.Context,
    output: OutputOption = Output.table,
) -> None:
    """Print the effective settings (secrets masked) and where they came from."""
    app_ctx: AppContext = ctx.obj
    settings = app_ctx.settings()
    data = settings.model_dump(mode="json", by_alias=True)
    if output is Output.json:
        emit_json(data)
        return
    import yaml

    info(f"# settings from {app_ctx.config_file or 'embedded defaults'} and SANDBOX_* variables")
    typer.echo(yaml.safe_dump(data, sort_keys=False).rstrip())
