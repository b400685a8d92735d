"""CockroachDB, the default engine: three secure nodes, one per zone, behind HAProxy.

How a node starts, the same on Compose and Kubernetes. Two things a container platform needs
that `cockroach start` does not do by itself:
- its log on stderr, where `docker logs` and `kubectl logs` (and so `sandbox logs crdb-N`)
  read it. Since v21.1 the server writes only to files under the store unless told otherwise;
  `--logtostderr=INFO` is the convenience alias of `--log='sinks: {stderr: {filter: INFO}}'`;
- no diagnostics reports to Cockroach Labs from a sandbox, like Ory's `SQA_OPT_OUT`, unless
  `cockroach.diagnostics` asks for them (Free and Trial licenses need them since v24.3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.model.catalog import DATABASES
from sandbox.model.engines import cockroach_lb, cockroach_scripts
from sandbox.model.engines.base import Bind, Member, OneShot

if TYPE_CHECKING:
    from sandbox.model.topology import Node, Topology
    from sandbox.state import OrySecrets

SQL_PORT = 26257
RPC_PORT = 26357
HTTP_PORT = 8080
STORE = "/cockroach/cockroach-data"
BINARY = "/cockroach/cockroach"
LOG_TO_STDERR = "--logtostderr=INFO"
DIAGNOSTICS_OFF = {"COCKROACH_SKIP_ENABLING_DIAGNOSTIC_REPORTING": "true"}
"""Environment of every node unless `cockroach.diagnostics`: reporting stays off from the
first start (the bootstrap also sets `diagnostics.reporting.enabled` to match the setting, so
turning it on later takes effect on a cluster initialised without it)."""
INIT = "crdb-init"
BOOTSTRAP = "crdb-bootstrap"
SUPERUSER = "root"
LICENSE_ENV = "COCKROACH_LICENSE_KEY"
ORGANIZATION_ENV = "COCKROACH_ORGANIZATION"
DIAGNOSTICS_ENV = "COCKROACH_DIAGNOSTICS"
LICENSE_WARNING = (
    "no CockroachDB license key is set (cockroach.license_key): a multi-node cluster runs "
    "7 days, then is throttled to 5 concurrent transactions"
)
TELEMETRY_WARNING = (
    "cockroach.license_key is set with cockroach.diagnostics off: only an Enterprise license "
    "works so. Since v24.3 a Free or Trial license requires diagnostics reporting, and without "
    "it the cluster is throttled after 7 days anyway; set cockroach.diagnostics: true for one"
)
ORGANIZATION_WARNING = (
    "cockroach.license_key is set without cockroach.organization: enterprise features compare "
    "cluster.organization with the organization the license was issued to"
)


class CockroachEngine:
    """The `cockroachdb` engine; see `sandbox.model.engines.base.DatabaseEngine`."""

    name = "cockroachdb"
    image_key = "cockroach"
    image_keys: tuple[str, ...] = ("cockroach",)
    scheme = "cockroach"
    sql_port = SQL_PORT
    rpc_port = RPC_PORT
    http_port = HTTP_PORT
    data_dir = STORE
    node_certs_dir = "/certs"
    client_certs_dir = "/client-certs"
    entrypoint: tuple[str, ...] = (BINARY,)
    superuser = SUPERUSER
    admin_database = "defaultdb"
    console = "DB Console"

    def node_command(
        self, topology: Topology, node: Node, *, certs_dir: str, host: str, join: list[str]
    ) -> list[str]:
        m = topology.settings.memory
        return [
            "start",
            f"--certs-dir={certs_dir}",
            f"--listen-addr=:{RPC_PORT}",
            f"--advertise-addr={host}:{RPC_PORT}",
            f"--sql-addr=:{SQL_PORT}",
            f"--advertise-sql-addr={host}:{SQL_PORT}",
            f"--http-addr=:{HTTP_PORT}",
            "--join=" + ",".join(join),
            f"--locality={node.locality}",
            f"--cache={m.cockroach_cache}MiB",
            f"--max-sql-memory={m.cockroach_sql}MiB",
            f"--max-tsdb-memory={m.cockroach_tsdb}MiB",
            f"--store={STORE}",
            LOG_TO_STDERR,
        ]

    def default_image(self, topology: Topology, key: str) -> str:
        return f"cockroachdb/cockroach:{topology.settings.versions.cockroach}"

    def build_context(self, topology: Topology) -> dict[str, str]:
        return {}

    def members(self, topology: Topology) -> tuple[Member, ...]:
        return tuple(
            Member(
                name=node.name,
                zone=node.zone,
                role="node",
                image_key=self.image_key,
                entrypoint=self.entrypoint,
                command=tuple(
                    self.node_command(
                        topology,
                        node,
                        certs_dir=self.node_certs_dir,
                        host=node.name,
                        join=topology.join_addresses(),
                    )
                ),
                environment=self.node_environment(topology, node),
                binds=(
                    Bind(f"nodes/{node.name}", self.node_certs_dir),
                    Bind("clients", self.client_certs_dir),
                ),
                data_dir=STORE,
                ports=((node.sql_host_port, SQL_PORT), (node.http_host_port, HTTP_PORT)),
                memory=topology.settings.memory.cockroach_node,
            )
            for node in topology.nodes
        )

    def node_environment(self, topology: Topology, node: Node) -> dict[str, str]:
        return {} if topology.settings.cockroach.diagnostics else dict(DIAGNOSTICS_OFF)

    def join_addresses(self, hosts: list[str]) -> list[str]:
        return [f"{host}:{RPC_PORT}" for host in hosts]

    def health_path(self, ready: bool) -> str:
        return "/health?ready=1" if ready else "/health"

    def one_shots(self, topology: Topology, certs_dir: str | None = None) -> tuple[OneShot, ...]:
        certs = certs_dir or self.node_certs_dir
        init = OneShot(
            name=INIT,
            title="cluster initialised",
            script_name=f"scripts/{INIT}.sh",
            script=cockroach_scripts.init_script(certs),
            client=SUPERUSER,
            env={"INIT_HOST": self.join_addresses([topology.nodes[0].name])[0]},
            nodes_ready_after=True,
        )
        bootstrap = OneShot(
            name=BOOTSTRAP,
            title="bootstrap done",
            script_name=f"scripts/{BOOTSTRAP}.sh",
            script=cockroach_scripts.bootstrap_script(certs, DATABASES),
            client=SUPERUSER,
            env=self.bootstrap_env(topology),
            secret_env=("ORY_PASSWORD", LICENSE_ENV),
            secret_file="secrets/bootstrap.env",
            needs_load_balancer=True,
        )
        return (init, bootstrap)

    def bootstrap_env(self, topology: Topology) -> dict[str, str]:
        """The bootstrap's plain settings: where to connect, diagnostics, the organization."""
        crdb = topology.settings.cockroach
        env = {
            "SQL_HOST": f"{topology.load_balancer}:{SQL_PORT}",
            DIAGNOSTICS_ENV: "true" if crdb.diagnostics else "false",
        }
        if crdb.organization is not None:
            env[ORGANIZATION_ENV] = crdb.organization
        return env

    def warnings(self, topology: Topology) -> list[str]:
        crdb = topology.settings.cockroach
        if crdb.license_key is None:
            return [LICENSE_WARNING]
        out = [] if crdb.diagnostics else [TELEMETRY_WARNING]
        return out if crdb.organization is not None else [*out, ORGANIZATION_WARNING]

    def one_shot_secrets(self, topology: Topology, db_password: str) -> dict[str, str]:
        values = {"ORY_PASSWORD": db_password}
        license_key = topology.settings.cockroach.license_key
        if license_key is not None:
            values[LICENSE_ENV] = license_key.get_secret_value()
        return values

    def member_secrets(self, topology: Topology, secrets: OrySecrets) -> dict[str, str]:
        return {}

    def project_files(self, topology: Topology) -> dict[str, str]:
        return {}

    def load_balancer_config(self, topology: Topology, ca_path: str) -> str:
        return cockroach_lb.haproxy_config(topology, ca_path, SQL_PORT, HTTP_PORT)

    def sql_shell(
        self, *, user: str, certs_dir: str, statement: str | None, host: str = "localhost"
    ) -> list[str]:
        argv = [BINARY, "sql", f"--certs-dir={certs_dir}", f"--user={user}"]
        argv.append(f"--host={host}:{SQL_PORT}")
        return [*argv, "-e", statement] if statement is not None else argv

    def shell_secrets(self, user: str, secrets: OrySecrets) -> dict[str, str]:
        return {}

    def shell_host(self, topology: Topology) -> str:
        return "localhost"

    def memory_caps(self, topology: Topology) -> dict[str, int]:
        caps = {member.name: member.memory for member in self.members(topology)}
        caps.update(
            {shot: topology.settings.memory.cockroach_one_shot for shot in (INIT, BOOTSTRAP)}
        )
        return caps
