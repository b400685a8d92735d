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


JUNIT_SUITE = "sandbox verify"


def _seconds(ms: float) -> str:
    return f"{ms / 1000:.3f}"


def junit_xml(report: Report, timestamp: str, hostname: str = "", error: str | None = None) -> str:
    """The report as JUnit XML: one testcase per check, its reason on failure or skip, its SQL
    as system-out. Follows the Jenkins junit-10 schema that CI systems read.

    `error`: verify could not start (nothing answers, a URL is missing); one testcase
    `verify.start` in error says why, so the CI still shows a report."""
    from xml.etree import ElementTree as ET

    counts = report.counts()
    total_ms = sum(c.latency_ms for c in report.checks)
    totals = {
        "tests": str(len(report.checks) + (error is not None)),
        "failures": str(counts["fail"]),
        "errors": str(int(error is not None)),
        "time": _seconds(total_ms),
    }
    root = ET.Element("testsuites", {"name": JUNIT_SUITE, **totals})
    suite = ET.SubElement(
        root,
        "testsuite",
        {"name": JUNIT_SUITE, **totals, "skipped": str(counts["skip"]), "timestamp": timestamp},
    )
    if hostname:
        suite.set("hostname", hostname)
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", {"name": "run_id", "value": report.run_id})
    if error is not None:
        case = ET.SubElement(
            suite, "testcase", {"classname": "sandbox.verify", "name": "verify.start", "time": "0"}
        )
        ET.SubElement(case, "error", {"message": error, "type": "SandboxError"}).text = error
    for check in report.checks:
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": f"sandbox.verify.{check.service}",
                "name": check.name,
                "time": _seconds(check.latency_ms),
            },
        )
        reason = check.reason or ""
        if check.result is Result.failed:
            ET.SubElement(case, "failure", {"message": reason, "type": "CheckFailed"}).text = reason
        elif check.result is Result.skipped:
            ET.SubElement(case, "skipped", {"message": reason})
        if check.sql:
            ET.SubElement(case, "system-out").text = check.sql
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


MARKS = {Result.passed: "✅ pass", Result.failed: "❌ **fail**", Result.skipped: "⏭️ skip"}


def _cell(text: str) -> str:
    """Text safe inside one Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").strip()


def markdown_summary(report: Report) -> str:
    """A GitHub-flavoured Markdown table of the checks, then the SQL in a folded section."""
    lines = [
        f"### sandbox verify: {report.summary()}",
        "",
        "| service | check | result | ms | detail |",
        "| --- | --- | --- | ---: | --- |",
    ]
    for c in report.checks:
        lines.append(
            f"| {c.service} | `{c.name}` | {MARKS[c.result]} | {c.latency_ms:.0f} "
            f"| {_cell(c.reason or '')} |"
        )
    statements = [c for c in report.checks if c.sql]
    if statements:
        lines += ["", "<details><summary>SQL behind the database checks</summary>", ""]
        for c in statements:
            lines += [f"`{c.name}`", "", "```sql", c.sql or "", "```", ""]
        lines.append("</details>")
    return "\n".join(lines) + "\n"
