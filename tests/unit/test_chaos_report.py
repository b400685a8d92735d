"""The report model, its table and JSON forms, the plot, and the flags' parsing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.chaos.checker import audit
from sandbox.chaos.history import Event, Type
from sandbox.chaos.report import LoadBalancerTimes, build_report, render_table
from sandbox.cli.chaos import parse_duration, parse_workloads
from sandbox.errors import BadInput


def events() -> list[Event]:
    out = []
    for i, t in enumerate([0.2, 0.4, 1.1, 1.3, 6.2, 6.4, 7.5]):
        out.append(Event(t - 0.01, "sql-0", Type.invoke, "sql", "write", f"k{i}"))
        out.append(Event(t, "sql-0", Type.ok, "sql", "write", f"k{i}", latency=0.01))
    out += [
        Event(1.5, "sql-0", Type.invoke, "sql", "write", "amb"),
        Event(4.5, "sql-0", Type.info, "sql", "write", "amb", error="deadline during commit"),
        Event(2.0, "nemesis", Type.nemesis, f="fault", value="kill p-crdb-2"),
        Event(5.0, "nemesis", Type.nemesis, f="restore"),
        Event(6.0, "nemesis", Type.nemesis, f="recovered"),
        Event(8.0, "nemesis", Type.nemesis, f="end"),
    ]
    return sorted(out, key=lambda e: e.time)


def make(found: dict[str, int], recovered: bool = True):  # type: ignore[no-untyped-def]
    history = events()
    return build_report(
        history,
        run_id="r1",
        target="compose",
        zone="us-east-1b",
        node="p-crdb-2",
        mode="kill",
        outage=3.0,
        duration=8.0,
        workloads=["sql"],
        load_balancer=LoadBalancerTimes(2.5, 1.75, "HAProxy log"),
        recovered=recovered,
        recovery_detail="" if recovered else "node n2 not live",
        audits=[audit(history, "sql", found)],
    )


ALL = {f"k{i}": 1 for i in range(7)}


def test_a_clean_drill_passes_with_its_numbers() -> None:
    report = make({**ALL, "amb": 1})
    assert report.ok and report.exit_code == 0 and report.lost == 0
    assert report.recovery_seconds == 1.0
    gap = report.gap("sql")
    assert gap is not None and round(gap.seconds, 2) == 4.9 and gap.start == 1.3
    assert len(report.timeline) == 9
    table = render_table(report)
    assert "verdict: PASS" in table
    assert "unavailability window (sql)                     4.90s at 1.3s" in table
    assert "ambiguous sql amb (deadline during commit): committed" in table
    data = json.loads(json.dumps(report.as_dict()))
    assert data["exit_code"] == 0 and data["lost"] == 0
    assert data["load_balancer"] == {"eject": 2.5, "readd": 1.75, "how": "HAProxy log"}
    assert data["audits"][0]["ambiguous"] == [
        {"key": "amb", "error": "deadline during commit", "committed": True}
    ]
    assert data["timeline"][1]["ok"] == 2 and data["timeline"][4]["failed"] == 1


def test_lost_writes_fail_the_drill() -> None:
    found = dict(ALL)
    del found["k3"]
    report = make(found)
    assert report.lost == 1 and report.exit_code == 1
    table = render_table(report)
    assert "verdict: FAIL (1 acknowledged writes lost)" in table
    assert "LOST sql k3" in table


def test_no_recovery_fails_the_drill() -> None:
    report = make(ALL, recovered=False)
    assert report.exit_code == 1
    assert "not recovered (node n2 not live)" in render_table(report)


def test_plot_writes_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the `plot` extra is not installed")
    from sandbox.chaos.plot import write_plot

    target = tmp_path / "drill.png"
    write_plot(make(ALL), target)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("text", "seconds"), [("20s", 20.0), ("1.5m", 90.0), ("500ms", 0.5), ("7", 7.0)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text, "--outage") == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "--outage: '' is not a duration (examples: 30s, 2m, 500ms)"),
        ("-3s", "--outage: '-3s' is not a duration (examples: 30s, 2m, 500ms)"),
        ("ten", "--outage: 'ten' is not a duration (examples: 30s, 2m, 500ms)"),
        ("0s", "--outage: '0s' must be longer than zero"),
    ],
)
def test_bad_durations_name_the_option(text: str, message: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_duration(text, "--outage")
    assert caught.value.message == message


def test_workloads() -> None:
    assert parse_workloads(None) == (["sql", "ory"], False)
    assert parse_workloads("ory, sql,ory") == (["ory", "sql"], True)
    with pytest.raises(BadInput, match="--workload: unknown workload 'keto'"):
        parse_workloads("sql,keto")
