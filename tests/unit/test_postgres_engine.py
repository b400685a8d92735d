"""The PostgreSQL engine as the rest of the sandbox sees it: members, chain, files, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sandbox.config.settings import Settings
from sandbox.errors import BadInput
from sandbox.model.load import load_settings
from sandbox.model.topology import Topology
from sandbox.plan.stages import gates, up_stages
from sandbox.render.compose import compose_model, render_project
from sandbox.render.ory import dsn
from sandbox.state import OrySecrets

SECRETS = OrySecrets(
    "ory-pw-0123456789",
    "hydra-system-0123456789abcdef",
    "kratos-default-0123456789abcdef",
    "kratos-cookie-0123456789abcdef",
    "cipher-0123456789abcdef012345678",
    "superuser-pw-0123456789",
    "replication-pw-0123456789",
    "ui-cookie-0123456789abcdef",
    "ui-csrf-0123456789abcdef",
)


def topology(**extra: object) -> Topology:
    return Topology(Settings.model_validate({"database": {"engine": "postgres"}, **extra}))


def test_nodes_and_their_etcd_members_one_per_zone() -> None:
    members = topology().engine.members(topology())
    assert [(m.name, m.zone, m.role, m.image_key) for m in members] == [
        ("pg-1", "us-east-1a", "node", "postgres"),
        ("pg-2", "us-east-1b", "node", "postgres"),
        ("pg-3", "us-east-1c", "node", "postgres"),
        ("etcd-1", "us-east-1a", "consensus", "etcd"),
        ("etcd-2", "us-east-1b", "consensus", "etcd"),
        ("etcd-3", "us-east-1c", "consensus", "etcd"),
    ]
    assert members[0].ports == ((26258, 5432), (8080, 8008))
    assert members[3].ports == ()


def test_every_node_runs_the_etcd_leader_watcher_beside_patroni() -> None:
    t = topology(project="demo")
    services = compose_model(t)["services"]
    assert services["pg-2"]["environment"] == {
        "WATCH_LEADER_KEY": "/service/demo/leader",
        "WATCH_NODE": "pg-2",
        "WATCH_ETCD_BY_NODE": "pg-1=etcd-1,pg-2=etcd-2,pg-3=etcd-3",
    }
    mounts = {v["target"]: v["source"] for v in services["pg-2"]["volumes"] if "source" in v}
    assert mounts["/scripts/etcd-leader-away.py"] == "scripts/etcd-leader-away.py"
    files = render_project(t, SECRETS).public
    start = files["scripts/pg-node.sh"].splitlines()
    watcher = start.index(
        "setpriv --reuid=postgres --regid=postgres --init-groups python3 "
        "/scripts/etcd-leader-away.py &"
    )
    assert start[-1].startswith("exec setpriv") and start[-1].endswith('patroni "$@"')
    assert watcher < len(start) - 1, "the watcher starts before Patroni takes the process over"
    script = files["scripts/etcd-leader-away.py"]
    compile(script, "etcd-leader-away.py", "exec")  # valid Python for the image's interpreter
    assert 'call(local, "maintenance/transfer-leadership", {"targetID": target})' in script


def test_the_chain_has_no_init_and_bootstrap_waits_for_every_member() -> None:
    t = topology()
    assert [(s.title, s.services) for s in up_stages(t)] == [
        ("nodes started", ("pg-1", "pg-2", "pg-3", "etcd-1", "etcd-2", "etcd-3", "pg")),
        ("bootstrap done", ("pg-bootstrap",)),
        ("migrations done", ("hydra-migrate", "kratos-migrate", "keto-migrate")),
        ("services ready", ("hydra", "kratos", "keto", "ui")),
    ]
    assert up_stages(t)[1].nodes_ready_after is True  # every replica past its base backup
    started = "service_started"
    assert gates(t)["pg-bootstrap"] == {
        "pg-1": started,
        "pg-2": started,
        "pg-3": started,
        "etcd-1": started,
        "etcd-2": started,
        "etcd-3": started,
        "pg": started,
    }
    assert gates(t)["pg"] == {"pg-1": started, "pg-2": started, "pg-3": started}


def test_ory_gets_a_postgres_dsn_through_the_load_balancer() -> None:
    assert dsn(topology(), "hydra", "p w") == (
        "postgres://ory:p%20w@pg:5432/hydra?sslmode=verify-full"
        "&sslrootcert=/etc/sandbox/ca.crt&max_conns=16&max_idle_conns=16"
    )


def test_images_official_or_built_and_the_build_only_without_an_override() -> None:
    assert topology().image_settings()[:3] == [
        ("images.postgres", "iam-sandbox/postgres-patroni:17.6-patroni4.1.5"),
        ("images.etcd", "gcr.io/etcd-development/etcd:v3.5.21"),
        ("images.haproxy", "haproxy:3.0.24-alpine"),
    ]
    services = compose_model(topology())["services"]
    assert services["pg-1"]["build"] == {"context": "images/postgres"}
    dockerfile = render_project(topology(), SECRETS).public["images/postgres/Dockerfile"]
    assert "FROM postgres:17.6-bookworm" in dockerfile
    assert '"patroni[etcd3,psycopg3]==4.1.5"' in dockerfile
    mine = topology(images={"postgres": "mirror.example/pg-patroni:17.6"})
    assert "build" not in compose_model(mine)["services"]["pg-1"]
    assert "images/postgres/Dockerfile" not in render_project(mine, SECRETS).public


@pytest.mark.parametrize(("patroni", "mode", "ttl"), [("3.0.2", True, 10), ("4.1.5", "quorum", 20)])
def test_patroni_settings_follow_its_version(patroni: str, mode: object, ttl: int) -> None:
    t = topology(versions={"patroni": patroni, "postgres": "15.20"})
    config = yaml.safe_load(render_project(t, SECRETS).public["patroni/pg-2.yml"])
    dcs = config["bootstrap"]["dcs"]
    assert (dcs["synchronous_mode"], dcs["synchronous_mode_strict"], dcs["ttl"]) == (
        mode,
        True,
        ttl,
    )
    assert config["postgresql"]["bin_dir"] == "/usr/lib/postgresql/15/bin"
    assert config["postgresql"]["connect_address"] == "pg-2:5432"
    assert config["etcd3"]["hosts"] == ["etcd-1:2379", "etcd-2:2379", "etcd-3:2379"]
    assert config["postgresql"]["pg_hba"][-1] == "hostnossl all all all reject"
    assert config["postgresql"]["basebackup"] == [{"checkpoint": "fast"}]


def test_passwords_live_in_secret_files_only() -> None:
    project = render_project(topology(), SECRETS)
    public = "".join(project.public.values())
    for value in vars(SECRETS).values():
        assert value not in public
    assert project.secret["secrets/postgres.env"] == (
        "PATRONI_SUPERUSER_PASSWORD='superuser-pw-0123456789'\n"
        "PATRONI_REPLICATION_PASSWORD='replication-pw-0123456789'\n"
        "PATRONI_REWIND_PASSWORD='superuser-pw-0123456789'\n"
    )
    assert project.secret["secrets/bootstrap.env"] == "ORY_PASSWORD='ory-pw-0123456789'\n"


def test_the_load_balancer_routes_to_the_leader_only() -> None:
    config = render_project(topology(), SECRETS).public["haproxy.cfg"]
    assert "http-check send meth OPTIONS uri /primary" in config
    assert (
        "    server pg-1 pg-1:5432 check port 8008 check-ssl verify required "
        "ca-file /usr/local/etc/haproxy/ca.crt verifyhost pg-1"
    ) in config
    assert "sql-alive" not in config


def test_the_shell_goes_to_the_leader_and_ory_shows_its_password() -> None:
    t = topology()
    engine = t.engine
    assert engine.sql_shell(
        user="postgres", certs_dir="/c", statement="SELECT 1", host=engine.shell_host(t)
    ) == [
        "psql",
        "host=pg port=5432 user=postgres dbname=postgres sslmode=verify-full "
        "sslrootcert=/c/ca.crt sslcert=/c/client.postgres.crt sslkey=/c/client.postgres.key",
        "-c",
        "SELECT 1",
    ]
    assert engine.shell_secrets("postgres", SECRETS) == {}
    assert engine.shell_secrets("ory", SECRETS) == {"PGPASSWORD": "ory-pw-0123456789"}
    assert t.sql_users == ("postgres", "ory")


def bad(tmp_path: Path, text: str) -> str:
    (tmp_path / "sandbox.yaml").write_text(text)
    with pytest.raises(BadInput) as exc:
        load_settings(cwd=tmp_path, environ={})
    assert exc.value.exit_code == 2 and "\n" not in exc.value.message
    return exc.value.message


def test_an_unknown_engine_names_the_field(tmp_path: Path) -> None:
    assert bad(tmp_path, "database:\n  engine: mysql\n").endswith(
        "sandbox.yaml: database.engine: Input should be 'cockroachdb' or 'postgres' (got 'mysql')"
    )


def test_a_budget_the_engine_cannot_fit(tmp_path: Path) -> None:
    message = bad(tmp_path, "database:\n  engine: postgres\nmemory:\n  postgres_node: 900\n")
    assert message.endswith(
        "memory: the caps in use at once add up to 3804 MiB, over memory.budget (3072 MiB)"
    )


def test_kubernetes_targets_refuse_postgres_before_anything_starts(tmp_path: Path) -> None:
    from sandbox.plan.status import Status
    from sandbox.runtime.base import DriverContext
    from sandbox.state import StateDir
    from sandbox.targets import COMPOSE, KIND

    ctx = DriverContext(topology(), StateDir(tmp_path / "state"), Status(quiet=True))
    with pytest.raises(BadInput) as exc:
        KIND(ctx)
    assert exc.value.message == (
        "database.engine: postgres is not supported on --target kind (it runs cockroachdb); "
        "use --target compose or another engine"
    )
    assert not (tmp_path / "state").exists()
    assert COMPOSE(ctx).topology.engine.name == "postgres"
