"""PostgreSQL under Patroni: three nodes, one per zone, a three-member etcd, HAProxy to the leader.

An acknowledged commit must survive the loss of any one zone, so replication is synchronous
and strict (`synchronous_mode_strict`: with no synchronous standby left, writes wait rather
than commit on the leader alone). Patroni 4 counts standbys by quorum (`synchronous_mode:
quorum`), which loses far less write time when a standby dies; Patroni 3 takes `true`. The
load balancer sends every connection to the leader only, by Patroni's REST API (`/primary`).

TLS everywhere it matters, with the sandbox's CA: clients verify the server by name
(`verify-full` through the load balancer, whose name is in every node certificate), replicas
verify the leader, HAProxy checks Patroni's REST API over TLS. `postgres`, the superuser,
logs in with its client certificate; `ory` and the replication user with SCRAM passwords.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.model.catalog import DATABASES
from sandbox.model.engines import etcd_leader, postgres_files
from sandbox.model.engines.base import Bind, Member, OneShot

if TYPE_CHECKING:
    from sandbox.model.topology import Node, Topology
    from sandbox.state import OrySecrets

SQL_PORT = 5432
REST_PORT = 8008
ETCD_CLIENT_PORT = 2379
ETCD_PEER_PORT = 2380
SUPERUSER = "postgres"
BOOTSTRAP = "pg-bootstrap"
SECRET_ENV = (
    "PATRONI_SUPERUSER_PASSWORD",
    "PATRONI_REPLICATION_PASSWORD",
    "PATRONI_REWIND_PASSWORD",
)
NODE_SECRETS = "secrets/postgres.env"


class PostgresEngine:
    """The `postgres` engine; see `sandbox.model.engines.base.DatabaseEngine`."""

    name = "postgres"
    image_key = "postgres"
    image_keys: tuple[str, ...] = ("postgres", "etcd")
    scheme = "postgres"
    sql_port = SQL_PORT
    http_port = REST_PORT
    data_dir = postgres_files.DATA_PARENT
    node_certs_dir = "/certs"
    client_certs_dir = "/client-certs"
    entrypoint: tuple[str, ...] = ("/bin/sh", postgres_files.NODE_SCRIPT_PATH)
    superuser = SUPERUSER
    admin_database = "postgres"
    console = "Patroni REST API"

    def consensus_names(self, topology: Topology) -> list[str]:
        return [f"etcd-{node.index + 1}" for node in topology.nodes]

    def node_command(
        self, topology: Topology, node: Node, *, certs_dir: str, host: str, join: list[str]
    ) -> list[str]:
        return [f"{postgres_files.CONFIG_DIR}/{node.name}.yml"]

    def default_image(self, topology: Topology, key: str) -> str:
        v = topology.settings.versions
        if key == "etcd":
            return f"gcr.io/etcd-development/etcd:{v.etcd}"
        # Built by `up` from the official image (see `build_context`): the project's own name.
        return f"iam-sandbox/postgres-patroni:{v.postgres}-patroni{v.patroni}"

    def build_context(self, topology: Topology) -> dict[str, str]:
        if topology.settings.images.postgres is not None:
            return {}
        return {postgres_files.BUILD_DIR + "/Dockerfile": postgres_files.dockerfile(topology)}

    def members(self, topology: Topology) -> tuple[Member, ...]:
        m = topology.settings.memory
        nodes = tuple(
            Member(
                name=node.name,
                zone=node.zone,
                role="node",
                image_key=self.image_key,
                entrypoint=self.entrypoint,
                command=tuple(self.node_command(topology, node, certs_dir="", host="", join=[])),
                environment=self.node_environment(topology, node),
                binds=(
                    Bind(f"nodes/{node.name}", self.node_certs_dir),
                    Bind("clients", self.client_certs_dir),
                    Bind(
                        postgres_files.NODE_SCRIPT,
                        postgres_files.NODE_SCRIPT_PATH,
                        "project",
                    ),
                    Bind(etcd_leader.SCRIPT, etcd_leader.SCRIPT_PATH, "project"),
                    Bind(
                        postgres_files.patroni_config_name(node.name),
                        f"{postgres_files.CONFIG_DIR}/{node.name}.yml",
                        "project",
                    ),
                ),
                data_dir=postgres_files.DATA_PARENT,
                ports=((node.sql_host_port, SQL_PORT), (node.http_host_port, REST_PORT)),
                memory=m.postgres_node,
                secret_file=NODE_SECRETS,
                build=postgres_files.BUILD_DIR if self.build_context(topology) else "",
            )
            for node in topology.nodes
        )
        names = self.consensus_names(topology)
        stores = tuple(
            Member(
                name=name,
                zone=node.zone,
                role="consensus",
                image_key="etcd",
                entrypoint=("etcd",),
                command=tuple(postgres_files.etcd_args(topology, name, names)),
                data_dir=postgres_files.ETCD_DATA,
                memory=m.etcd,
            )
            for node, name in zip(topology.nodes, names, strict=True)
        )
        return nodes + stores

    def node_environment(self, topology: Topology, node: Node) -> dict[str, str]:
        """The etcd leader watcher's settings (see `etcd_leader`)."""
        names = self.consensus_names(topology)
        pairs = [(n.name, name) for n, name in zip(topology.nodes, names, strict=True)]
        return etcd_leader.environment(topology.project, node.name, pairs)

    def join_addresses(self, hosts: list[str]) -> list[str]:
        return [f"{host}:{SQL_PORT}" for host in hosts]

    def health_path(self, ready: bool) -> str:
        """Patroni's REST API: `/liveness` once Patroni runs, `/readiness` once its PostgreSQL
        serves (the leader running, or a replica streaming)."""
        return "/readiness" if ready else "/liveness"

    def one_shots(self, topology: Topology, certs_dir: str | None = None) -> tuple[OneShot, ...]:
        certs = certs_dir or self.node_certs_dir
        bootstrap = OneShot(
            name=BOOTSTRAP,
            title="bootstrap done",
            script_name=f"scripts/{BOOTSTRAP}.sh",
            script=postgres_files.bootstrap_script(certs, DATABASES),
            client=SUPERUSER,
            env={"SQL_HOST": topology.load_balancer, "SQL_PORT": str(SQL_PORT)},
            secret_env=("ORY_PASSWORD",),
            secret_file="secrets/bootstrap.env",
            needs_load_balancer=True,
            # `up` is done only once every node serves: the leader, and each replica past its
            # base backup (Patroni's /readiness).
            nodes_ready_after=True,
        )
        return (bootstrap,)

    def warnings(self, topology: Topology) -> list[str]:
        return []

    def one_shot_secrets(self, topology: Topology, db_password: str) -> dict[str, str]:
        return {"ORY_PASSWORD": db_password}

    def member_secrets(self, topology: Topology, secrets: OrySecrets) -> dict[str, str]:
        """The nodes' secret env file: Patroni reads both passwords from the environment."""
        # The superuser logs in through the socket (peer) and never uses its password; the
        # rewind user (pg_rewind from a former leader) shares it.
        values = (secrets.db_superuser, secrets.db_replication, secrets.db_superuser)
        return dict(zip(SECRET_ENV, values, strict=True))

    def load_balancer_config(self, topology: Topology, ca_path: str) -> str:
        return postgres_files.haproxy_config(topology, ca_path, SQL_PORT, REST_PORT)

    def project_files(self, topology: Topology) -> dict[str, str]:
        """Files the rendered project mounts into the nodes: the start script, the etcd leader
        watcher and each node's Patroni configuration."""
        files = {
            postgres_files.NODE_SCRIPT: postgres_files.node_script(),
            etcd_leader.SCRIPT: etcd_leader.script(),
        }
        names = self.consensus_names(topology)
        for node in topology.nodes:
            files[postgres_files.patroni_config_name(node.name)] = postgres_files.patroni_config(
                topology, node, names
            )
        return files

    def sql_shell(
        self, *, user: str, certs_dir: str, statement: str | None, host: str = "localhost"
    ) -> list[str]:
        conninfo = (
            f"host={host} port={SQL_PORT} user={user} dbname=postgres sslmode=verify-full "
            f"sslrootcert={certs_dir}/ca.crt sslcert={certs_dir}/client.{user}.crt "
            f"sslkey={certs_dir}/client.{user}.key"
        )
        argv = ["psql", conninfo]
        return [*argv, "-c", statement] if statement is not None else argv

    def shell_secrets(self, user: str, secrets: OrySecrets) -> dict[str, str]:
        """Only the superuser logs in by certificate: `ory` shows its password, as Ory does."""
        return {} if user == SUPERUSER else {"PGPASSWORD": secrets.db_password}

    def shell_host(self, topology: Topology) -> str:
        return topology.load_balancer

    def memory_caps(self, topology: Topology) -> dict[str, int]:
        caps = {member.name: member.memory for member in self.members(topology)}
        caps[BOOTSTRAP] = topology.settings.memory.one_shot
        return caps
