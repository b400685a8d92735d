"""The whole pipeline in containers on real servers: `database.engine: postgres`.

Three PostgreSQL nodes under Patroni (one per zone), a three-member etcd, Debian's HAProxy
routing to the leader, and real Hydra, Kratos and Keto migrated onto it, all from the images
scripts/prepare-images.sh builds (tests/support/pg_stack.py). One stack for the module:
`up`, `status`, the replication behind it, `sql`, `verify` (its SQL proof included), `load`,
zone drills in all four modes with the SQL and Ory workloads, an audit shown to catch rows
deleted behind its back, and `down --volumes` leaving nothing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from sandbox.chaos.cluster import SqlAccess
from sandbox.chaos.sql_workload import COUNT, DATABASE
from tests.support.cockroach import SandboxHome
from tests.support.load_counts import load_counts
from tests.support.pg_stack import stack_problem, write_stack

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(stack_problem() is not None, reason=str(stack_problem())),
]
NODES = ("pg-1", "pg-2", "pg-3")
DRILL = ("--outage", "8s", "--duration", "30s", "--output", "json")


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[SandboxHome, subprocess.CompletedProcess[str]]]:
    box = write_stack(tmp_path_factory.mktemp("pg") / "home", "pipeline")
    try:
        up = box.run("up", timeout=900)
        if up.returncode != 0:
            pytest.fail(f"sandbox up (postgres engine) failed:\n{up.stderr}")
        yield box, up
    finally:
        box.down()


@pytest.fixture(scope="module")
def box(stack: tuple[SandboxHome, subprocess.CompletedProcess[str]]) -> SandboxHome:
    return stack[0]


def sql(box: SandboxHome, statement: str, user: str = "root") -> list[str]:
    """`sandbox sql -e`: psql in a node, to the leader; the rows' first column."""
    done = box.run("sql", "--user", user, "-e", statement, timeout=120)
    assert done.returncode == 0, done.stderr
    # psql's aligned output: a header, a rule, the rows, then "(N rows)".
    lines = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    end = next(i for i, line in enumerate(lines) if re.fullmatch(r"\(\d+ rows?\)", line))
    return [row.split("|")[0].strip() for row in lines[2:end]]


def test_up_walks_the_engines_stages(
    stack: tuple[SandboxHome, subprocess.CompletedProcess[str]],
) -> None:
    ends = [line.split(" (")[0] for line in stack[1].stderr.splitlines() if line[:1] == "✓"]
    assert ends == [
        "✓ pre-flight",
        "✓ nodes started",
        "✓ bootstrap done",
        "✓ migrations done",
        "✓ services ready",
    ]


def test_status_shows_every_member_in_its_zone(box: SandboxHome) -> None:
    done = box.run("status", "--output", "json")
    assert done.returncode == 0, done.stderr
    rows = {r["name"]: r for r in json.loads(done.stdout)}
    zones = {name: rows[name]["zone"] for name in (*NODES, "etcd-1", "etcd-2", "etcd-3")}
    assert zones == {
        "pg-1": "us-east-1a",
        "pg-2": "us-east-1b",
        "pg-3": "us-east-1c",
        "etcd-1": "us-east-1a",
        "etcd-2": "us-east-1b",
        "etcd-3": "us-east-1c",
    }
    assert rows["pg-bootstrap"]["health"] == "completed"
    # no Docker health check in the nodes: their health is Patroni's /readiness, from the host
    assert [rows[n]["health"] for n in NODES] == ["healthy", "healthy", "healthy"]
    assert {rows[s]["state"] for s in ("hydra", "kratos", "keto")} == {"running"}


def test_both_standbys_stream_from_the_leader_and_one_is_synchronous(box: SandboxHome) -> None:
    states = sql(box, "SELECT state || ' ' || sync_state FROM pg_stat_replication")
    assert sorted(s.split()[0] for s in states) == ["streaming", "streaming"]
    assert any(s.split()[1] in ("sync", "quorum") for s in states), states


ETCD = ",".join(f"http://etcd-{i}:2379" for i in (1, 2, 3))


def etcdctl(box: SandboxHome, *args: str, endpoints: str = ETCD) -> str:
    """`etcdctl` in etcd-1's container (the test image ships it), on `endpoints`."""
    argv = ["docker", "exec", f"{box.project}-etcd-1", "etcdctl", f"--endpoints={endpoints}"]
    done = subprocess.run([*argv, *args], capture_output=True, text=True, timeout=30)
    return done.stdout


def etcd_status(box: SandboxHome, endpoints: str = ETCD) -> list[dict[str, Any]]:
    return list(json.loads(etcdctl(box, "endpoint", "status", "-w", "json", endpoints=endpoints)))


def etcd_leader(box: SandboxHome) -> str:
    """The etcd member that leads, by `etcdctl endpoint status`."""
    (leader,) = [
        row["Endpoint"]
        for row in etcd_status(box)
        if row["Status"]["header"]["member_id"] == row["Status"]["leader"]
    ]
    return str(leader).removeprefix("http://").removesuffix(":2379")


def test_the_etcd_leader_is_moved_out_of_the_postgres_leaders_zone(box: SandboxHome) -> None:
    # One zone holding both leaders costs an etcd election and a full lease ttl more when it
    # goes down (a new etcd leader renews every lease). Put etcd's leader there on purpose:
    # the node's watcher hands it to another zone within a few seconds.
    standbys = sql(box, "SELECT application_name FROM pg_stat_replication ORDER BY 1")
    (leader,) = [n for n in NODES if n not in standbys]
    same_zone = "etcd-" + leader.removeprefix("pg-")
    (row,) = etcd_status(box, endpoints=f"http://{same_zone}:2379")
    member_hex = format(row["Status"]["header"]["member_id"], "x")
    deadline = time.monotonic() + 60
    while etcd_leader(box) != same_zone:
        etcdctl(box, "move-leader", member_hex)
        assert time.monotonic() < deadline, "etcd's leadership could not be moved there"
    deadline = time.monotonic() + 20
    while etcd_leader(box) == same_zone:
        assert time.monotonic() < deadline, f"{same_zone} still leads etcd beside {leader}"
        time.sleep(0.5)
    logs = subprocess.run(
        ["docker", "logs", f"{box.project}-{leader}"], capture_output=True, text=True, timeout=30
    )
    assert f"etcd leader moved from {same_zone} to etcd-" in logs.stdout + logs.stderr


def test_sql_as_ory_shows_its_password_and_reaches_its_databases(box: SandboxHome) -> None:
    assert sql(box, "SELECT current_user", user="ory") == ["ory"]
    owned = sql(box, "SELECT datname FROM pg_database WHERE datdba = 'ory'::regrole ORDER BY 1")
    assert owned == ["hydra", "keto", "kratos"]


def test_ory_connects_over_verify_full_through_the_load_balancer(box: SandboxHome) -> None:
    env = json.loads(box.run("env", "--format", "json", "--show-password").stdout)
    url = env["KRATOS_DATABASE_URL"]
    with psycopg.connect(url, connect_timeout=10) as conn:
        assert conn.info.pgconn.ssl_in_use
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (False,)
    # The same address under a name the node certificates do not carry: refused.
    with pytest.raises(psycopg.OperationalError, match="does not match host name"):
        psycopg.connect(
            url, host="not-in-the-certificates.example", hostaddr="127.0.0.1", connect_timeout=10
        ).close()


def test_verify_passes_every_check_including_the_sql_proof(box: SandboxHome) -> None:
    done = box.run("verify", "--output", "json", timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    results = {c["name"]: c["result"] for c in report["checks"]}
    assert set(results.values()) == {"pass"}, results
    assert {"sql.hydra_client", "sql.identities", "sql.keto_relation_tuples"} <= set(results)
    # A person's login through the containers' aliases: Kratos accepts Hydra's login at
    # http://hydra-admin:4445, and Hydra ends the Kratos session at http://kratos-admin:4434.
    assert results["oidc.login.trusted"] == results["oidc.logout.both-sessions"] == "pass"


def test_the_login_ui_sends_a_login_challenge_to_kratos(box: SandboxHome) -> None:
    env = json.loads(box.run("env", "--format", "json").stdout)
    ui, kratos = env["KRATOS_UI_URL"], env["KRATOS_PUBLIC_URL"]
    assert httpx.get(f"{ui}/health/alive", timeout=10).status_code == 200
    resp = httpx.get(f"{ui}/login", params={"login_challenge": "c-123"}, timeout=10)
    assert resp.status_code == 303
    assert resp.headers["location"] == (
        f"{kratos}/self-service/login/browser?login_challenge=c-123"
    )


def test_load_of_all_three_services_gets_no_wrong_answer(box: SandboxHome) -> None:
    done = box.run("load", "all", "--duration", "4s", "--output", "json", timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["summary"]["wrong_answers"] == 0 and report["summary"]["errors"] == 0, report
    env = json.loads(box.run("env", "--format", "json", "--show-password").stdout)
    urls = {db: env[f"{db.upper()}_DATABASE_URL"] for db in ("hydra", "kratos", "keto")}
    found = load_counts(urls, report["run_id"])
    for kind in ("hydra.clients", "hydra.tokens", "kratos.identities", "keto.tuples"):
        assert found[kind] == report["created"][kind] > 0, (kind, found, report["created"])


def drill(box: SandboxHome, zone: str, mode: str, workloads: str) -> tuple[int, dict[str, Any]]:
    argv = ("chaos", "zone", zone, "--mode", mode, "--workload", workloads, *DRILL)
    done = box.run(*argv, timeout=600)
    assert done.stdout.strip(), done.stderr
    return done.returncode, json.loads(done.stdout)


@pytest.mark.parametrize(
    ("zone", "mode"),
    [
        ("us-east-1a", "kill"),
        ("us-east-1b", "stop"),
        ("us-east-1c", "pause"),
        ("us-east-1a", "partition"),
    ],
)
def test_a_zone_drill_loses_nothing_and_recovers(box: SandboxHome, zone: str, mode: str) -> None:
    code, report = drill(box, zone, mode, "sql,ory")
    assert code == 0, report
    assert report["ok"] is True and report["lost"] == 0 and report["recovered"] is True
    member = {"us-east-1a": "1", "us-east-1b": "2", "us-east-1c": "3"}[zone]
    assert report["node"] == f"{box.project}-pg-{member}+{box.project}-etcd-{member}"
    failover = report["failover"]
    assert failover["how"] == "Patroni's /history: the first timeline switch after the fault"
    if failover["leader"] is not None:
        # The zone held the leader. With an outage shorter than Patroni's ttl the same node
        # may keep its key and be promoted again when it is back: any node, after the fault.
        assert failover["leader"] in NODES and failover["seconds"] > 0, failover
    audits = {(a["workload"], a["source"]): a for a in report["audits"]}
    assert set(audits) == {
        ("sql", "sql"),
        ("keto", "api"),
        ("keto", "sql"),
        ("kratos", "api"),
        ("kratos", "sql"),
    }
    for audit in audits.values():
        assert audit["lost"] == [] and audit["duplicates"] == [], audit
        assert all(a["committed"] is not None for a in audit["ambiguous"]), audit
    rows = audits[("sql", "sql")]
    assert rows["acknowledged"] > 100
    assert rows["found"] == rows["acknowledged"] + rows["ambiguous_committed"]
    with superuser(box).connect(DATABASE) as conn:
        counted = conn.execute(COUNT, (report["run_id"],)).fetchone()
    assert counted == (rows["found"],), "the report's count is the database's, read apart"


def superuser(box: SandboxHome) -> SqlAccess:
    certs = box.certs / "clients" / "postgres"
    return SqlAccess("127.0.0.1", box.sql_port, certs, "postgres", "postgres")


def test_the_audit_catches_rows_deleted_behind_the_drills_back(box: SandboxHome) -> None:
    # A standby's zone goes down, so the leader keeps taking writes (and the deletion).
    standby = sql(box, "SELECT application_name FROM pg_stat_replication ORDER BY 1")[0]
    zone = {"pg-1": "us-east-1a", "pg-2": "us-east-1b", "pg-3": "us-east-1c"}[standby]
    argv = [sys.executable, "-m", "sandbox", "chaos", "zone", zone, "--mode", "kill"]
    argv += ["--workload", "sql", *DRILL]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
    proc = subprocess.Popen(
        argv, cwd=box.home, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    assert proc.stderr is not None
    seen = ""
    while not seen.endswith("\n") or "fault:" not in seen.splitlines()[-1]:
        line = proc.stderr.readline()
        assert line, seen
        seen += line
    run_id = re.search(r"^drill (\S+):", seen, re.MULTILINE)
    assert run_id, seen
    # Through the load balancer (the leader), while the zone is down: the first five writes
    # of each writer go.
    with superuser(box).connect(DATABASE) as conn:
        gone = conn.execute("DELETE FROM writes WHERE run = %s AND seq < 5", (run_id[1],)).rowcount
    assert gone == 10
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, seen + err
    report = json.loads(out)
    assert report["lost"] == 10 and report["ok"] is False
    assert sorted(report["audits"][0]["lost"]) == sorted(
        f"{run_id[1]}-{w}-{s}" for w in (0, 1) for s in range(5)
    )


def test_down_leaves_nothing(box: SandboxHome) -> None:
    done = box.down()
    assert done.returncode == 0, done.stderr
    label = f"label=io.iam-sandbox.project={box.project}"
    for kind in (["ps", "-a"], ["network", "ls"], ["volume", "ls"]):
        found = subprocess.run(
            ["docker", *kind, "-q", "--filter", label], capture_output=True, text=True, timeout=60
        )
        assert found.stdout.split() == [], (kind, found.stdout)
