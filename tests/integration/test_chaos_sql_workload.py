"""The drill's SQL client against a real server that freezes: the client-side deadline, the
ambiguous commits it creates, and the audit that resolves them.

Until the drill's own tests reach a real CockroachDB (tests/integration/test_chaos_drill.py),
this is the real-server test of the parts that do not depend on CockroachDB: Debian's
PostgreSQL with TLS from the sandbox's PKI (crdb-1's node certificate, client certificates
mapped to users, `sslmode=verify-full`), frozen with SIGSTOP the way `docker pause` freezes a
node: the kernel still accepts connections, nothing answers. The schema is written in forms
both servers accept.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sandbox.chaos.cluster import SqlAccess
from sandbox.chaos.history import Event, History, Type
from sandbox.chaos.sql_workload import DATABASE, SqlWorkload, SqlWorkloadConfig
from sandbox.model.topology import Topology
from sandbox.pki.layout import CertLayout
from tests.support.postgres import Server, postgres_bin

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        postgres_bin() is None,
        reason="PostgreSQL server not installed (scripts/test.sh installs it)",
    ),
]


@pytest.fixture(scope="module")
def pg(
    cert_postgres: Server, session_pki: tuple[Topology, CertLayout]
) -> tuple[Server, CertLayout]:
    cert_postgres.psql("CREATE ROLE root LOGIN")
    cert_postgres.psql(f"CREATE DATABASE {DATABASE} OWNER root")
    return cert_postgres, session_pki[1]


def server_pids(server: Server) -> list[int]:
    """The postmaster (its pid file's first line) and every process it started."""
    main = int((server.data / "postmaster.pid").read_text().splitlines()[0])
    children = Path(f"/proc/{main}/task/{main}/children").read_text().split()
    return [main, *(int(c) for c in children)]


@contextmanager
def frozen(server: Server, history: History) -> Iterator[None]:
    """Freeze the server for the block. The nemesis events bracket the time it is certainly
    frozen: `fault` after the last SIGSTOP, `restore` before the first SIGCONT."""
    pids = server_pids(server)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    history.nemesis("fault", "SIGSTOP")
    try:
        yield
    finally:
        history.nemesis("restore", "SIGCONT")
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def wait_for(history: History, what: Callable[[list[Event]], bool]) -> None:
    """Poll the history until `what` holds of it. The cap only keeps a broken run from hanging:
    the assertions that follow say what did not happen."""
    give_up = time.monotonic() + 30
    while not what(history.events()) and time.monotonic() < give_up:
        time.sleep(0.05)


def index_of(events: list[Event], f: str) -> int:
    return next(i for i, e in enumerate(events) if e.type is Type.nemesis and e.f == f)


def acked(events: list[Event], f: str) -> int:
    return sum(1 for e in events if e.type is Type.ok and e.f == f)


def timed_out_since(f: str) -> Callable[[list[Event]], bool]:
    """Whether an operation ended on the watchdog's deadline after the nemesis event `f`."""

    def check(events: list[Event]) -> bool:
        after = events[index_of(events, f) + 1 :]
        return any(e.error in DEADLINE_ERRORS for e in after)

    return check


DEADLINE_ERRORS = {"deadline", "deadline during commit"}


def operations(events: list[Event]) -> list[tuple[int, int, Event]]:
    """(index of its invoke, index of its completion, completion) of every completed operation:
    each process runs one operation at a time, so a completion ends the process's last invoke."""
    last: dict[str, int] = {}
    out = []
    for i, e in enumerate(events):
        if e.type is Type.invoke:
            last[e.process] = i
        elif e.type in (Type.ok, Type.fail, Type.info):
            out.append((last[e.process], i, e))
    return out


def test_a_frozen_server_costs_the_deadline_and_loses_nothing(
    pg: tuple[Server, CertLayout],
) -> None:
    server, layout = pg
    access = SqlAccess("127.0.0.1", server.port, layout.client_dir("root"))
    load = SqlWorkload(access, "frozen", SqlWorkloadConfig(deadline=1.0))
    load.create_table()
    history = History()
    load.start(history)
    wait_for(history, lambda events: acked(events, "write") >= 20)
    with frozen(server, history):
        # frozen until the watchdog has cut an operation short (the server never answers)
        wait_for(history, timed_out_since("fault"))
    before = acked(history.events(), "write")
    wait_for(history, lambda ev: acked(ev, "write") >= before + 20 and acked(ev, "read") >= 10)
    load.stop()
    history.nemesis("end")
    events = history.events()

    (result,) = load.audits(events)
    assert result.ok, result
    assert result.lost == () and result.duplicates == ()
    assert result.acknowledged >= 40
    fault, restore = index_of(events, "fault"), index_of(events, "restore")
    during = events[fault + 1 : restore]
    # The watchdog bounds every operation: while the server was frozen, an operation ended on
    # the client's deadline instead of waiting for the thaw...
    errors_while_frozen = {e.error for e in during if e.error}
    assert errors_while_frozen & DEADLINE_ERRORS, errors_while_frozen
    # ...and no operation sent to the frozen server was acknowledged before the thaw.
    answered_while_frozen = [
        e
        for sent, done, e in operations(events)
        if e.type is Type.ok and fault < sent < done < restore
    ]
    assert answered_while_frozen == []
    # Writes resumed after the thaw: writes sent after it were acknowledged.
    assert [e for sent, _, e in operations(events) if sent > restore and e.type is Type.ok] != []
    # Writes that had reached COMMIT when the server froze are ambiguous, and resolved.
    assert all(
        r.error.endswith("during commit") or r.error == "in flight at the end"
        for r in result.ambiguous
    )
    assert result.found == result.acknowledged + result.ambiguous_committed
    # The reader saw every acknowledged key it asked for.
    assert result.reads >= 10 and result.stale_reads == ()
