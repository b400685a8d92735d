"""`sandbox chaos zone`: take one zone down under load, restore it, and audit every write.

Parses and checks every flag first (bad input exits 2 with nothing touched), checks that the
cluster is healthy, then hands over to `sandbox.chaos.drill`. Progress goes to stderr; the
report to stdout as a table or JSON. Exit 0 only when nothing was lost and the cluster
recovered; 1 otherwise; 130 when interrupted (the zone is restored first).
"""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sandbox.cli.context import AppContext, Output
from sandbox.targets import with_chaos

if TYPE_CHECKING:
    from collections.abc import Callable

    from sandbox.chaos.cluster import SqlAccess
    from sandbox.chaos.drill import Workload
    from sandbox.chaos.faults import Mode
    from sandbox.chaos.report import DrillReport

app = typer.Typer(
    help="Fault drills: take a zone down under load and prove nothing was lost.",
    no_args_is_help=True,
)

DEFAULT_ZONE = "us-east-1b"
WORKLOADS = ("sql", "ory")


class ChaosMode(StrEnum):
    stop = "stop"
    kill = "kill"
    pause = "pause"
    # The member shadows str.partition, but `partition` is the mode's public name (CLI, tests).
    partition = "partition"  # type: ignore[assignment]


def parse_duration(text: str, option: str) -> float:
    """`20s`, `1.5m`, `500ms` or plain seconds -> seconds (as `sandbox load` reads them);
    bad input naming the option unless positive."""
    from sandbox.cli.load import parse_duration as parse
    from sandbox.errors import BadInput

    seconds = parse(text, option)
    if seconds <= 0:
        raise BadInput(f"{option}: {text!r} must be longer than zero")
    return seconds


def parse_workloads(text: str | None) -> tuple[list[str], bool]:
    """(workloads, explicit): default is sql, plus ory wherever real Ory answers."""
    from sandbox.errors import BadInput

    if text is None:
        return list(WORKLOADS), False
    chosen = [w.strip() for w in text.split(",") if w.strip()]
    unknown = [w for w in chosen if w not in WORKLOADS]
    if unknown or not chosen:
        raise BadInput(
            f"--workload: unknown workload {(unknown or [text])[0]!r} (choose from sql, ory)"
        )
    return list(dict.fromkeys(chosen)), True


@app.command("zone")
def zone(
    ctx: typer.Context,
    zone_name: Annotated[
        str, typer.Argument(metavar="ZONE", help="The zone to take down.")
    ] = DEFAULT_ZONE,
    outage: Annotated[str, typer.Option("--outage", help="How long the zone stays down.")] = "20s",
    duration: Annotated[
        str, typer.Option("--duration", help="The whole drill; half the rest comes before.")
    ] = "60s",
    mode: Annotated[
        ChaosMode,
        typer.Option(
            "--mode",
            help="stop (clean), kill (SIGKILL), pause (frozen) or partition (cut off).",
        ),
    ] = ChaosMode.kill,
    workload: Annotated[
        str | None,
        typer.Option(
            "--workload", help="sql, ory or sql,ory (default: sql, plus ory where it answers)."
        ),
    ] = None,
    output: Annotated[Output, typer.Option("--output", "-o", help="table or json.")] = Output.table,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Also draw the timeline into this PNG/SVG file.")
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            "--target", "-t", help=f"{', '.join(with_chaos())} (default: the running one)."
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Confirm (needed for aws).")] = False,
) -> None:
    """Take ZONE down under load (default us-east-1b), restore it, and audit every write."""
    from sandbox.chaos.faults import Mode
    from sandbox.chaos.targets import check_request
    from sandbox.cli.output import emit_json, info
    from sandbox.cli.stack import _target
    from sandbox.errors import BadInput
    from sandbox.targets import NAMES

    app_ctx: AppContext = ctx.obj
    outage_s = parse_duration(outage, "--outage")
    duration_s = parse_duration(duration, "--duration")
    if duration_s < outage_s + 2:
        raise BadInput(
            f"--duration ({duration}) must be longer than --outage ({outage}) by at least 2s, "
            "to leave time before the fault and after the restore"
        )
    chosen, explicit = parse_workloads(workload)
    if plot is not None:
        from sandbox.plotting import require_matplotlib

        require_matplotlib()
    topology = app_ctx.topology()
    zones = [n.zone for n in topology.nodes]
    if zone_name not in zones:
        raise BadInput(f"ZONE: unknown zone {zone_name!r} (choose from {', '.join(zones)})")
    if target is not None and target not in NAMES:
        raise BadInput(f"--target: unknown target {target!r}")
    chosen_target = _target(app_ctx, target)
    fault_mode = Mode(mode.value)
    check_request(chosen_target, fault_mode, yes, topology)

    report = _run(
        app_ctx, chosen_target, zone_name, fault_mode, outage_s, duration_s, chosen, explicit, info
    )
    if output is Output.json:
        emit_json(report.as_dict())
    else:
        from sandbox.chaos.report import render_table

        typer.echo(render_table(report))
    if plot is not None:
        from sandbox.chaos.plot import write_plot

        write_plot(report, plot)
        info(f"plot written to {plot}")
    raise typer.Exit(report.exit_code)


def _run(
    app_ctx: AppContext,
    target: str,
    zone_name: str,
    mode: Mode,
    outage: float,
    duration: float,
    workloads: list[str],
    explicit: bool,
    say: Callable[[str], None],
) -> DrillReport:
    import secrets
    import time

    from sandbox.chaos import cluster
    from sandbox.chaos.drill import Drill, DrillPlan
    from sandbox.chaos.engines import probe_for
    from sandbox.chaos.report import Failover
    from sandbox.chaos.targets import injector_for
    from sandbox.cli.stack import _driver
    from sandbox.errors import SandboxError
    from sandbox.exec import run
    from sandbox.model.topology import LOOPBACK

    topology = app_ctx.topology()
    superuser = topology.engine.superuser
    access = cluster.SqlAccess(
        LOOPBACK,
        topology.settings.ports.sql,
        app_ctx.cert_layout().client_dir(superuser),
        superuser,
        topology.engine.admin_database,
    )
    if not (access.certs / f"client.{superuser}.crt").is_file():
        raise SandboxError(f"no sandbox in {app_ctx.state().root}: run `sandbox up` first")
    probe = probe_for(topology)
    ok, why = cluster.wait_recovered(access, probe, len(topology.nodes), timeout=15)
    if not ok:
        raise SandboxError(f"the cluster is not healthy before the drill ({why}): nothing was done")
    run_id = time.strftime("%Y%m%d%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)
    load = _workloads(app_ctx, access, run_id, workloads, explicit, say)
    driver = _driver(app_ctx, target, quiet=True)
    injector, lb_times = injector_for(target, driver, mode, zone_name, run)
    notes = []
    try:
        notes.append(f"before the fault: {cluster.placement(access, probe)}")
        notes.append(f"zone {zone_name} is {cluster.zone_member(access, probe, zone_name)}")
    except Exception as exc:  # informative only: never stops a drill
        notes.append(f"placement not read ({type(exc).__name__})")
    say(f"drill {run_id}: zone {zone_name} ({injector.victim}), {mode.value}, {target}")
    plan = DrillPlan(
        run_id=run_id,
        target=target,
        zone=zone_name,
        mode=mode.value,
        outage=outage,
        duration=duration,
        recovery_timeout=topology.settings.timeouts.nodes_ready,
    )

    def recovery(timeout: float, on_change: Callable[[str], None]) -> tuple[bool, str]:
        nodes = len(topology.nodes)
        return cluster.wait_recovered(access, probe, nodes, timeout, on_change=on_change)

    drill = Drill(plan, injector, load, recovery, lb_times, say)
    drill.notes.extend(notes)
    report = drill.run()
    fault_at = drill.wall.get("fault")
    try:
        failover = None if fault_at is None else probe.failover(access, fault_at)
    except Exception as exc:  # informative only, like the placement notes
        failover = Failover(None, None, f"not measured ({type(exc).__name__})")
    return dataclasses.replace(report, failover=failover)


def _workloads(
    app_ctx: AppContext,
    access: SqlAccess,
    run_id: str,
    names: list[str],
    explicit: bool,
    say: Callable[[str], None],
) -> list[Workload]:
    from sandbox.chaos.ory_workload import OryUrls, OryWorkload
    from sandbox.chaos.sql_workload import SqlWorkload
    from sandbox.errors import SandboxError
    from sandbox.render.ory import public_urls

    out: list[Workload] = []
    if "sql" in names:
        out.append(SqlWorkload(access, run_id))
    if "ory" in names:
        urls = public_urls(app_ctx.topology())

        def query(database: str, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
            with access.connect(database, timeout=10) as conn:
                return list(conn.execute(sql, params).fetchall())

        ory = OryWorkload(
            OryUrls(urls["KETO_READ_REMOTE"], urls["KETO_WRITE_REMOTE"], urls["KRATOS_ADMIN_URL"]),
            query,
            run_id,
        )
        problem = ory.unavailable()
        if problem is None:
            out.append(ory)
        elif explicit:
            raise SandboxError(f"--workload ory: {problem}")
        else:
            say(f"ory workload skipped: {problem}")
    if not out:
        raise SandboxError("no workload can run: nothing would be measured")
    return out
