"""The load balancer's reaction read from real HAProxy 2.6 log lines, and the recovery rule."""

from __future__ import annotations

from datetime import UTC, datetime

from sandbox.chaos.engines.cockroach import (
    ClusterState,
    Replication,
    replication,
    waiting_for,
    zone_of,
)
from sandbox.chaos.haproxy_log import lb_times, state_changes

# Lines as `docker logs --timestamps` showed them for the stand-in stack: crdb-2 killed and
# started, crdb-3 paused and unpaused.
LOG = """\
2026-11-23T00:29:03.846551696Z [ALERT]    (7) : proxy 'sql' has no server available!
2026-11-23T00:29:06.203972383Z [WARNING]  (7) : Server sql/crdb-2 is UP, reason: Layer7 check passed, code: 200, check duration: 1ms. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.
2026-11-23T00:29:15.100000000Z [WARNING]  (7) : Server sql-alive/crdb-2 is DOWN, reason: Layer4 timeout, check duration: 1000ms. 2 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.
2026-11-23T00:29:16.740771544Z [WARNING]  (7) : Server sql/crdb-2 is DOWN, reason: Layer4 timeout, check duration: 1000ms. 2 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.
2026-11-23T00:29:22.267272525Z [WARNING]  (7) : Server sql/crdb-2 is UP, reason: Layer7 check passed, code: 200, check duration: 1ms. 3 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.
2026-11-23T00:29:24.025693184Z [WARNING]  (7) : Server sql/crdb-3 is DOWN, reason: Layer6 timeout, check duration: 1001ms. 2 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.
2026-11-23T00:29:30.000000000Z [WARNING]  (7) : Server sql/crdb-2 is going DOWN for maintenance (DNS NX status). 2 active and 0 backup servers left.
"""  # noqa: E501


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_state_changes_of_one_server() -> None:
    changes = state_changes(LOG, "crdb-2")
    assert [s for _, s in changes] == ["up", "down", "up", "down"]
    assert abs(changes[1][0] - (epoch("2026-11-23T00:29:16") + 0.740771)) < 1e-5
    assert [s for _, s in state_changes(LOG, "crdb-3")] == ["down"]
    assert state_changes(LOG, "crdb-1") == []


def test_eject_and_readd_are_counted_from_the_fault_and_the_restore() -> None:
    fault = epoch("2026-11-23T00:29:14")
    restore = epoch("2026-11-23T00:29:20")
    times = lb_times(state_changes(LOG, "crdb-2"), fault, restore)
    assert (times.eject, times.readd) == (2.741, 2.267)
    none = lb_times(state_changes(LOG, "crdb-1"), fault, None)
    assert (none.eject, none.readd) == (None, None)


def test_replication_counts_ranges_short_of_a_live_replica() -> None:
    state = ClusterState(
        live={1: True, 2: False, 3: True},
        ranges=[(1, 2, 3), (1, 3, 2), (1, 3), (2,)],
    )
    assert replication(state) == Replication(ranges=4, under_replicated=3, unavailable=1)


def test_waiting_for_names_what_is_missing() -> None:
    healthy = [(1, 2, 3), (2, 3, 1)]
    assert waiting_for(ClusterState({1: True, 2: False, 3: True}, healthy), 3) == "node n2 not live"
    assert waiting_for(ClusterState({1: True, 3: True}, healthy), 3) == "2 of 3 nodes known"
    assert (
        waiting_for(ClusterState({1: True, 2: True, 3: True}, [(1, 2, 4)]), 3)
        == "0 unavailable, 1 under-replicated ranges"
    )
    assert waiting_for(ClusterState({1: True, 2: True, 3: True}, healthy), 3) is None


def test_zone_of_a_locality() -> None:
    assert zone_of("region=us-east-1,zone=us-east-1b") == "us-east-1b"
    assert zone_of("region=us-east-1") == ""
