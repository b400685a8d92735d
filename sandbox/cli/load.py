"""`sandbox load`: the CockroachDB + Ory integration guide's load simulator, with numbers a
performance engineer can trust.

Endpoints are found as `sandbox verify` finds them: the sandbox's state, then the integration
guide's variables, then flags. Exit 0 only with no wrong answer and an error rate within
`--max-error-rate`.
"""

from __future__ import annotations

import json
import os
import re
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sandbox.cli.context import AppContext, Output
from sandbox.cli.endpoint_flags import with_endpoint_flags
from sandbox.model.catalog import CATALOG

if TYPE_CHECKING:
    from sandbox.load.engine import Plan
    from sandbox.load.report import Aggregator, Second

URL_KEYS_BY_SERVICE = {c.name: tuple(p.url_var for p in c.ports) for c in CATALOG}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


class Workload(StrEnum):
    hydra = "hydra"
    kratos = "kratos"
    keto = "keto"
    all = "all"


class TokenStrategy(StrEnum):
    opaque = "opaque"
    jwt = "jwt"


class HttpClient(StrEnum):
    wire = "wire"
    aiohttp = "aiohttp"


class Loop(StrEnum):
    uvloop = "uvloop"
    asyncio = "asyncio"


def parse_duration(value: str, flag: str) -> float:
    """`90`, `90s`, `1.5m`, `500ms` -> seconds; anything else is bad input naming the flag."""
    from sandbox.errors import BadInput

    m = _DURATION.match(value.strip())
    if not m:
        raise BadInput(f"{flag}: {value!r} is not a duration (examples: 30s, 2m, 500ms)")
    return float(m.group(1)) * _UNIT[m.group(2)]


def _preflight(plan: Plan, timeout: float) -> None:
    """Fail in seconds, on one line, when a service the workload needs does not answer."""
    import httpx

    from sandbox.errors import SandboxError

    with httpx.Client(timeout=min(timeout, 3.0)) as http:
        for svc in plan.services:
            for key in URL_KEYS_BY_SERVICE[svc]:
                url = plan.urls[key].rstrip("/") + "/health/alive"
                try:
                    http.get(url)
                except httpx.HTTPError as exc:
                    raise SandboxError(
                        f"{key}={plan.urls[key]} does not answer ({type(exc).__name__}): is the "
                        "stack up? Point load at it with the state directory, the integration "
                        "guide's variables or flags"
                    ) from None


def _progress(row: Second, agg: Aggregator) -> None:
    from sandbox.load.text import progress_line

    line = progress_line(row)
    if sys.stderr.isatty():
        sys.stderr.write("\r\x1b[2K" + line)
    else:
        sys.stderr.write(line + "\n")
    sys.stderr.flush()


@with_endpoint_flags
def load(
    ctx: typer.Context,
    endpoints: dict[str, str | None],
    workload: Annotated[
        Workload, typer.Argument(help="hydra, kratos, keto, or all three at once.")
    ] = Workload.all,
    duration: Annotated[
        str, typer.Option("--duration", help="Measured time, after the warm-up (30s, 2m).")
    ] = "60s",
    warmup: Annotated[
        str, typer.Option("--warmup", help="Time first, run but counted apart.")
    ] = "5s",
    read_ratio: Annotated[
        int,
        typer.Option("--read-ratio", min=0, help="Reads per write."),
    ] = 100,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency",
            min=1,
            help="Workers in a closed loop; with --rate, the most requests in flight.",
        ),
    ] = 16,
    rate: Annotated[
        float | None,
        typer.Option(
            "--rate",
            min=0.001,
            help="Open loop: requests per second on a fixed timetable; latency from the due time.",
        ),
    ] = None,
    deny_share: Annotated[
        float,
        typer.Option(
            "--deny-share", min=0.0, max=1.0, help="keto: share of checks that must be denied."
        ),
    ] = 0.1,
    hydra_token: Annotated[
        TokenStrategy, typer.Option("--hydra-token", help="Access token strategy per client.")
    ] = TokenStrategy.opaque,
    processes: Annotated[
        int, typer.Option("--processes", min=1, help="Worker processes (one event loop each).")
    ] = 1,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="Seconds per request.")
    ] = 10.0,
    max_error_rate: Annotated[
        float,
        typer.Option(
            "--max-error-rate", min=0.0, max=1.0, help="Highest error share that still passes."
        ),
    ] = 0.0,
    output: Annotated[Output, typer.Option("--output", "-o", help="table or json.")] = Output.table,
    report_file: Annotated[
        Path | None,
        typer.Option("--report", dir_okay=False, help="Also write the JSON report to this file."),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option("--metrics-port", min=1, max=65535, help="Prometheus metrics on 127.0.0.1."),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", dir_okay=False, help="PNG of throughput and latency over time."),
    ] = None,
    cleanup: Annotated[
        bool, typer.Option("--cleanup", help="Remove what the run created (kept by default).")
    ] = False,
    loop: Annotated[Loop, typer.Option("--loop", help="Event loop.")] = Loop.uvloop,
    client: Annotated[
        HttpClient, typer.Option("--client", help="HTTP client: the lean default or aiohttp.")
    ] = HttpClient.wire,
) -> None:
    """Concurrent writes and checked reads against Hydra, Kratos and Keto; exit 0 only when
    no answer was wrong and the error rate stayed within --max-error-rate."""
    from sandbox.checks.run import new_run_id
    from sandbox.cli.output import emit_json, info, warn
    from sandbox.cli.verify import resolve_targets
    from sandbox.errors import BadInput
    from sandbox.load.engine import Plan
    from sandbox.load.runner import run
    from sandbox.load.text import render

    app_ctx: AppContext = ctx.obj
    services = ("hydra", "kratos", "keto") if workload is Workload.all else (workload.value,)
    if concurrency < processes * len(services):
        raise BadInput(
            f"--concurrency: {concurrency} is fewer than one worker per service and process "
            f"({processes} x {len(services)})"
        )
    if plot is not None:
        from sandbox.plotting import require_matplotlib

        require_matplotlib()
    targets = resolve_targets(app_ctx, os.environ, endpoints)
    plan = Plan(
        run_id=new_run_id(),
        services=services,
        urls={k: v for k, v in targets.urls.items()},
        duration_s=parse_duration(duration, "--duration"),
        warmup_s=parse_duration(warmup, "--warmup"),
        concurrency=concurrency,
        rate=rate,
        read_ratio=read_ratio,
        deny_share=deny_share,
        hydra_token=hydra_token.value,
        timeout_s=timeout,
        processes=processes,
        cleanup=cleanup,
        loop=loop.value,
        client=client.value,
        max_error_rate=max_error_rate,
    )
    if plan.duration_s <= 0:
        raise BadInput("--duration: must be more than 0")
    _preflight(plan, timeout)
    exporter = None
    if metrics_port is not None:
        from sandbox.load.metrics import Exporter, describe

        try:
            exporter = Exporter(plan.run_id, metrics_port)
        except OSError as exc:
            raise BadInput(
                f"--metrics-port: cannot listen on 127.0.0.1:{metrics_port}: {exc.strerror}"
            ) from None
        info(describe(exporter))
    info(
        f"load {workload.value} (run {plan.run_id}): {plan.mode} loop, "
        f"{plan.warmup_s:g}s warm-up + {plan.duration_s:g}s"
    )

    def on_second(row: Second, agg: Aggregator) -> None:
        _progress(row, agg)
        if exporter is not None:
            exporter.on_second(row, agg)

    try:
        report = run(plan, on_second)
    finally:
        if exporter is not None:
            exporter.close()
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    if report.generator_bound():
        warn(
            f"the generator was {report.generator['busy']:.0%} busy per process: it may have "
            "limited these numbers; add --processes"
        )
    if plot is not None:
        from sandbox.load.plot import write_plot

        write_plot(report, plot)
        info(f"plot written to {plot}")
    document = {**report.as_dict(), "targets": targets.public(), "sources": targets.sources}
    if report_file is not None:
        report_file.write_text(json.dumps(document, indent=2) + "\n")
    if output is Output.json:
        emit_json(document)
    else:
        typer.echo(render(report))
    raise typer.Exit(report.exit_code)
