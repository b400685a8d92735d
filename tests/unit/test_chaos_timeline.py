"""Per-second timeline, percentiles and the unavailability window, from literal histories."""

from __future__ import annotations

from sandbox.chaos.history import Event, History, Type
from sandbox.chaos.timeline import Gap, nemesis_times, percentile, timeline, unavailability


def ok(t: float, latency: float, workload: str = "sql") -> Event:
    return Event(t, "sql-0", Type.ok, workload, "write", f"k{t}", latency=latency)


def bad(t: float, type: Type, error: str) -> Event:
    return Event(t, "sql-0", type, "sql", "write", f"k{t}", error=error)


def test_percentile_is_nearest_rank() -> None:
    values = [0.5, 0.1, 0.4, 0.2, 0.3]
    assert percentile(values, 50) == 0.3
    assert percentile(values, 99) == 0.5
    assert percentile(values, 1) == 0.1
    assert percentile([], 50) is None


def test_timeline_counts_each_second_and_keeps_empty_ones() -> None:
    events = [
        ok(0.1, 0.010),
        ok(0.5, 0.030),
        ok(0.9, 0.020),
        bad(1.2, Type.fail, "connect failed"),
        bad(1.3, Type.info, "deadline during commit"),
        bad(1.4, Type.retry, "40001"),
        ok(3.5, 0.200),
    ]
    rows = timeline(events)
    assert [r.second for r in rows] == [0, 1, 2, 3]
    assert [r.ok for r in rows] == [3, 0, 0, 1]
    assert rows[0].p50 == 0.020 and rows[0].p99 == 0.030
    assert rows[1].errors == {
        "sql 40001 (retried)": 1,
        "sql connect failed": 1,
        "sql deadline during commit": 1,
    }
    assert rows[1].failed == 3
    assert rows[2].p50 is None and rows[2].failed == 0
    assert rows[3].p99 == 0.200


def test_timeline_runs_to_the_end_of_the_drill() -> None:
    assert len(timeline([ok(0.5, 0.01)], end=4.2)) == 5


def test_unavailability_is_the_longest_gap_between_successful_writes() -> None:
    events = [ok(1.0, 0.01), ok(1.5, 0.01), ok(9.0, 0.01), ok(9.1, 0.01), ok(3.0, 0.01, "keto")]
    assert unavailability(events, "sql", end=10.0) == Gap("sql", 7.5, 1.5)


def test_a_drill_that_ends_inside_a_gap_counts_to_its_end() -> None:
    assert unavailability([ok(1.0, 0.01)], "sql", end=6.0) == Gap("sql", 5.0, 1.0)
    assert unavailability([], "sql", end=6.0) is None


def test_nemesis_times_and_the_recording_clock() -> None:
    history = History(clock=0.0)
    events = [
        Event(5.0, "nemesis", Type.nemesis, f="fault"),
        Event(11.0, "nemesis", Type.nemesis, f="restore"),
        Event(12.5, "nemesis", Type.nemesis, f="recovered"),
    ]
    assert nemesis_times(events) == {"fault": 5.0, "restore": 11.0, "recovered": 12.5}
    op = history.invoke("sql-0", "sql", "write", "a")
    done = history.complete(op, Type.ok)
    assert done.latency is not None and done.latency >= 0
    assert [e.type for e in history.events()] == [Type.invoke, Type.ok]
