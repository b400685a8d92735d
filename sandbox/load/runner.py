"""A whole run: one or more worker processes, their flushes folded into one report.

With one process the workers run in this process's event loop. With more, each process runs
`engine.run_shard` under its own event loop and sends its flushes through a queue; a barrier
makes them start on the same clock reading. Reporters (progress line, metrics) are called with
every completed second, whichever way it was produced.
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Callable
from typing import Any

from sandbox.errors import SandboxError
from sandbox.load.engine import Plan, clock, new_loop_policy, run_shard
from sandbox.load.report import Aggregator, Report, RunInfo, Second, build_report
from sandbox.load.workloads import OPS

OnSecond = Callable[[Second, Aggregator], None]
START_MARGIN_S = 0.05


def ops_of(plan: Plan) -> dict[str, Any]:
    return {op.name: op for svc in plan.services for op in OPS[svc]}


class _Seconds:
    """Calls `on_second` for a second once every process has flushed it."""

    def __init__(self, agg: Aggregator, processes: int, on_second: OnSecond | None) -> None:
        self.agg = agg
        self.processes = processes
        self.on_second = on_second
        self.seen: dict[int, int] = {}

    def add(self, second: int, tallies: dict[str, Any]) -> None:
        row = self.agg.add_tick(second, tallies)
        self.seen[second] = self.seen.get(second, 0) + 1
        if self.seen[second] == self.processes and row.by_service and self.on_second:
            self.on_second(row, self.agg)


def _shard_main(plan: Plan, shard: int, barrier: Any, out: Any) -> None:
    """Entry point of a worker process: wait for the others, run, send everything back."""
    new_loop_policy(plan.loop)
    try:
        barrier.wait(timeout=60)
        start = clock() + START_MARGIN_S
        result = asyncio.run(
            run_shard(plan, shard, start, lambda s, t: out.put(("tick", shard, s, t)))
        )
        out.put(("done", shard, result, start))
    except BaseException as exc:  # reported by the parent, one line
        out.put(("error", shard, f"{type(exc).__name__}: {exc}", None))


def run(plan: Plan, on_second: OnSecond | None = None) -> Report:
    agg = Aggregator(ops_of(plan))
    seconds = _Seconds(agg, plan.processes, on_second)
    results: list[dict[str, Any]] = []
    starts: list[float] = []
    if plan.processes == 1:
        new_loop_policy(plan.loop)
        start = clock() + START_MARGIN_S
        results.append(asyncio.run(run_shard(plan, 0, start, seconds.add)))
        starts.append(start)
    else:
        _run_processes(plan, seconds, results, starts)
    return _report(plan, agg, results, min(starts))


def _run_processes(
    plan: Plan, seconds: _Seconds, results: list[dict[str, Any]], starts: list[float]
) -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    barrier = ctx.Barrier(plan.processes)
    procs = [
        ctx.Process(target=_shard_main, args=(plan, i, barrier, out), daemon=True)
        for i in range(plan.processes)
    ]
    for p in procs:
        p.start()
    deadline = clock() + 90 + plan.warmup_s + plan.duration_s + 3 * plan.timeout_s
    done, errors = 0, []
    try:
        while done < plan.processes:
            try:
                kind, shard, payload, start = out.get(timeout=1)
            except queue.Empty:
                if clock() > deadline or not any(p.is_alive() for p in procs):
                    raise SandboxError("load: a worker process stopped without a result") from None
                continue
            if kind == "tick":
                seconds.add(payload, start)
            elif kind == "done":
                done += 1
                results.append(payload)
                starts.append(start)
            else:
                done += 1
                errors.append(f"process {shard}: {payload}")
    finally:
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
    if errors:
        raise SandboxError("load: " + "; ".join(errors))


def _report(plan: Plan, agg: Aggregator, results: list[dict[str, Any]], start: float) -> Report:
    warmup_end = start + plan.warmup_s
    last = max((r["last_done"] for r in results), default=0.0)
    measured = max(last, warmup_end + plan.duration_s) - warmup_end
    created: dict[str, int] = {}
    removed: dict[str, int] | None = None
    for r in results:
        for k, v in r["created"].items():
            created[k] = created.get(k, 0) + v
        if r["removed"] is not None:
            removed = removed or {}
            for k, v in r["removed"].items():
                removed[k] = removed.get(k, 0) + v
    info = RunInfo(
        run_id=plan.run_id,
        workload="all" if len(plan.services) > 1 else plan.services[0],
        mode=plan.mode,
        concurrency=plan.concurrency,
        rate=plan.rate,
        processes=plan.processes,
        duration_s=plan.duration_s,
        warmup_s=plan.warmup_s,
        measured_s=measured,
        read_ratio=plan.read_ratio,
        deny_share=plan.deny_share,
        hydra_token=plan.hydra_token,
        max_error_rate=plan.max_error_rate,
    )
    cpu = sum(r["cpu_s"] for r in results)
    window = sum(max(r["window_s"], 1e-9) for r in results)
    generator = {
        "processes": plan.processes,
        "cpu_s": round(cpu, 3),
        "busy": round(cpu / window, 3),
    }
    return build_report(info, agg, created, removed, generator=generator)
