"""The drill's Ory workload against REAL Ory servers on a real PostgreSQL (no fault here).

The zone drill's tests on a real CockroachDB (test_chaos_drill.py) run stand-in Ory, so their
drills use the SQL workload. What the Ory workload does is tested here instead, against Keto
v0.13.0-alpha.0 and Kratos v1.3.1 built from their Go modules (tests/support/ory.py), on
Debian's PostgreSQL with TLS: Keto tuple writes and Kratos identity creations through the
admin APIs, then the same keys read back through the APIs and through SQL, and audited. Rows
deleted behind the workload's back show up as lost, in both sources.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.chaos.history import History
from sandbox.chaos.ory_workload import OryUrls, OryWorkload
from sandbox.model.topology import Topology
from sandbox.pki.layout import CertLayout
from tests.support import ory

pytestmark = ory.real_ory_marks()


@pytest.fixture(scope="module")
def stack(session_pki: tuple[Topology, CertLayout]) -> Iterator[ory.OryStack]:
    with ory.on_postgres(*session_pki) as running:
        yield running


def workload(stack: ory.OryStack, run_id: str) -> OryWorkload:
    import psycopg

    def query(database: str, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with psycopg.connect(stack.database_urls[database], autocommit=True) as conn:
            return list(conn.execute(sql, params).fetchall())

    urls = OryUrls(
        stack.urls["KETO_READ_REMOTE"],
        stack.urls["KETO_WRITE_REMOTE"],
        stack.urls["KRATOS_ADMIN_URL"],
    )
    return OryWorkload(urls, query, run_id, interval=0.05)


def run_for(load: OryWorkload, seconds: float) -> History:
    history = History()
    load.setup()
    load.start(history)
    time.sleep(seconds)
    load.stop()
    return history


def test_every_acknowledged_write_is_found_through_the_apis_and_sql(
    stack: ory.OryStack,
) -> None:
    load = workload(stack, f"ok{int(time.time())}")
    history = run_for(load, 2.5)
    audits = {(a.workload, a.source): a for a in load.audits(history.events())}
    assert set(audits) == {("keto", "api"), ("keto", "sql"), ("kratos", "api"), ("kratos", "sql")}
    for key, result in audits.items():
        assert result.acknowledged >= 10, key
        assert result.acknowledged == result.attempted, f"{key}: no fault, so no failure"
        assert result.found == result.acknowledged, key
        assert result.ok, key
    # The two sources agree key by key, and the keys are the workload's own.
    assert load.keto_sql() == dict(load.keto_api())
    assert load.kratos_sql() == dict(load.kratos_api())
    assert all(k.startswith(f"chaos-{load.run_id}-") for k in load.kratos_sql())


def test_rows_deleted_behind_its_back_are_lost_in_both_sources(stack: ory.OryStack) -> None:
    import psycopg

    load = workload(stack, f"del{int(time.time())}")
    history = run_for(load, 1.5)
    with psycopg.connect(stack.database_urls["kratos"], autocommit=True) as conn:
        conn.execute("DELETE FROM identities WHERE traits->>'email' = %s", (load.kratos_key(0),))
    with psycopg.connect(stack.database_urls["keto"], autocommit=True) as conn:
        conn.execute(
            "DELETE FROM keto_relation_tuples WHERE object IN "
            "(SELECT id FROM keto_uuid_mappings WHERE string_representation = %s)",
            (load.keto_key(1),),
        )
    audits = {(a.workload, a.source): a for a in load.audits(history.events())}
    assert audits[("kratos", "api")].lost == (load.kratos_key(0),)
    assert audits[("kratos", "sql")].lost == (load.kratos_key(0),)
    assert audits[("keto", "api")].lost == (load.keto_key(1),)
    assert audits[("keto", "sql")].lost == (load.keto_key(1),)
    assert not any(a.ok for a in audits.values())


def test_a_stand_in_that_does_not_answer_like_ory_is_named(stack: ory.OryStack) -> None:
    hydra = stack.urls["HYDRA_ADMIN_URL"]  # answers HTTP, but not Keto's or Kratos's API
    load = OryWorkload(OryUrls(hydra, hydra, hydra), lambda d, s, p: [], "x")
    assert load.unavailable() == f"{hydra}/relation-tuples does not answer like Ory (HTTP 404)"
