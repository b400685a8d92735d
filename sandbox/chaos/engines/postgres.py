"""PostgreSQL's recovery probe for `sandbox chaos`: a leader behind the load balancer, every
other node streaming from it, and nothing left to replay (lag 0).

Read from the leader through the load balancer, as the superuser: `pg_is_in_recovery()` says
whether the connection reached a leader at all (right after a failover HAProxy may still point
at a node being promoted), `pg_stat_replication` lists the standbys, their state, whether they
are synchronous, and how far behind the leader's WAL their replay is.
"""

from __future__ import annotations

import json
import ssl
import urllib.request
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

    from sandbox.chaos.cluster import SqlAccess
    from sandbox.chaos.report import Failover
    from sandbox.model.topology import Topology

IN_RECOVERY_SQL = "SELECT pg_is_in_recovery()"
STANDBYS_SQL = (
    "SELECT application_name, state, sync_state, "
    "COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), -1) "
    "FROM pg_stat_replication ORDER BY application_name"
)


Standby = tuple[str, str, str, int]
"""(name, state, sync state, replay lag in bytes; -1 when unknown)."""


def waiting_for(in_recovery: bool, standbys: Sequence[Standby], nodes: int) -> str | None:
    """Why the cluster has not recovered yet, or None once it has (pure)."""
    if in_recovery:
        return "the load balancer reached a standby: no leader yet"
    streaming = [s for s in standbys if s[1] == "streaming"]
    if len(streaming) < nodes - 1:
        return f"{len(streaming)} of {nodes - 1} standbys streaming"
    behind = [name for name, _, _, lag in streaming if lag != 0]
    if behind:
        return "replay lag on " + ", ".join(behind)
    return None


def leader_of(topology: Topology, standbys: Sequence[Standby]) -> str | None:
    """The node that is not among the leader's standbys (None while that is unclear)."""
    others = {s[0] for s in standbys}
    left = [n.name for n in topology.nodes if n.name not in others]
    return left[0] if len(left) == 1 else None


class PostgresProbe:
    """`sandbox.chaos.cluster.RecoveryProbe` for the `postgres` engine."""

    def __init__(self, topology: Topology) -> None:
        self.topology = topology

    def _read(self, conn: psycopg.Connection[Any]) -> tuple[bool, list[Standby]]:
        row = conn.execute(IN_RECOVERY_SQL).fetchone()
        rows = conn.execute(STANDBYS_SQL).fetchall()
        standbys = [(str(a), str(s), str(y), int(lag)) for a, s, y, lag in rows]
        return bool(row and row[0]), standbys

    def waiting_for(self, conn: psycopg.Connection[Any], nodes: int) -> str | None:
        return waiting_for(*self._read(conn), nodes)

    def zone_member(self, conn: psycopg.Connection[Any], zone: str) -> str:
        node = next(n.name for n in self.topology.nodes if n.zone == zone)
        leader = leader_of(self.topology, self._read(conn)[1])
        return f"{node} ({'the leader' if node == leader else 'a standby'})"

    def placement(self, conn: psycopg.Connection[Any]) -> str:
        _, standbys = self._read(conn)
        leader = leader_of(self.topology, standbys) or "unknown"
        roles = ", ".join(f"{name} {sync}" for name, _, sync, _ in standbys)
        return f"leader {leader}; standbys {roles or 'none'}"

    def failover(self, access: SqlAccess, fault_at: float) -> Failover | None:
        """From Patroni's own history (`/history` on any node's REST API, over verified
        TLS): the first timeline switch after the fault, its time and its new leader."""
        from sandbox.chaos.report import Failover

        how = "Patroni's /history: the first timeline switch after the fault"
        for node in self.topology.nodes:
            history = _history(node.http_host_port, access.certs / "ca.crt")
            if history is None:
                continue
            after = [(at, leader) for at, leader in history if at >= fault_at]
            if not after:
                return Failover(None, None, how)
            at, leader = min(after)
            return Failover(leader, round(at - fault_at, 3), how)
        return Failover(None, None, "not measured: no node's REST API answered")


def parse_history(entries: list[list[Any]]) -> list[tuple[float, str]]:
    """Patroni's `/history` rows `[timeline, lsn, reason, timestamp, new leader]` as (epoch
    seconds, new leader); rows without a time or a leader are left out (pure)."""
    out = []
    for entry in entries:
        if len(entry) >= 5 and entry[3] and entry[4]:
            out.append((datetime.fromisoformat(str(entry[3])).timestamp(), str(entry[4])))
    return out


def _history(port: int, ca: Path) -> list[tuple[float, str]] | None:
    context = ssl.create_default_context(cafile=str(ca))
    try:
        with urllib.request.urlopen(
            f"https://localhost:{port}/history", timeout=3, context=context
        ) as answer:
            return parse_history(json.load(answer))
    except (OSError, ValueError):
        return None
