"""The audit: what the clients were told, against what the database holds afterwards.

Pure: a history and the rows found (key -> how many times) in, an `Audit` out. Only `ok`
writes are promises; an acknowledged key that is missing is lost, with certainty. An `info`
write (or one still in flight when the drill ended) may or may not have happened: the rows
decide, and each is reported with its resolution. A `fail` write that is found anyway, a key
found twice, or a row nobody wrote are anomalies too. A read that missed a key acknowledged
before the read began is a stale read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sandbox.chaos.history import Event, Type


@dataclass(frozen=True)
class Resolution:
    """An indeterminate write, settled by looking for its key."""

    key: str
    error: str
    committed: bool


@dataclass(frozen=True)
class Audit:
    workload: str
    source: str
    """Where the rows were read: `sql`, `api`."""
    attempted: int
    acknowledged: int
    failed: int
    found: int
    """Distinct keys of this drill present in the store."""
    lost: tuple[str, ...] = ()
    duplicates: tuple[str, ...] = ()
    ambiguous: tuple[Resolution, ...] = ()
    failed_but_found: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()
    """Keys found that no operation of this drill wrote."""
    reads: int = 0
    stale_reads: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not (
            self.lost
            or self.duplicates
            or self.failed_but_found
            or self.unexpected
            or self.stale_reads
        )

    @property
    def ambiguous_committed(self) -> int:
        return sum(1 for r in self.ambiguous if r.committed)


def _writes(events: Iterable[Event], workload: str) -> tuple[dict[str, Event | None], set[str]]:
    """key -> its write's completion (None while still in flight), and every invoked key."""
    outcome: dict[str, Event | None] = {}
    for e in events:
        if e.workload != workload or e.f != "write":
            continue
        if e.type is Type.invoke:
            outcome.setdefault(e.key, None)
        elif e.type in (Type.ok, Type.fail, Type.info):
            outcome[e.key] = e
    return outcome, set(outcome)


def _why(completion: Event | None) -> str:
    return "in flight at the end" if completion is None else completion.error


def _stale_reads(events: list[Event], workload: str) -> tuple[int, list[str]]:
    acknowledged_at: dict[str, float] = {}
    invoked_at: dict[tuple[str, str], float] = {}
    reads = 0
    stale = []
    for e in events:
        if e.workload != workload:
            continue
        if e.f == "write" and e.type is Type.ok:
            acknowledged_at.setdefault(e.key, e.time)
        elif e.f == "read" and e.type is Type.invoke:
            invoked_at[(e.process, e.key)] = e.time
        elif e.f == "read" and e.type is Type.ok:
            reads += 1
            began = invoked_at.get((e.process, e.key), e.time)
            acked = acknowledged_at.get(e.key)
            if e.value == "missing" and acked is not None and acked <= began:
                stale.append(e.key)
    return reads, stale


def audit(
    events: Iterable[Event], workload: str, found: Mapping[str, int], source: str = "sql"
) -> Audit:
    """Check one workload's writes (and reads) against `found`: key -> rows with that key."""
    events = list(events)
    outcome, invoked = _writes(events, workload)
    present = {k for k, n in found.items() if n > 0}
    acknowledged = sorted(k for k, e in outcome.items() if e is not None and e.type is Type.ok)
    failed = sorted(k for k, e in outcome.items() if e is not None and e.type is Type.fail)
    unsure = sorted(k for k, e in outcome.items() if e is None or e.type is Type.info)
    ambiguous = tuple(
        Resolution(key=k, error=_why(outcome[k]), committed=k in present) for k in unsure
    )
    reads, stale = _stale_reads(events, workload)
    return Audit(
        workload=workload,
        source=source,
        attempted=len(invoked),
        acknowledged=len(acknowledged),
        failed=len(failed),
        found=len(present & invoked),
        lost=tuple(k for k in acknowledged if k not in present),
        duplicates=tuple(sorted(k for k, n in found.items() if n > 1)),
        ambiguous=ambiguous,
        failed_but_found=tuple(k for k in failed if k in present),
        unexpected=tuple(sorted(present - invoked)),
        reads=reads,
        stale_reads=tuple(stale),
    )
