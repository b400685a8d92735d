"""The report model: verdict, exit code, counts, per-service latency, JSON shape."""

from __future__ import annotations

import json

from sandbox.checks.report import Check, Report, Result
from sandbox.errors import EXIT_FAILURE, EXIT_OK


def _check(name: str, service: str, result: Result, ms: float = 1.0) -> Check:
    return Check(name, service, result, ms, None if result is Result.passed else "why")


def test_all_pass_is_ok_and_exit_zero() -> None:
    report = Report("r1", [_check("a", "hydra", Result.passed), _check("b", "keto", Result.passed)])
    assert report.ok
    assert report.exit_code == EXIT_OK
    assert report.summary().startswith("all checks passed: 2 passed, 0 failed, 0 skipped")


def test_one_failure_fails_the_run() -> None:
    report = Report("r1", [_check("a", "hydra", Result.passed), _check("b", "sql", Result.failed)])
    assert not report.ok
    assert report.exit_code == EXIT_FAILURE
    assert "FAILED" in report.summary()


def test_a_skip_is_not_a_pass() -> None:
    report = Report("r1", [_check("a", "hydra", Result.passed), _check("b", "sql", Result.skipped)])
    assert not report.ok
    assert report.counts() == {"pass": 1, "fail": 0, "skip": 1}


def test_an_empty_report_is_not_ok() -> None:
    assert not Report("r1").ok
    assert Report("r1").exit_code == EXIT_FAILURE


def test_latency_is_summed_per_service_in_first_seen_order() -> None:
    report = Report(
        "r1",
        [
            _check("a", "kratos", Result.passed, 2.0),
            _check("b", "hydra", Result.passed, 5.0),
            _check("c", "kratos", Result.passed, 3.5),
        ],
    )
    assert report.latency_by_service() == {"kratos": 5.5, "hydra": 5.0}
    assert list(report.latency_by_service()) == ["kratos", "hydra"]


def test_json_shape_round_trips() -> None:
    sql = "SELECT 1;"
    check = Check("sql.x", "sql", Result.failed, 12.345, "SQL error 42P01: no table", sql)
    data = json.loads(json.dumps(Report("run9", [check]).as_dict()))
    assert data["run_id"] == "run9"
    assert data["ok"] is False
    assert data["counts"] == {"pass": 0, "fail": 1, "skip": 0}
    assert data["latency_ms_by_service"] == {"sql": 12.3}
    assert data["checks"] == [
        {
            "name": "sql.x",
            "service": "sql",
            "result": "fail",
            "latency_ms": 12.3,
            "reason": "SQL error 42P01: no table",
            "sql": sql,
        }
    ]
