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
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.chaos.cluster import SqlAccess
from sandbox.chaos.history import History, Type
from sandbox.chaos.sql_workload import DATABASE, SqlWorkload, SqlWorkloadConfig
from sandbox.chaos.timeline import unavailability
from sandbox.config.topology import Topology
from sandbox.pki.layout import CertLayout
from tests.support.postgres import Server, postgres_bin, tls_postgres

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        postgres_bin() is None,
        reason="PostgreSQL server not installed (scripts/test.sh installs it)",
    ),
]


@pytest.fixture(scope="module")
def pg(session_pki: tuple[Topology, CertLayout]) -> Iterator[tuple[Server, CertLayout]]:
    _, layout = session_pki
    node = layout.node_dir("crdb-1")
    hba = ["hostssl all all 127.0.0.1/32 cert clientcert=verify-full"]
    with tls_postgres(node / "ca.crt", node / "node.crt", node / "node.key", hba) as server:
        server.psql("CREATE ROLE root LOGIN")
        server.psql(f"CREATE DATABASE {DATABASE} OWNER root")
        yield server, layout


def server_pids(server: Server) -> list[int]:
    """The postmaster (its pid file's first line) and every process it started."""
    main = int((server.data / "postmaster.pid").read_text().splitlines()[0])
    children = Path(f"/proc/{main}/task/{main}/children").read_text().split()
    return [main, *(int(c) for c in children)]


def freeze(server: Server, seconds: float) -> None:
    pids = server_pids(server)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(seconds)
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def test_a_frozen_server_costs_the_deadline_and_loses_nothing(
    pg: tuple[Server, CertLayout],
) -> None:
    server, layout = pg
    access = SqlAccess("127.0.0.1", server.port, layout.client_dir("root"))
    load = SqlWorkload(access, "frozen", SqlWorkloadConfig(deadline=1.0))
    load.create_table()
    history = History()
    load.start(history)
    time.sleep(1.5)
    fault_at = history.nemesis("fault", "SIGSTOP")
    freeze(server, 3.0)
    history.nemesis("restore", "SIGCONT")
    time.sleep(2.5)
    load.stop()
    end = history.nemesis("end")
    events = history.events()

    (result,) = load.audits(events)
    assert result.ok, result
    assert result.lost == () and result.duplicates == ()
    assert result.acknowledged > 50
    errors = {e.error for e in events if e.type in (Type.fail, Type.info)}
    assert errors & {"deadline", "deadline during commit", "connect failed"}, errors
    # Writes that had reached COMMIT when the server froze are ambiguous, and resolved.
    assert all(
        r.error.endswith("during commit") or r.error == "in flight at the end"
        for r in result.ambiguous
    )
    assert result.found == result.acknowledged + result.ambiguous_committed
    # The watchdog bounds every operation: nothing waited much past the 1 s deadline...
    waits = [e.latency for e in events if e.latency is not None and e.f == "write"]
    assert max(waits) < 1.0 + 2.5, max(waits)
    # ...and writes stopped for about as long as the server was frozen.
    gap = unavailability(events, "sql", end)
    assert gap is not None and 2.5 < gap.seconds < 6, gap
    assert gap.start == pytest.approx(fault_at, abs=1.0)
    # The reader saw every acknowledged key it asked for.
    assert result.reads > 5 and result.stale_reads == ()
