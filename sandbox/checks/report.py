"""The outcome of `sandbox verify`: one Check per step, and a Report over all of them.

Pure data and formatting helpers; printing is the CLI's job.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from sandbox.errors import EXIT_FAILURE, EXIT_OK


class Result(StrEnum):
    passed = "pass"
    failed = "fail"
    skipped = "skip"


@dataclass(frozen=True)
class Check:
    name: str
    service: str
    result: Result
    latency_ms: float
    reason: str | None = None
    """Why it failed or was skipped (HTTP status, SQL error); a short note when it passed."""
    sql: str | None = None
    """The exact SQL a database check ran, so a demo can show it."""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["result"] = self.result.value
        data["latency_ms"] = round(self.latency_ms, 1)
        return data


@dataclass
class Report:
    run_id: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True only when there is at least one check and every check passed."""
        return bool(self.checks) and all(c.result is Result.passed for c in self.checks)

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.ok else EXIT_FAILURE

    def counts(self) -> dict[str, int]:
        return {r.value: sum(1 for c in self.checks if c.result is r) for r in Result}

    def latency_by_service(self) -> dict[str, float]:
        """Milliseconds spent per service, in the order services first appear."""
        totals: dict[str, float] = {}
        for check in self.checks:
            totals[check.service] = totals.get(check.service, 0.0) + check.latency_ms
        return totals

    def summary(self) -> str:
        counts = self.counts()
        total = sum(c.latency_ms for c in self.checks)
        verdict = "all checks passed" if self.ok else "verification FAILED"
        return (
            f"{verdict}: {counts['pass']} passed, {counts['fail']} failed, "
            f"{counts['skip']} skipped in {total / 1000:.2f}s (run {self.run_id})"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "ok": self.ok,
            "counts": self.counts(),
            "latency_ms_by_service": {k: round(v, 1) for k, v in self.latency_by_service().items()},
            "checks": [c.as_dict() for c in self.checks],
        }
