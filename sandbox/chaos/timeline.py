"""The drill second by second, and the numbers that summarise an outage.

Pure: built from the history alone. Each second counts the operations that completed in it
(successes, errors by kind) and the latency of its successes. The unavailability window is the
longest gap between two successful writes of a workload: from the last write acknowledged
before the gap to the first one after it (a drill that ends inside a gap counts to its end).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sandbox.chaos.history import Event, Type


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of `values`; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Second:
    second: int
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    p50: float | None = None
    p99: float | None = None

    @property
    def failed(self) -> int:
        return sum(self.errors.values())


def timeline(events: Iterable[Event], end: float | None = None) -> list[Second]:
    """One row per second from 0 to the last completion (or `end`), empty seconds included."""
    events = list(events)
    done = [e for e in events if e.type in (Type.ok, Type.fail, Type.info, Type.retry)]
    last = max([e.time for e in done] + ([end] if end is not None else []), default=0.0)
    rows = [Second(s) for s in range(int(last) + 1)]
    latencies: dict[int, list[float]] = {}
    errors: dict[int, Counter[str]] = {}
    for e in done:
        s = int(e.time)
        if e.type is Type.ok:
            rows[s].ok += 1
            if e.latency is not None:
                latencies.setdefault(s, []).append(e.latency)
        else:
            kind = e.error or e.type.value
            if e.type is Type.retry:
                kind = f"{kind} (retried)"
            errors.setdefault(s, Counter())[f"{e.workload} {kind}".strip()] += 1
    for row in rows:
        row.errors = dict(sorted(errors.get(row.second, Counter()).items()))
        row.p50 = percentile(latencies.get(row.second, []), 50)
        row.p99 = percentile(latencies.get(row.second, []), 99)
    return rows


@dataclass(frozen=True)
class Gap:
    workload: str
    seconds: float
    start: float
    """When the last write before the gap was acknowledged (seconds into the drill)."""


def unavailability(events: Iterable[Event], workload: str, end: float) -> Gap | None:
    """The longest gap between successful writes of `workload`; None without any success."""
    acks = sorted(
        e.time for e in events if e.workload == workload and e.f == "write" and e.type is Type.ok
    )
    if not acks:
        return None
    best = Gap(workload, 0.0, acks[0])
    for before, after in zip(acks, [*acks[1:], max(end, acks[-1])], strict=True):
        if after - before > best.seconds:
            best = Gap(workload, after - before, before)
    return best


def nemesis_times(events: Iterable[Event]) -> dict[str, float]:
    """The first time of each nemesis event (`fault`, `restore`, `recovered`, ...)."""
    out: dict[str, float] = {}
    for e in events:
        if e.type is Type.nemesis:
            out.setdefault(e.f, e.time)
    return out
