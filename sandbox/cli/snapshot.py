"""`sandbox snapshot`: save a migrated stack, print the key a CI cache needs, list what is kept.

`up --from-snapshot NAME|PATH` restores one (see `sandbox.runtime.compose_snapshot`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sandbox.cli.context import AppContext, Output
from sandbox.cli.output import OutputOption, emit_json

if TYPE_CHECKING:
    from sandbox.runtime.compose import ComposeDriver

SUFFIX = ".tar.zst"
"""A snapshot archive's file name ending (`sandbox.runtime.compose_snapshot.SUFFIX`)."""

app = typer.Typer(
    help="Snapshots of a migrated stack: `up --from-snapshot` starts from one in seconds.",
    no_args_is_help=True,
)


def _compose_driver(app_ctx: AppContext, quiet: bool = False) -> ComposeDriver:
    from sandbox.cli.stack import _driver, _target
    from sandbox.errors import BadInput
    from sandbox.runtime.compose import ComposeDriver

    chosen = _target(app_ctx, None)
    if chosen != "compose":
        raise BadInput(f"snapshots are for the Compose target; this sandbox runs on {chosen}")
    driver = _driver(app_ctx, chosen, quiet=quiet)
    assert isinstance(driver, ComposeDriver)
    return driver


def snapshot_path(app_ctx: AppContext, target: str, name: str | None, force: bool) -> Path | None:
    """The archive `--from-snapshot` names (refused off Compose, or missing), before anything
    starts."""
    from sandbox.errors import BadInput

    if name is None:
        if force:
            raise BadInput("--force: only with --from-snapshot")
        return None
    if target != "compose":
        raise BadInput(f"--from-snapshot: snapshots are for the Compose target, not {target}")
    folder = app_ctx.state().root / "snapshots"
    path = Path(name) if ("/" in name or name.endswith(SUFFIX)) else folder / f"{name}{SUFFIX}"
    if not path.is_file():
        raise BadInput(f"--from-snapshot: no snapshot {path} (`sandbox snapshot list`)")
    return path


@app.command("save")
def save(
    ctx: typer.Context,
    name: Annotated[
        str | None,
        typer.Argument(help="The snapshot's name (default: its key)."),
    ] = None,
    output: OutputOption = Output.table,
) -> None:
    """Stop the healthy stack, save its database volumes, certificates and secrets as one
    compressed archive under the state directory, and start the stack again."""
    from sandbox import STARTED
    from sandbox.cli.stack import status_exit_code
    from sandbox.errors import EXIT_OK, SandboxError
    from sandbox.runtime import compose_snapshot
    from sandbox.runtime.base import UpOptions
    from sandbox.runtime.snapshot_key import key_inputs, snapshot_key

    app_ctx: AppContext = ctx.obj
    driver = _compose_driver(app_ctx)
    if status_exit_code(driver.status()) != EXIT_OK:
        raise SandboxError("the stack is not up and healthy: `sandbox up` first, then save")
    chosen = name or snapshot_key(key_inputs(driver.topology))
    path = compose_snapshot.snapshots_dir(driver) / f"{chosen}{compose_snapshot.SUFFIX}"
    with driver.ctx.status.step(f"snapshot {chosen} saved"):
        saved = compose_snapshot.save(driver, path)
    driver.up(UpOptions(started=STARTED))
    summary = {
        "name": chosen,
        "path": str(saved.path.resolve()),
        "key": saved.key,
        "bytes": saved.size,
        "save_seconds": round(saved.seconds, 2),
    }
    if output is Output.json:
        emit_json(summary)
    else:
        typer.echo(
            f"saved {saved.path} ({saved.size / 1e6:.1f} MB, key {saved.key}, "
            f"{saved.seconds:.1f}s with the stack stopped)"
        )


@app.command("key")
def key(ctx: typer.Context) -> None:
    """Print the key of the snapshot these settings would take or accept: a CI cache key."""
    from sandbox.runtime.snapshot_key import key_inputs, snapshot_key

    app_ctx: AppContext = ctx.obj
    typer.echo(snapshot_key(key_inputs(app_ctx.topology())))


@app.command("list")
def list_(ctx: typer.Context, output: OutputOption = Output.table) -> None:
    """The snapshots in the state directory: name, key, size, age, and whether they match."""
    import time

    from sandbox.errors import BadInput
    from sandbox.runtime import compose_snapshot
    from sandbox.runtime.snapshot_archive import read_manifest
    from sandbox.runtime.snapshot_key import key_inputs, snapshot_key

    app_ctx: AppContext = ctx.obj
    folder = app_ctx.state().root / "snapshots"
    current = snapshot_key(key_inputs(app_ctx.topology()))
    rows: list[dict[str, object]] = []
    for path in sorted(folder.glob(f"*{compose_snapshot.SUFFIX}")):
        try:
            manifest = read_manifest(path)
        except BadInput as exc:
            rows.append({"name": path.name, "problem": exc.message})
            continue
        rows.append(
            {
                "name": path.name.removesuffix(compose_snapshot.SUFFIX),
                "key": manifest.key,
                "bytes": path.stat().st_size,
                "age_days": round((time.time() - manifest.created) / 86400, 2),
                "matches": manifest.key == current,
            }
        )
    if output is Output.json:
        emit_json(rows)
        return
    if not rows:
        typer.echo(f"no snapshot in {folder}")
    for row in rows:
        if "problem" in row:
            typer.echo(f"{row['name']}: {row['problem']}")
            continue
        match = "matches" if row["matches"] else "other settings"
        typer.echo(
            f"{row['name']}  key {row['key']}  {float(str(row['bytes'])) / 1e6:.1f} MB  "
            f"{row['age_days']} days old  ({match})"
        )
