"""The files the PostgreSQL engine mounts: each node's Patroni config, its start script, the
bootstrap script, the etcd flags and HAProxy's config. Pure text from the topology.

Patroni settings, and why (measured with PostgreSQL 15, Patroni 3.0.2 and 4.1.5, etcd 3.4):
- `ttl` 10 / `loop_wait` 2 / `retry_timeout` 4 on Patroni 3 gave no spurious failover in 16
  drills; Patroni 4 raises `ttl` to at least 20 by itself, so it is asked for 20 there;
- `use_pg_rewind`: a killed old leader has diverged and comes back as a replica by itself;
- `wal_retrieve_retry_interval` 1s: a replica follows a new leader within a second;
- the server key must belong to the postgres user with mode 0600, so the start script copies
  the mounted certificates before it drops to that user.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import yaml

from sandbox.model.components import APP_USER
from sandbox.model.engines import etcd_leader, haproxy
from sandbox.model.engines.base import LB_BACKEND
from sandbox.model.engines.shell import give_up_after

if TYPE_CHECKING:
    from sandbox.model.topology import Node, Topology

CONFIG_DIR = "/etc/patroni"
NODE_SCRIPT = "scripts/pg-node.sh"
NODE_SCRIPT_PATH = f"/{NODE_SCRIPT}"
DATA_PARENT = "/var/lib/postgresql/data"
DATA_DIR = f"{DATA_PARENT}/pgdata"
CERTS = "/run/pg-certs"
ETCD_DATA = "/var/lib/etcd"
REPLICATION_USER = "replicator"
REWIND_USER = "rewinder"
BUILD_DIR = "images/postgres"


def dockerfile(topology: Topology) -> str:
    """The image `up` builds when `images.postgres` is unset: the official PostgreSQL image
    plus Patroni, pinned, from PyPI, in a virtual environment of its own."""
    v = topology.settings.versions
    return f"""\
# Rendered by `sandbox`: the official PostgreSQL image with Patroni {v.patroni} (etcd v3 API).
FROM postgres:{v.postgres}-bookworm
RUN apt-get update \\
 && apt-get install -y --no-install-recommends python3-venv \\
 && rm -rf /var/lib/apt/lists/* \\
 && python3 -m venv /opt/patroni \\
 && /opt/patroni/bin/pip install --no-cache-dir "patroni[etcd3,psycopg3]=={v.patroni}"
"""


def patroni_config_name(node: str) -> str:
    return f"patroni/{node}.yml"


def patroni_major(topology: Topology) -> int:
    return int(topology.settings.versions.patroni.lstrip("v").split(".")[0])


def postgres_major(topology: Topology) -> int:
    return int(topology.settings.versions.postgres.split(".")[0])


def etcd_args(topology: Topology, name: str, members: Sequence[str]) -> list[str]:
    cluster = ",".join(f"{m}=http://{m}:2380" for m in members)
    return [
        f"--name={name}",
        f"--data-dir={ETCD_DATA}",
        "--listen-client-urls=http://0.0.0.0:2379",
        f"--advertise-client-urls=http://{name}:2379",
        "--listen-peer-urls=http://0.0.0.0:2380",
        f"--initial-advertise-peer-urls=http://{name}:2380",
        f"--initial-cluster={cluster}",
        "--initial-cluster-state=new",
        f"--initial-cluster-token={topology.project}",
    ]


def _hba() -> list[str]:
    return [
        "local all all peer",
        f"hostssl replication {REPLICATION_USER} all scram-sha-256",
        "hostssl all postgres all cert",
        "hostssl all all all scram-sha-256",
        "hostnossl all all all reject",
    ]


def patroni_config(topology: Topology, node: Node, consensus: Sequence[str]) -> str:
    """One node's Patroni configuration (passwords come from the environment)."""
    memory = topology.settings.memory.postgres_node
    quorum = patroni_major(topology) >= 4
    tls = {"sslmode": "verify-full", "sslrootcert": f"{CERTS}/ca.crt"}
    config: dict[str, Any] = {
        "scope": topology.project,
        "name": node.name,
        "restapi": {
            "listen": "0.0.0.0:8008",
            "connect_address": f"{node.name}:8008",
            "certfile": f"{CERTS}/node.crt",
            "keyfile": f"{CERTS}/node.key",
        },
        "etcd3": {"hosts": [f"{m}:2379" for m in consensus]},
        "bootstrap": {
            "dcs": {
                "ttl": 20 if quorum else 10,
                "loop_wait": 2,
                "retry_timeout": 4,
                "synchronous_mode": "quorum" if quorum else True,
                "synchronous_mode_strict": True,
                "postgresql": {
                    "use_pg_rewind": True,
                    "parameters": {
                        "wal_level": "replica",
                        "hot_standby": "on",
                        "wal_log_hints": "on",
                        "max_wal_senders": 10,
                        "max_replication_slots": 10,
                        "wal_keep_size": "64MB",
                        "wal_retrieve_retry_interval": "1s",
                        "password_encryption": "scram-sha-256",
                        "shared_buffers": f"{max(memory // 4, 16)}MB",
                    },
                },
            },
            "initdb": [{"encoding": "UTF8"}, "data-checksums"],
        },
        "postgresql": {
            "listen": "0.0.0.0:5432",
            "connect_address": f"{node.name}:5432",
            # Patroni's own superuser connections go through the socket (peer): over TCP the
            # superuser must show its client certificate, which Patroni has no use for.
            "use_unix_socket": True,
            "data_dir": DATA_DIR,
            "bin_dir": f"/usr/lib/postgresql/{postgres_major(topology)}/bin",
            "pg_hba": _hba(),
            # A new replica's base backup starts at once: without a fast checkpoint it waits
            # for the leader's next one (up to `checkpoint_timeout`, 5 min by default).
            "basebackup": [{"checkpoint": "fast"}],
            "authentication": {
                "superuser": {"username": "postgres"},
                "replication": {"username": REPLICATION_USER, **tls},
                "rewind": {"username": REWIND_USER, **tls},
            },
            "parameters": {
                "ssl": "on",
                "ssl_cert_file": f"{CERTS}/node.crt",
                "ssl_key_file": f"{CERTS}/node.key",
                "ssl_ca_file": f"{CERTS}/ca.crt",
                "unix_socket_directories": "/var/run/postgresql",
            },
        },
        "tags": {"nofailover": False, "noloadbalance": False, "clonefrom": False},
    }
    header = f"# Rendered by `sandbox`: Patroni on {node.name} ({node.zone}).\n"
    return header + yaml.safe_dump(config, sort_keys=False, default_flow_style=False)


def node_script() -> str:
    """Start one node: certificates readable by postgres only, then Patroni as postgres."""
    return f"""\
#!/bin/sh
# Start Patroni as the postgres user. PostgreSQL refuses a server key that anyone but its
# owner can read, and the mounted key belongs to root: copy the certificates first.
set -eu
install -d -o postgres -g postgres -m 0700 {CERTS} {DATA_PARENT}
install -d -o postgres -g postgres -m 0775 /var/run/postgresql
for file in ca.crt node.crt node.key; do
  install -o postgres -g postgres -m 0600 "/certs/$file" "{CERTS}/$file"
done
PATH="/opt/patroni/bin:$PATH"
HOME=/var/lib/postgresql
export PATH HOME
# Beside Patroni: keeps etcd's leader out of this zone while this node leads (see the script).
setpriv --reuid=postgres --regid=postgres --init-groups python3 {etcd_leader.SCRIPT_PATH} &
# setpriv execs Patroni in place (PID 1 gets `docker stop`'s SIGTERM and shuts down cleanly,
# handing the leader key over); runuser would stay in between and SIGKILL it 2 s later.
exec setpriv --reuid=postgres --regid=postgres --init-groups patroni "$@"
"""


def bootstrap_script(certs_dir: str, databases: Sequence[str]) -> str:
    """Databases owned by `ory` (PostgreSQL 15 lets only the owner create in `public`), the
    role and its password, idempotently, through the load balancer to the leader."""
    creates = "\n".join(
        f"SELECT 'CREATE DATABASE {db} OWNER {APP_USER}' WHERE NOT EXISTS "
        f"(SELECT FROM pg_database WHERE datname = '{db}')\\gexec"
        for db in databases
    )
    owners = "\n".join(f"ALTER DATABASE {db} OWNER TO {APP_USER};" for db in databases)
    return f"""\
#!/bin/sh
# Create the role {APP_USER} and its databases, idempotently, on the leader. ORY_PASSWORD
# comes from the environment, never from a file.
set -u
conninfo="host=$SQL_HOST port=$SQL_PORT user=postgres dbname=postgres sslmode=verify-full \\
sslrootcert={certs_dir}/ca.crt sslcert={certs_dir}/client.postgres.crt \\
sslkey={certs_dir}/client.postgres.key connect_timeout=5"
statements() {{
  cat <<'SQL'
SELECT 'CREATE ROLE {APP_USER} LOGIN' WHERE NOT EXISTS
  (SELECT FROM pg_roles WHERE rolname = '{APP_USER}')\\gexec
SQL
  echo "ALTER ROLE {APP_USER} WITH LOGIN PASSWORD '$ORY_PASSWORD';"
  cat <<'SQL'
{creates}
{owners}
SQL
}}
attempt=0
while :; do
  if out=$(statements | psql "$conninfo" -v ON_ERROR_STOP=1 -q 2>&1); then
    echo "$out"
    echo "bootstrap done: databases {", ".join(databases)}, user {APP_USER}"
    exit 0
  fi
{give_up_after(90)}"""


CHECKS = "inter 1s fastinter 500ms downinter 1s fall 2 rise 1 on-marked-down shutdown-sessions"


def haproxy_config(topology: Topology, ca_path: str, sql_port: int, rest_port: int) -> str:
    """TCP to the leader only: Patroni's `/primary` answers 200 on the leader alone. OPTIONS,
    not GET: a GET check makes Patroni log a broken pipe for every probe."""
    title = f"a TCP load balancer to the PostgreSQL leader ({topology.load_balancer})"
    return (
        haproxy.head(title, CHECKS)
        + f"""
frontend sql-in
    bind :{sql_port}
    default_backend {LB_BACKEND}

backend {LB_BACKEND}
    option httpchk
    http-check send meth OPTIONS uri /primary
    http-check expect status 200
    default-server resolvers compose
{haproxy.servers(topology, ca_path, sql_port, rest_port)}
"""
    )
