"""The audit on hand-written histories: every verdict it can give, each shown once."""

from __future__ import annotations

from sandbox.chaos.checker import Resolution, audit
from sandbox.chaos.history import Event, Type


def w(t: float, type: Type, key: str, error: str = "", process: str = "sql-0") -> Event:
    return Event(t, process, type, "sql", "write", key, "", error)


def r(t: float, type: Type, key: str, value: str = "", process: str = "sql-reader") -> Event:
    return Event(t, process, type, "sql", "read", key, value)


CLEAN = [
    w(0.0, Type.invoke, "a"),
    w(0.1, Type.ok, "a"),
    w(0.2, Type.invoke, "b"),
    w(0.3, Type.ok, "b"),
    w(0.4, Type.invoke, "c"),
    w(0.5, Type.fail, "c", "connect failed"),
]


def test_clean_history_passes() -> None:
    result = audit(CLEAN, "sql", {"a": 1, "b": 1})
    assert (result.attempted, result.acknowledged, result.failed, result.found) == (3, 2, 1, 2)
    assert result.lost == () and result.duplicates == () and result.ambiguous == ()
    assert result.ok


def test_acknowledged_but_missing_is_lost() -> None:
    result = audit(CLEAN, "sql", {"a": 1})
    assert result.lost == ("b",)
    assert result.found == 1
    assert not result.ok


def test_ambiguous_writes_are_resolved_both_ways() -> None:
    history = [
        w(0.0, Type.invoke, "x"),
        w(3.0, Type.info, "x", "deadline during commit"),
        w(3.1, Type.invoke, "y"),
        w(3.2, Type.info, "y", "40003 result is ambiguous"),
        w(3.3, Type.invoke, "z"),  # still in flight when the drill ended
    ]
    result = audit(history, "sql", {"x": 1})
    assert result.ambiguous == (
        Resolution("x", "deadline during commit", True),
        Resolution("y", "40003 result is ambiguous", False),
        Resolution("z", "in flight at the end", False),
    )
    assert result.ambiguous_committed == 1
    assert result.lost == ()
    assert result.ok, "an ambiguous write may go either way"


def test_duplicates_failed_but_found_and_unexpected_rows_fail_the_audit() -> None:
    result = audit(CLEAN, "sql", {"a": 2, "b": 1, "c": 1, "zz": 1})
    assert result.duplicates == ("a",)
    assert result.failed_but_found == ("c",)
    assert result.unexpected == ("zz",)
    assert result.lost == ()
    assert not result.ok


def test_a_miss_of_a_key_acknowledged_before_the_read_is_stale() -> None:
    history = [
        w(0.0, Type.invoke, "a"),
        w(0.1, Type.ok, "a"),
        r(0.2, Type.invoke, "a"),
        r(0.3, Type.ok, "a", "missing"),
        # a read that began before the write was acknowledged may miss it
        w(1.0, Type.invoke, "b"),
        r(1.05, Type.invoke, "b", process="sql-reader-2"),
        w(1.1, Type.ok, "b"),
        r(1.2, Type.ok, "b", "missing", process="sql-reader-2"),
        r(1.3, Type.invoke, "a"),
        r(1.4, Type.ok, "a", "found"),
    ]
    result = audit(history, "sql", {"a": 1, "b": 1})
    assert result.reads == 3
    assert result.stale_reads == ("a",)
    assert not result.ok


def test_other_workloads_and_nemesis_events_are_ignored() -> None:
    history = [
        *CLEAN,
        Event(0.25, "nemesis", Type.nemesis, "", "fault", "", "kill crdb-2"),
        Event(0.3, "keto-0", Type.invoke, "keto", "write", "k1"),
        Event(0.4, "keto-0", Type.ok, "keto", "write", "k1"),
    ]
    assert audit(history, "sql", {"a": 1, "b": 1}).attempted == 3
    keto = audit(history, "keto", {}, source="api")
    assert (keto.source, keto.acknowledged, keto.lost) == ("api", 1, ("k1",))


def test_retries_do_not_complete_an_operation() -> None:
    history = [
        w(0.0, Type.invoke, "a"),
        w(0.1, Type.retry, "a", "40001"),
        w(0.2, Type.ok, "a"),
    ]
    result = audit(history, "sql", {})
    assert result.acknowledged == 1 and result.lost == ("a",)
