"""One process's share of a run: asyncio workers, a recorder, and a flush every second.

Closed loop: each worker sends its next request when the last one answered. Open loop: the
workers of a service share one timetable (see `schedule`); latency runs from the due time.
Operations due before the warm-up ends are counted apart. Once a second the recorder's tallies
are handed to `emit` as plain data: the parent process folds them into the report.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.load.http import Client, Http
from sandbox.load.ops import HttpStatus, Op, WrongAnswer, classify
from sandbox.load.report import MEASURED, WARMUP
from sandbox.load.schedule import Mix, Timetable, is_late
from sandbox.load.stats import Tally
from sandbox.load.workloads import WORKLOADS, Workload

clock = time.monotonic
"""System-wide on Linux, so every process of a run reads the same clock."""


@dataclass(frozen=True)
class Plan:
    """Everything a worker process needs; plain data, so it can be sent to another process."""

    run_id: str
    services: tuple[str, ...]
    urls: dict[str, str]
    duration_s: float
    warmup_s: float = 0.0
    concurrency: int = 16
    rate: float | None = None
    read_ratio: int = 100
    deny_share: float = 0.1
    hydra_token: str = "opaque"
    timeout_s: float = 10.0
    processes: int = 1
    cleanup: bool = False
    loop: str = "uvloop"
    client: str = "wire"
    max_error_rate: float = 0.0

    @property
    def mode(self) -> str:
        return "closed" if self.rate is None else "open"

    def workers(self, shard: int) -> int:
        """This process's share of the workers (connections)."""
        base, extra = divmod(self.concurrency, self.processes)
        return base + (1 if shard < extra else 0)


@dataclass
class Recorder:
    warmup_end: float
    open_loop: bool
    tallies: dict[str, dict[str, Tally]] = field(default_factory=lambda: {WARMUP: {}, MEASURED: {}})
    last_done: float = 0.0

    now = staticmethod(clock)

    def _tally(self, op: Op, due: float) -> Tally:
        by_op = self.tallies[WARMUP if due < self.warmup_end else MEASURED]
        tally = by_op.get(op.name)
        if tally is None:
            tally = by_op[op.name] = Tally()
        return tally

    async def attempt(self, op: Op, due: float, call: Callable[[], Awaitable[bool]]) -> bool:
        """Run one operation and record how it ended; True when it got the right answer."""
        if self.open_loop and is_late(due, clock()):
            self._tally(op, due).late += 1
        try:
            await call()
        except WrongAnswer as exc:
            self._tally(op, due).record_wrong(self._done(due), str(exc))
            return False
        except HttpStatus as exc:
            self._tally(op, due).record_error(str(exc), self._done(due))
            return False
        except Exception as exc:
            kind = classify(exc)
            if kind is None:
                raise
            self._done(due)
            self._tally(op, due).record_error(kind)
            return False
        self._tally(op, due).record(self._done(due), positive=op.positive)
        return True

    def _done(self, due: float) -> float:
        now = clock()
        if due >= self.warmup_end:
            self.last_done = max(self.last_done, now)
        return now - due

    def flush(self) -> dict[str, dict[str, dict[str, Any]]]:
        out = {
            phase: {name: t.as_dict() for name, t in by_op.items()}
            for phase, by_op in self.tallies.items()
        }
        self.tallies = {WARMUP: {}, MEASURED: {}}
        return out


async def _closed_worker(w: Workload, rec: Recorder, mix: Mix, end: float) -> None:
    while (now := clock()) < end:
        if mix.next_is_write(w.has_entities()):
            await w.write(rec, now)
        else:
            await w.read(rec, now, mix.next_read_denied())


async def _open_worker(w: Workload, rec: Recorder, mix: Mix, table: Timetable) -> None:
    while (due := table.take()) is not None:
        wait = due - clock()
        if wait > 0.0005:
            await asyncio.sleep(wait)
        if mix.next_is_write(w.has_entities()):
            await w.write(rec, due)
        else:
            await w.read(rec, due, mix.next_read_denied())


def new_client(plan: Plan, connections: int) -> Any:
    """The HTTP client the plan asks for: `wire` (the default, leaner) or `aiohttp`."""
    if plan.client == "aiohttp":
        return Http(plan.timeout_s, connections)
    from sandbox.load.wire import Wire

    return Wire(plan.timeout_s, connections)


def make_workloads(plan: Plan, http: Client, shard: int) -> list[Workload]:
    return [
        WORKLOADS[svc](
            http,
            plan.urls,
            plan.run_id,
            shard,
            deny_share=plan.deny_share,
            hydra_token=plan.hydra_token,
        )
        for svc in plan.services
    ]


async def run_shard(
    plan: Plan, shard: int, start: float, emit: Callable[[int, dict[str, Any]], None]
) -> dict[str, Any]:
    """Run this process's workers from `start` (a `clock()` time) to the end of the run.

    `emit(second, tallies)` is called once a second and once at the end. Returns what the
    process created (and removed, with cleanup), and when its last measured request ended.
    """
    workers = plan.workers(shard)
    warmup_end = start + plan.warmup_s
    end = warmup_end + plan.duration_s
    rec = Recorder(warmup_end=warmup_end, open_loop=plan.rate is not None)
    async with new_client(plan, workers) as http:
        workloads = make_workloads(plan, http, shard)
        while (wait := start - clock()) > 0:  # timers may fire a little early
            await asyncio.sleep(wait)
        tasks = []
        if plan.rate is None:
            for i in range(workers):
                mix = Mix(plan.read_ratio, plan.deny_share)
                tasks.append(_closed_worker(workloads[i % len(workloads)], rec, mix, end))
        else:
            per_service = plan.rate / plan.processes / len(workloads)
            for k, w in enumerate(workloads):
                # Processes start their timetables staggered, so their due times interleave.
                table = Timetable(start + shard / (per_service * plan.processes), per_service, end)
                mix = Mix(plan.read_ratio, plan.deny_share)
                share = range(k, workers, len(workloads))
                tasks.extend(_open_worker(w, rec, mix, table) for _ in share)
        ticker = asyncio.create_task(_tick(rec, start, emit))
        cpu_at_warmup_end = asyncio.create_task(_cpu_at(warmup_end))
        try:
            await asyncio.gather(*tasks)
        finally:
            ticker.cancel()
        cpu_s = time.process_time() - await cpu_at_warmup_end
        busy_window = clock() - warmup_end
        emit(max(0, int(clock() - start)), rec.flush())
        created: dict[str, int] = {}
        for w in workloads:
            created.update(w.created)
        removed = None
        if plan.cleanup:
            removed = {w.service: await w.cleanup() for w in workloads}
    return {
        "created": created,
        "removed": removed,
        "last_done": rec.last_done,
        "cpu_s": cpu_s,
        "window_s": busy_window,
    }


async def _cpu_at(when: float) -> float:
    """This process's CPU seconds when the measured window opens."""
    await asyncio.sleep(max(0.0, when - clock()))
    return time.process_time()


async def _tick(rec: Recorder, start: float, emit: Callable[[int, dict[str, Any]], None]) -> None:
    second = 0
    while True:
        second += 1
        await asyncio.sleep(max(0.0, start + second - clock()))
        emit(second - 1, rec.flush())


def new_loop_policy(name: str) -> None:
    """uvloop when asked for and installed (it measured faster: see benchmarks/load.py)."""
    if name == "uvloop":
        try:
            import uvloop
        except ImportError:
            return
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
