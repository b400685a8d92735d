"""`sandbox wait`: block until every service of the current target is healthy.

For CI jobs that start the stack in one step and test in another. It reads the same rows as
`sandbox status` and judges each with `ServiceStatus.problem`; exit 0 when all are healthy, 1 with
the unhealthy ones named when the timeout passes.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

from sandbox.cli.context import AppContext, Output
from sandbox.cli.output import OutputOption
from sandbox.cli.stack import TargetOption

if TYPE_CHECKING:
    from sandbox.runtime.base import ServiceStatus


def unhealthy(rows: list[ServiceStatus]) -> dict[str, str]:
    """{service: reason} for every service that is not healthy; empty when there are no rows."""
    if not rows:
        return {"(no services)": "the target reports none"}
    return {r.name: why for r in rows if (why := r.problem()) is not None}


def wait(
    ctx: typer.Context,
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=0, help="Seconds to wait; 0 checks once."),
    ] = 300.0,
    output: OutputOption = Output.table,
    target: TargetOption = None,
) -> None:
    """Wait until every service is healthy: exit 0, or 1 naming the unhealthy ones."""
    from sandbox.cli.output import emit_json, info
    from sandbox.cli.stack import _driver, _target
    from sandbox.plan.wait import Deadline, poll_until

    app_ctx: AppContext = ctx.obj
    chosen = _target(app_ctx, target)
    driver = _driver(app_ctx, chosen, quiet=True)
    interval = app_ctx.settings().timeouts.poll_interval
    start = time.monotonic()
    rows: list[ServiceStatus] = []

    def check() -> dict[str, str]:
        rows[:] = driver.status()
        return unhealthy(rows)

    bad = poll_until(check, Deadline.after(timeout, start), interval)
    waited = time.monotonic() - start
    if output is Output.json:
        emit_json(
            {
                "target": chosen,
                "healthy": not bad,
                "waited_s": round(waited, 1),
                "unhealthy": bad,
                "services": [vars(r) for r in rows],
            }
        )
    if bad:
        named = ", ".join(f"{name} ({why})" for name, why in bad.items())
        within = f" within {timeout:g}s" if timeout else ""
        info(f"error: not healthy{within}: {named}")
        raise typer.Exit(1)
    if output is Output.table:
        info(f"all {len(rows)} services healthy ({chosen}, {waited:.1f}s)")
