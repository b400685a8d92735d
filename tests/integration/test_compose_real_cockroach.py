"""The Compose stack's database stages on a real CockroachDB (tests/support/cockroach.py:
`$IAM_SANDBOX_TEST_COCKROACH_IMAGE`, else the pinned official image when present locally;
skipped, with the image looked for, when there is none).

One cluster for the whole module, brought up by `sandbox up`: three secure nodes with their
localities, `cockroach init`, the bootstrap SQL through the load balancer, and Debian's real
HAProxy health-checking each node's `/health?ready=1` over TLS. The nodes run the command
rendered for the pinned v25.4 unchanged. The Ory services stay stand-ins in these tests: real
Hydra, Kratos and Keto do not run here. The stand-in-only checks (its banners, a broken
migration) stay in test_compose_driver.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator

import psycopg
import pytest

from tests.support.cockroach import (
    SandboxHome,
    image_release,
    real_cockroach_image,
    real_cockroach_name,
    real_cockroach_problem,
    write_real_cockroach_sandbox,
)
from tests.support.docker import UP_STAGES

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(real_cockroach_problem() is not None, reason=str(real_cockroach_problem())),
]

ZONE_LOCALITIES = {
    "region=us-east-1,zone=us-east-1a",
    "region=us-east-1,zone=us-east-1b",
    "region=us-east-1,zone=us-east-1c",
}


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[SandboxHome, subprocess.CompletedProcess[str]]]:
    box = write_real_cockroach_sandbox(tmp_path_factory.mktemp("real-crdb") / "home", "compose")
    try:
        up = box.run("up")
        if up.returncode != 0:
            pytest.fail(f"sandbox up on {real_cockroach_name()} failed:\n{up.stderr}")
        yield box, up
    finally:
        box.down()


@pytest.fixture(scope="module")
def box(cluster: tuple[SandboxHome, subprocess.CompletedProcess[str]]) -> SandboxHome:
    return cluster[0]


def sql_rows(box: SandboxHome, statement: str, user: str = "root") -> list[list[str]]:
    """`sandbox sql -e` run in a node; `cockroach sql` prints TSV without a terminal."""
    done = box.run("sql", "--user", user, "-e", statement, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return [line.split("\t") for line in lines[1:]]  # the first line is the header


def ory_urls(box: SandboxHome) -> dict[str, str]:
    done = box.run("env", "--format", "json", "--show-password")
    assert done.returncode == 0, done.stderr
    env = json.loads(done.stdout)
    return {db: env[f"{db.upper()}_DATABASE_URL"] for db in ("hydra", "kratos", "keto")}


def root_connection(box: SandboxHome) -> psycopg.Connection:
    clients = box.certs / "clients" / "root"
    return psycopg.connect(
        host="localhost",
        port=box.sql_port,
        user="root",
        dbname="defaultdb",
        sslmode="verify-full",
        sslrootcert=str(clients / "ca.crt"),
        sslcert=str(clients / "client.root.crt"),
        sslkey=str(clients / "client.root.key"),
        connect_timeout=10,
        autocommit=True,
    )


def test_up_runs_every_stage(cluster: tuple[SandboxHome, subprocess.CompletedProcess[str]]) -> None:
    _, up = cluster
    for stage in UP_STAGES:
        assert f"✓ {stage}" in up.stderr


def test_it_is_the_real_server(box: SandboxHome) -> None:
    """`version()` of the server itself; when the image's tag names a release (the pinned
    official image does), the server reports that release."""
    [[version]] = sql_rows(box, "SELECT version()")
    assert re.match(r"CockroachDB (CCL|OSS) v\d+\.\d+\.\d+", version), version
    release = image_release(real_cockroach_image())
    if release is not None:
        assert version.split()[2] == release, (version, real_cockroach_image())


def test_status_shows_three_zones(box: SandboxHome) -> None:
    done = box.run("status", "--output", "json")
    assert done.returncode == 0, done.stderr
    by_name = {row["name"]: row for row in json.loads(done.stdout)}
    assert [by_name[f"crdb-{i}"]["zone"] for i in (1, 2, 3)] == [
        "us-east-1a",
        "us-east-1b",
        "us-east-1c",
    ]
    for name in ("crdb-1", "crdb-2", "crdb-3", "crdb"):
        assert by_name[name]["state"] == "running", by_name[name]
    for name in ("crdb-init", "crdb-bootstrap"):
        assert by_name[name]["health"] == "completed", by_name[name]


def test_sql_shows_one_live_node_per_zone(box: SandboxHome) -> None:
    rows = sql_rows(
        box, "SELECT node_id, locality, is_live FROM crdb_internal.gossip_nodes ORDER BY node_id"
    )
    assert [row[0] for row in rows] == ["1", "2", "3"]
    assert {row[1] for row in rows} == ZONE_LOCALITIES
    assert {row[2] for row in rows} == {"true"}


def test_bootstrap_made_real_databases_and_grants_for_ory(box: SandboxHome) -> None:
    """Through the load balancer as `ory` with its password, verifying the node's certificate
    against the sandbox's CA (`sslmode=verify-full`), exactly as the Ory services connect."""
    for db, url in ory_urls(box).items():
        assert "sslmode=verify-full" in url
        with psycopg.connect(url, connect_timeout=10, autocommit=True) as conn:
            assert conn.execute("SELECT current_user, current_database()").fetchone() == (
                "ory",
                db,
            )
            conn.execute("CREATE TABLE IF NOT EXISTS grant_probe (id INT PRIMARY KEY, note STRING)")
            conn.execute("UPSERT INTO grant_probe VALUES (1, %s)", (db,))
            assert conn.execute("SELECT note FROM grant_probe").fetchall() == [(db,)]
            conn.execute("DROP TABLE grant_probe")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("CREATE DATABASE ory_may_not")


def test_ory_cannot_read_another_database_it_was_not_granted(box: SandboxHome) -> None:
    with root_connection(box) as conn:
        conn.execute("CREATE DATABASE IF NOT EXISTS not_for_ory")
        conn.execute("CREATE TABLE IF NOT EXISTS not_for_ory.secrets (id INT PRIMARY KEY)")
    url = ory_urls(box)["hydra"]
    with (
        psycopg.connect(url, connect_timeout=10, autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("SELECT * FROM not_for_ory.secrets")


def test_wrong_password_is_refused(box: SandboxHome) -> None:
    url = ory_urls(box)["keto"]
    user_part = url.split("@", 1)[0]
    wrong = url.replace(user_part, "postgresql://ory:not-the-password", 1)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong, connect_timeout=10)


def test_load_balancer_reaches_all_three_nodes(box: SandboxHome) -> None:
    """HAProxy only sends connections to nodes whose TLS health check passes: new connections
    through it land on all three."""
    gateways = set()
    for _ in range(12):
        with root_connection(box) as conn:
            row = conn.execute(
                "SELECT node_id FROM crdb_internal.node_build_info LIMIT 1"
            ).fetchone()
            assert row is not None
            gateways.add(row[0])
    assert gateways == {1, 2, 3}


def test_sql_as_ory_sees_its_databases(box: SandboxHome) -> None:
    names = {row[0] for row in sql_rows(box, "SHOW DATABASES", user="ory")}
    assert {"hydra", "kratos", "keto"} <= names


def test_second_up_only_rechecks(box: SandboxHome) -> None:
    again = box.run("up")
    assert again.returncode == 0, again.stderr
    assert "already up and unchanged" in again.stderr
    assert "nodes started" not in again.stderr


def test_every_range_gets_three_replicas(box: SandboxHome) -> None:
    """Replication factor 3 over the three zones. Up-replication after `init` takes a while:
    this test comes last so that the others run meanwhile."""
    statement = "SELECT DISTINCT array_length(replicas, 1) FROM crdb_internal.ranges_no_leases"
    deadline = time.monotonic() + 90
    while (rows := sql_rows(box, statement)) != [["3"]]:
        assert time.monotonic() < deadline, f"replica counts still {rows}"
        time.sleep(2)


def test_diagnostics_stay_off_and_tsdb_memory_is_the_settings(box: SandboxHome) -> None:
    # What the bootstrap sets (cockroach.diagnostics: false by default), and the flag a v25.4
    # node was started with (memory.cockroach_tsdb, counted in the 75% rule).
    with root_connection(box) as conn:
        row = conn.execute("SHOW CLUSTER SETTING diagnostics.reporting.enabled").fetchone()
        assert row == (False,)
    args = subprocess.run(
        ["docker", "inspect", "-f", "{{json .Args}}", f"{box.project}-crdb-1"],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    assert "--max-tsdb-memory=64MiB" in json.loads(args)


def test_the_one_shots_fit_their_cap_and_nodes_run_no_client(box: SandboxHome) -> None:
    # The v25.4 CLI under memory.cockroach_one_shot (256 MiB): never OOM-killed. And no Docker
    # health check puts a second cockroach process in a node's cgroup.
    for name in ("crdb-init", "crdb-bootstrap"):
        state = subprocess.run(
            ["docker", "inspect", "-f", "{{.State.OOMKilled}} {{.State.ExitCode}}",
             f"{box.project}-{name}"],
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout.split()  # fmt: skip
        assert state == ["false", "0"], (name, state)
    for node in ("crdb-1", "crdb-2", "crdb-3"):
        check = subprocess.run(
            ["docker", "inspect", "-f", "{{json .Config.Healthcheck}}", f"{box.project}-{node}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
        assert check == "null", (node, check)
