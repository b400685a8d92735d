"""When to send what: the read/write mix and the open-loop timetable. Pure and clock-free.

Mix (the load simulator's design): writers create entities and each entity is read
`read_ratio` times, so a worker writes when it has nothing to read or has read `read_ratio`
times since its last write.

Open loop (wrk2's model): request i is due at `start + i / rate`, whatever happened before.
Latency is measured from that due time, so a server that stalls is charged for every request
that queued behind the stall (no coordinated omission). A request sent more than `LATE_S` after
its due time is counted as late: the generator or its connections could not keep up.
"""

from __future__ import annotations

from dataclasses import dataclass

LATE_S = 0.010
"""A send this long after its due time is late (well above event-loop timer jitter)."""


@dataclass
class Mix:
    read_ratio: int
    deny_share: float = 0.0
    """Of the reads, the share that asks a question whose right answer is 'no'."""
    reads_since_write: int = 0
    reads: int = 0

    def next_is_write(self, have_entities: bool) -> bool:
        if not have_entities or self.reads_since_write >= self.read_ratio:
            self.reads_since_write = 0
            return True
        self.reads_since_write += 1
        return False

    def next_read_denied(self) -> bool:
        """Every 1/deny_share-th read, spread evenly (0.1 -> reads 10, 20, 30, ...)."""
        self.reads += 1
        return int(self.reads * self.deny_share) > int((self.reads - 1) * self.deny_share)


@dataclass
class Timetable:
    """Due times for an open loop shared by many workers: each takes the next free slot."""

    start: float
    rate: float
    end: float
    next_slot: int = 0

    def take(self) -> float | None:
        """The due time of the next request, or None when the run is over."""
        due = self.start + self.next_slot / self.rate
        if due >= self.end:
            return None
        self.next_slot += 1
        return due


def is_late(due: float, sent: float) -> bool:
    return sent - due > LATE_S
