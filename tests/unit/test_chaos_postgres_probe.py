"""When a PostgreSQL cluster counts as recovered after a zone drill (the probe's pure part)."""

from __future__ import annotations

from sandbox.chaos.engines.postgres import leader_of, parse_history, waiting_for
from sandbox.config.settings import Settings
from sandbox.model.topology import Topology

SYNC = ("pg-2", "streaming", "sync", 0)
ASYNC = ("pg-3", "streaming", "async", 0)


def test_recovered_only_with_a_leader_and_every_standby_streaming_and_caught_up() -> None:
    assert waiting_for(False, [SYNC, ASYNC], 3) is None
    assert waiting_for(True, [], 3) == "the load balancer reached a standby: no leader yet"
    assert waiting_for(False, [SYNC], 3) == "1 of 2 standbys streaming"
    catching_up = ("pg-3", "catchup", "async", 4096)
    assert waiting_for(False, [SYNC, catching_up], 3) == "1 of 2 standbys streaming"
    assert waiting_for(False, [SYNC, ("pg-3", "streaming", "async", 8192)], 3) == (
        "replay lag on pg-3"
    )
    assert waiting_for(False, [SYNC, ("pg-3", "streaming", "async", -1)], 3) == (
        "replay lag on pg-3"
    )


def test_the_leader_is_the_node_no_standby_row_names() -> None:
    topology = Topology(Settings.model_validate({"database": {"engine": "postgres"}}))
    assert leader_of(topology, [SYNC, ASYNC]) == "pg-1"
    assert leader_of(topology, [SYNC]) is None


def test_patroni_history_rows_become_times_and_new_leaders() -> None:
    rows = [
        [1, 50331808, "no recovery target specified", "2026-12-03T16:20:01.500000+00:00", "pg-2"],
        [2, 50400000, "no recovery target specified", None, None],
    ]
    assert parse_history(rows) == [(1796314801.5, "pg-2")]
