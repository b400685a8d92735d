"""Counting: a cheap per-second tally on the hot path, HDR histograms for the totals.

A worker records into a `Tally`: plain ints and a dict of latency (whole microseconds) to count,
so recording one request costs a few dictionary updates. Once a second the tally is flushed as
a plain dict (picklable, so it crosses process boundaries) and folded into `OpStats`, whose
HdrHistogram holds every latency at 3 significant digits. Histograms from many workers and
processes merge exactly, and percentiles are read at the end, never averaged.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 3_600_000_000  # one hour: a stalled request is still counted, never clipped
DIGITS = 3
PERCENTILES = (50.0, 90.0, 99.0, 99.9)
MAX_SAMPLES = 3
"""Wrong-answer reasons kept per operation, for the report."""


def new_histogram() -> HdrHistogram:
    from hdrh.histogram import HdrHistogram

    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


@dataclass
class Tally:
    """One operation's outcomes since the last flush (one second, one phase)."""

    ok: int = 0
    positive: int = 0
    wrong: int = 0
    late: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latency_us: Counter[int] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)

    def record(self, latency_s: float, *, positive: bool = True) -> None:
        self.ok += 1
        if positive:
            self.positive += 1
        self.latency_us[max(LOWEST_US, int(latency_s * 1_000_000))] += 1

    def record_wrong(self, latency_s: float, reason: str) -> None:
        self.wrong += 1
        self.latency_us[max(LOWEST_US, int(latency_s * 1_000_000))] += 1
        if len(self.samples) < MAX_SAMPLES:
            self.samples.append(reason)

    def record_error(self, kind: str, latency_s: float | None = None) -> None:
        """An error; its latency counts only when the service answered (an HTTP status)."""
        self.errors[kind] += 1
        if latency_s is not None:
            self.latency_us[max(LOWEST_US, int(latency_s * 1_000_000))] += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "positive": self.positive,
            "wrong": self.wrong,
            "late": self.late,
            "errors": dict(self.errors),
            "latency_us": dict(self.latency_us),
            "samples": list(self.samples),
        }


@dataclass
class OpStats:
    """Everything one operation did in one phase (warm-up or measured), from any worker."""

    ok: int = 0
    positive: int = 0
    wrong: int = 0
    late: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    histogram: HdrHistogram = field(default_factory=new_histogram)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def attempts(self) -> int:
        return self.ok + self.wrong + self.error_count

    def add(self, tally: dict[str, Any]) -> None:
        """Fold in a flushed `Tally.as_dict()`."""
        self.ok += tally["ok"]
        self.positive += tally["positive"]
        self.wrong += tally["wrong"]
        self.late += tally["late"]
        self.errors.update(tally["errors"])
        for us, count in tally["latency_us"].items():
            self.histogram.record_value(min(int(us), HIGHEST_US), count)
        room = MAX_SAMPLES - len(self.samples)
        if room > 0:
            self.samples.extend(tally["samples"][:room])

    def merge(self, other: OpStats) -> None:
        self.ok += other.ok
        self.positive += other.positive
        self.wrong += other.wrong
        self.late += other.late
        self.errors.update(other.errors)
        self.histogram.add(other.histogram)
        room = MAX_SAMPLES - len(self.samples)
        if room > 0:
            self.samples.extend(other.samples[:room])

    def latency_ms(self) -> dict[str, float]:
        """p50/p90/p99/p99.9/max in milliseconds; zeros when nothing answered."""
        h = self.histogram
        if h.get_total_count() == 0:
            return {**{_label(p): 0.0 for p in PERCENTILES}, "max": 0.0}
        out = {_label(p): h.get_value_at_percentile(p) / 1000 for p in PERCENTILES}
        out["max"] = h.get_max_value() / 1000
        return out


def _label(percentile: float) -> str:
    return f"p{percentile:g}"
