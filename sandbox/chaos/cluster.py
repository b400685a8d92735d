"""SQL as root through the load balancer: node liveness, replication and lease placement.

The queries use what works on v20.1 as on later versions: `crdb_internal.gossip_nodes` for
liveness and locality, `crdb_internal.ranges_no_leases` for replica lists (cheap: no RPC per
range), and `crdb_internal.ranges` for lease holders once, before the fault.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox.chaos.recovery import ClusterState, waiting_for, zone_of

if TYPE_CHECKING:
    import psycopg

NODES_SQL = "SELECT node_id, is_live, locality FROM crdb_internal.gossip_nodes"
RANGES_SQL = "SELECT replicas FROM crdb_internal.ranges_no_leases"
LEASES_SQL = "SELECT lease_holder, start_pretty FROM crdb_internal.ranges"
LIVENESS_RANGE = "/System/NodeLiveness"


@dataclass(frozen=True)
class SqlAccess:
    """Where and as whom: a host port and a client certificate folder (ca.crt, client.*)."""

    host: str
    port: int
    certs: Path
    user: str = "root"

    def conninfo(self, dbname: str = "defaultdb", connect_timeout: int = 5) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "dbname": dbname,
            "user": self.user,
            "sslmode": "verify-full",
            "sslrootcert": str(self.certs / "ca.crt"),
            "sslcert": str(self.certs / f"client.{self.user}.crt"),
            "sslkey": str(self.certs / f"client.{self.user}.key"),
            "connect_timeout": max(2, connect_timeout),
            "application_name": "sandbox-chaos",
        }

    def connect(self, dbname: str = "defaultdb", timeout: int = 5) -> psycopg.Connection[Any]:
        import psycopg

        return psycopg.connect(**self.conninfo(dbname, timeout), autocommit=True)


def read_state(conn: psycopg.Connection[Any]) -> tuple[ClusterState, dict[int, str]]:
    """Liveness and replicas, and each node's zone."""
    nodes = conn.execute(NODES_SQL).fetchall()
    ranges = conn.execute(RANGES_SQL).fetchall()
    state = ClusterState(
        live={int(n): bool(live) for n, live, _ in nodes},
        ranges=[tuple(int(r) for r in row[0]) for row in ranges],
    )
    return state, {int(n): zone_of(str(loc)) for n, _, loc in nodes}


def node_of_zone(access: SqlAccess, zone: str) -> int:
    with access.connect() as conn:
        _, zones = read_state(conn)
    matches = [n for n, z in zones.items() if z == zone]
    if len(matches) != 1:
        raise LookupError(f"expected one node in zone {zone}, the cluster has {len(matches)}")
    return matches[0]


def lease_summary(rows: list[tuple[int, str]]) -> str:
    """`leases: n1 12, n2 15, n3 14; node liveness range on n2` (pure)."""
    counts = Counter(int(holder) for holder, _ in rows)
    liveness = next((int(h) for h, start in rows if start == LIVENESS_RANGE), None)
    text = "leases: " + ", ".join(f"n{n} {c}" for n, c in sorted(counts.items()))
    if liveness is not None:
        text += f"; node liveness range on n{liveness}"
    return text


def leases(access: SqlAccess) -> str:
    with access.connect(timeout=10) as conn:
        rows = conn.execute(LEASES_SQL).fetchall()
    return lease_summary([(int(h), str(s)) for h, s in rows if h is not None])


def wait_recovered(
    access: SqlAccess,
    nodes: int,
    timeout: float,
    interval: float = 0.5,
    on_change: Callable[[str], None] | None = None,
) -> tuple[bool, str]:
    """Poll until every node is live and no range is short of a replica; (ok, last reason)."""
    import psycopg

    deadline = time.monotonic() + timeout
    reason = "not checked yet"
    conn: psycopg.Connection[Any] | None = None
    while True:
        try:
            if conn is None or conn.closed:
                conn = access.connect(timeout=3)
            state, _ = read_state(conn)
            now = waiting_for(state, nodes)
        except psycopg.Error as exc:
            now = f"SQL: {type(exc).__name__}"
            if conn is not None:
                conn.close()
            conn = None
        if now != reason and on_change is not None and now is not None:
            on_change(now)
        if now is None:
            if conn is not None:
                conn.close()
            return True, ""
        reason = now
        if time.monotonic() >= deadline:
            if conn is not None:
                conn.close()
            return False, reason
        time.sleep(interval)
