"""When a cluster counts as recovered: every node live, and no range short of a replica.

Pure: the node liveness and each range's replica list in, a reason to keep waiting out.
On v20.1 the `ranges_underreplicated` metric lags by about ten seconds and descriptors keep
listing a dead node's replicas for minutes (a store is declared dead after 5 min), so a range
counts as under-replicated while any of its replicas sits on a node that is not live, and as
unavailable when fewer than a majority of its replicas are on live nodes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


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
