"""CockroachDB's recovery probe for `sandbox chaos`: every node live, no range short of a replica.

The queries read `crdb_internal.gossip_nodes` for liveness and locality,
`crdb_internal.ranges_no_leases` for replica lists (cheap: no RPC per range), and
`crdb_internal.ranges` for lease holders once, before the fault. The judgement is pure: node
liveness and each range's replica list in, a reason to keep waiting out. Measured on v20.1:
the `ranges_underreplicated` metric lags by about ten seconds and descriptors keep listing a
dead node's replicas for minutes (a store is declared dead after 5 min), so a range counts as
under-replicated while any of its replicas sits on a node that is not live, and as unavailable
when fewer than a majority of its replicas are on live nodes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

    from sandbox.chaos.cluster import SqlAccess
    from sandbox.chaos.report import Failover

NODES_SQL = "SELECT node_id, is_live, locality FROM crdb_internal.gossip_nodes"
RANGES_SQL = "SELECT replicas FROM crdb_internal.ranges_no_leases"
LEASES_SQL = "SELECT lease_holder, start_pretty FROM crdb_internal.ranges"
LIVENESS_RANGE = "/System/NodeLiveness"


@dataclass(frozen=True)
class ClusterState:
    live: Mapping[int, bool]
    """node id -> live (gossip's view)."""
    ranges: Sequence[Sequence[int]]
    """Per range, the node ids of its replicas."""


@dataclass(frozen=True)
class Replication:
    ranges: int
    under_replicated: int
    unavailable: int


def replication(state: ClusterState) -> Replication:
    under = unavailable = 0
    for replicas in state.ranges:
        live = sum(1 for n in replicas if state.live.get(n, False))
        if live < len(replicas):
            under += 1
        if live <= len(replicas) // 2:
            unavailable += 1
    return Replication(len(state.ranges), under, unavailable)


def waiting_for(state: ClusterState, nodes: int) -> str | None:
    """Why the cluster has not recovered yet, or None once it has."""
    dead = sorted(n for n, live in state.live.items() if not live)
    if dead:
        return "node " + ", ".join(f"n{n}" for n in dead) + " not live"
    if len(state.live) < nodes:
        return f"{len(state.live)} of {nodes} nodes known"
    r = replication(state)
    if r.unavailable or r.under_replicated:
        return f"{r.unavailable} unavailable, {r.under_replicated} under-replicated ranges"
    return None


def zone_of(locality: str) -> str:
    """`region=us-east-1,zone=us-east-1b` -> `us-east-1b` ("" without a zone tier)."""
    for tier in locality.split(","):
        key, _, value = tier.partition("=")
        if key.strip() == "zone":
            return value.strip()
    return ""


def read_state(conn: psycopg.Connection[Any]) -> tuple[ClusterState, dict[int, str]]:
    """Liveness and replicas, and each node's zone."""
    nodes = conn.execute(NODES_SQL).fetchall()
    ranges = conn.execute(RANGES_SQL).fetchall()
    state = ClusterState(
        live={int(n): bool(live) for n, live, _ in nodes},
        ranges=[tuple(int(r) for r in row[0]) for row in ranges],
    )
    return state, {int(n): zone_of(str(loc)) for n, _, loc in nodes}


def lease_summary(rows: list[tuple[int, str]]) -> str:
    """`leases: n1 12, n2 15, n3 14; node liveness range on n2` (pure)."""
    counts = Counter(int(holder) for holder, _ in rows)
    liveness = next((int(h) for h, start in rows if start == LIVENESS_RANGE), None)
    text = "leases: " + ", ".join(f"n{n} {c}" for n, c in sorted(counts.items()))
    if liveness is not None:
        text += f"; node liveness range on n{liveness}"
    return text


class CockroachProbe:
    """`sandbox.chaos.cluster.RecoveryProbe` for the `cockroachdb` engine."""

    def waiting_for(self, conn: psycopg.Connection[Any], nodes: int) -> str | None:
        state, _ = read_state(conn)
        return waiting_for(state, nodes)

    def zone_member(self, conn: psycopg.Connection[Any], zone: str) -> str:
        _, zones = read_state(conn)
        matches = [n for n, z in zones.items() if z == zone]
        if len(matches) != 1:
            raise LookupError(f"expected one node in zone {zone}, the cluster has {len(matches)}")
        return f"n{matches[0]}"

    def failover(self, access: SqlAccess, fault_at: float) -> Failover | None:
        return None  # every node takes writes: there is no leader to replace

    def placement(self, conn: psycopg.Connection[Any]) -> str:
        rows = conn.execute(LEASES_SQL).fetchall()
        return lease_summary([(int(h), str(s)) for h, s in rows if h is not None])
