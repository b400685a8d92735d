"""The drill's phases around a fake injector and workload: the order of events, and that the
zone is restored whatever happens during the outage."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.chaos.checker import Audit, audit
from sandbox.chaos.drill import Drill, DrillPlan
from sandbox.chaos.history import Event, History, Type
from sandbox.chaos.report import LoadBalancerTimes
from sandbox.chaos.sql_workload import classify
from sandbox.errors import SandboxError


class FakeInjector:
    victim = "p-crdb-2"

    def __init__(self, fail_inject: BaseException | None = None) -> None:
        self.log: list[str] = []
        self.fail_inject = fail_inject

    def inject(self) -> None:
        self.log.append("inject")
        if self.fail_inject is not None:
            raise self.fail_inject

    def restore(self) -> list[list[str]]:
        self.log.append("restore")
        return [["docker", "start", self.victim]]


class OneWrite:
    name = "sql"
    parts = ("sql",)

    def __init__(self) -> None:
        self.history = History()
        self.stopped = False

    def setup(self) -> None:
        pass

    def start(self, history: History) -> None:
        self.history = history
        op = history.invoke("sql-0", "sql", "write", "a")
        history.complete(op, Type.ok)

    def stop(self) -> None:
        self.stopped = True

    def audits(self, events: list[Event]) -> list[Audit]:
        return [audit(events, "sql", {"a": 1})]


PLAN = DrillPlan("r", "compose", "us-east-1b", "kill", outage=0.2, duration=0.6)


def lb(fault: float, restore: float | None) -> LoadBalancerTimes:
    return LoadBalancerTimes(1.0, 2.0, "fake")


def test_phases_in_order_and_a_passing_report() -> None:
    injector, work, said = FakeInjector(), OneWrite(), []
    drill = Drill(PLAN, injector, [work], lambda t, cb: (True, ""), lb, said.append)
    report = drill.run()
    kinds = [e.f for e in drill.history.events() if e.type is Type.nemesis]
    assert kinds == ["fault", "restore", "recovered", "end"]
    assert injector.log == ["inject", "restore"]
    assert work.stopped
    assert report.exit_code == 0 and report.node == "p-crdb-2"
    assert said[0] == "baseline: 0s of steady load"
    assert "restore: p-crdb-2 (docker start p-crdb-2)" in said


def test_an_interrupt_during_the_outage_restores_the_zone() -> None:
    injector, work, said = FakeInjector(fail_inject=KeyboardInterrupt()), OneWrite(), []
    drill = Drill(PLAN, injector, [work], lambda t, cb: (True, ""), lb, said.append)
    with pytest.raises(KeyboardInterrupt):
        drill.run()
    assert injector.log == ["inject", "restore"]
    assert work.stopped
    assert said[-1] == "interrupted: zone us-east-1b restored"


def test_an_error_during_the_fault_restores_the_zone_too() -> None:
    injector = FakeInjector(fail_inject=SandboxError("docker kill: no such container"))
    drill = Drill(PLAN, injector, [OneWrite()], lambda t, cb: (True, ""), lb, lambda s: None)
    with pytest.raises(SandboxError, match="docker kill"):
        drill.run()
    assert injector.log == ["inject", "restore"]


def test_no_recovery_fails_the_report() -> None:
    drill = Drill(
        PLAN,
        FakeInjector(),
        [OneWrite()],
        lambda t, cb: (False, "node n2 not live"),
        lb,
        lambda s: None,
    )
    report = drill.run()
    assert report.exit_code == 1 and report.recovery_detail == "node n2 not live"


class SqlError(Exception):
    def __init__(self, sqlstate: str | None) -> None:
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("sqlstate", "stage", "fired", "expected"),
    [
        ("40003", "write", False, (Type.info, "40003 result is ambiguous")),
        ("40003", "commit", False, (Type.info, "40003 result is ambiguous")),
        (None, "commit", False, (Type.info, "connection lost during commit")),
        (None, "commit", True, (Type.info, "deadline during commit")),
        (None, "write", True, (Type.fail, "deadline")),
        (None, "write", False, (Type.fail, "connection lost")),
        (None, "connect", False, (Type.fail, "connect failed")),
        ("57P01", "write", False, (Type.fail, "57P01")),
        ("XX000", "commit", False, (Type.info, "XX000")),
    ],
)
def test_sql_outcomes(
    sqlstate: str | None, stage: str, fired: bool, expected: tuple[Type, str]
) -> None:
    assert classify(SqlError(sqlstate), stage, fired) == expected


def test_ory_outcomes() -> None:
    import httpx

    from sandbox.chaos.ory_workload import http_outcome

    assert http_outcome(201, None) == (Type.ok, "")
    assert http_outcome(503, None) == (Type.info, "HTTP 503")
    assert http_outcome(400, None) == (Type.fail, "HTTP 400")
    assert http_outcome(None, httpx.ConnectError("refused")) == (Type.fail, "connect failed")
    assert http_outcome(None, httpx.ReadTimeout("slow")) == (Type.info, "timeout after sending")
    assert http_outcome(None, httpx.RemoteProtocolError("closed")) == (
        Type.info,
        "connection lost (RemoteProtocolError)",
    )


class FakeConnection:
    """Raises the given errors, one per INSERT or COMMIT, then succeeds."""

    def __init__(self, errors: dict[str, list[Exception]]) -> None:
        self.errors = errors
        self.statements: list[str] = []
        self.closed = False
        self.broken = False

        class PgConn:
            socket = 0

        self.pgconn = PgConn()

    def execute(self, sql: str, params: object = None) -> None:
        word = sql.split()[0]
        self.statements.append(word)
        pending = self.errors.get(word)
        if pending:
            raise pending.pop(0)

    def close(self) -> None:
        self.closed = True


def write_once(conn: FakeConnection) -> list[Event]:
    from sandbox.chaos.cluster import SqlAccess
    from sandbox.chaos.sql_workload import SqlWorkload
    from sandbox.chaos.watchdog import Watchdog

    load = SqlWorkload(SqlAccess("127.0.0.1", 1, Path(".")), "r")
    load.watchdog = Watchdog()
    try:
        op = load.history.invoke("sql-0", "sql", "write", "r-0-0")
        load._write(op, conn, 0, 0)  # type: ignore[arg-type]
    finally:
        load.watchdog.close()
    return load.history.events()


def test_a_transaction_retry_error_is_retried_until_it_commits() -> None:
    import psycopg

    conn = FakeConnection({"COMMIT": [psycopg.errors.SerializationFailure("restart")] * 2})
    events = write_once(conn)
    assert [(e.type, e.error) for e in events] == [
        (Type.invoke, ""),
        (Type.retry, "40001"),
        (Type.retry, "40001"),
        (Type.ok, ""),
    ]
    assert conn.statements == [
        "BEGIN",
        "INSERT",
        "COMMIT",
        "ROLLBACK",
        "BEGIN",
        "INSERT",
        "COMMIT",
        "ROLLBACK",
        "BEGIN",
        "INSERT",
        "COMMIT",
    ]


def test_ambiguous_at_commit_is_info_and_never_retried() -> None:
    import psycopg

    class Ambiguous(psycopg.errors.InternalError):
        sqlstate = "40003"

    conn = FakeConnection({"COMMIT": [Ambiguous("result is ambiguous")]})
    events = write_once(conn)
    assert [(e.type, e.error) for e in events] == [
        (Type.invoke, ""),
        (Type.info, "40003 result is ambiguous"),
    ]
    assert conn.statements.count("INSERT") == 1
