"""The database-engine seam: everything the sandbox needs to know about the database it runs.

An engine is a small, pure object: its image, how a node starts, its one-shots (init,
bootstrap), how readiness is probed (by the host and by the load balancer), the DSN Ory gets,
the SQL shell, the client certificate files, and how `chaos` judges recovery. Renderers and
runtimes ask it; nothing outside `sandbox/model/engines/` names a particular database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from sandbox.model.topology import Node, Topology
    from sandbox.state import OrySecrets


LB_BACKEND = "sql"
"""The HAProxy backend of serving nodes in every engine's load balancer: HAProxy logs
`Server sql/<node> is DOWN` for it, which `chaos` reads."""


@dataclass(frozen=True)
class Bind:
    """A read-only file or folder mounted into a container: `source` is relative to the
    certificate tree (`tree="certs"`) or to the rendered project (`tree="project"`)."""

    source: str
    target: str
    tree: Literal["certs", "project"] = "certs"


@dataclass(frozen=True)
class Member:
    """One long-running container of the engine in one zone: a database node, or a member of
    the store its nodes agree through. A zone outage takes every member of the zone."""

    name: str
    zone: str
    role: Literal["node", "consensus"]
    image_key: str
    command: tuple[str, ...]
    entrypoint: tuple[str, ...] = ()
    environment: dict[str, str] = field(default_factory=dict)
    binds: tuple[Bind, ...] = ()
    data_dir: str | None = None
    """Where its named volume (`<name>-data`) is mounted; None: it keeps no data."""
    ports: tuple[tuple[int, int], ...] = ()
    """(host port on 127.0.0.1, container port) pairs."""
    memory: int = 0
    """Its cap in MiB."""
    secret_file: str = ""
    """A 0600 env file of the rendered project it reads secrets from (passwords)."""
    build: str = ""
    """The folder of the rendered project its image is built from; empty: pulled."""


@dataclass(frozen=True)
class OneShot:
    """A step the engine runs once, after the nodes start and before any migration."""

    name: str
    """Container / Job name (`crdb-init`)."""
    title: str
    """The `up` stage it makes (`cluster initialised`)."""
    script_name: str
    """Its script inside the rendered project (`scripts/crdb-init.sh`)."""
    script: str
    """The script, run with `/bin/sh` in the engine's image."""
    client: str
    """The SQL user whose client certificate it uses (its folder is mounted at `certs_dir`)."""
    env: dict[str, str] = field(default_factory=dict)
    """Plain environment (host names); secrets come from `secret_env`."""
    secret_env: tuple[str, ...] = ()
    """Variables it reads from its secret env file / Secret (passwords, a license key)."""
    secret_file: str = ""
    """The 0600 env file of the rendered project that holds them (with `secret_env`)."""
    needs_load_balancer: bool = False
    """Runs through the load balancer, so it waits for it too."""
    nodes_ready_after: bool = False
    """When it has run, every node must turn ready (`/health?ready=1`) before going on."""


class DatabaseEngine(Protocol):
    """What a database engine tells the rest of the sandbox. See the module docstring."""

    name: str
    """The `database.engine` settings value."""
    image_key: str
    """The `versions.*` / `images.*` settings field of its nodes' image."""
    image_keys: tuple[str, ...]
    """Every image setting the engine uses (nodes first)."""
    scheme: str
    """The DSN scheme Ory gets: it selects Ory's migrations for this engine."""
    sql_port: int
    """The SQL port inside a node, behind the load balancer."""
    http_port: int
    """The port the engine's health endpoint answers on inside a node (HTTPS)."""
    data_dir: str
    """Where a node keeps its data (a named volume on Compose, a PVC on Kubernetes)."""
    node_certs_dir: str
    """Where a node's certificate folder is mounted."""
    client_certs_dir: str
    """Where the client certificate folders (`<user>/...`) are mounted in a node."""
    entrypoint: tuple[str, ...]
    """The node container's entrypoint (the image's own wrapper is bypassed)."""
    superuser: str
    """The SQL user the one-shots and `chaos` use (client certificate only)."""
    console: str
    """What each node's HTTP port serves, for people (`DB Console`)."""
    admin_database: str
    """The database that always exists, for connections that need none in particular."""

    def node_command(
        self, topology: Topology, node: Node, *, certs_dir: str, host: str, join: list[str]
    ) -> list[str]:
        """The node's start arguments, advertised as `host`, joining `join`."""
        ...

    def default_image(self, topology: Topology, key: str) -> str:
        """The image of `key` (one of `image_keys`) when `images.<key>` is unset."""
        ...

    def build_context(self, topology: Topology) -> dict[str, str]:
        """Files of the image `up` builds itself (path -> text); empty: nothing to build."""
        ...

    def members(self, topology: Topology) -> tuple[Member, ...]:
        """Every long-running container of the engine, zone by zone (nodes first)."""
        ...

    def node_environment(self, topology: Topology, node: Node) -> dict[str, str]:
        """Plain environment of `node` (the same on Compose and Kubernetes)."""
        ...

    def join_addresses(self, hosts: list[str]) -> list[str]:
        """The `--join` style addresses of the nodes reached as `hosts`."""
        ...

    def health_path(self, ready: bool) -> str:
        """The node's HTTP path that answers 200 once it is alive (or, `ready`, serving)."""
        ...

    def one_shots(self, topology: Topology, certs_dir: str | None = None) -> tuple[OneShot, ...]:
        """The engine's one-shots, in order; their scripts read the client certificate folder
        at `certs_dir` (default: `node_certs_dir`, where Compose mounts it)."""
        ...

    def warnings(self, topology: Topology) -> list[str]:
        """What a user should know before this engine starts (e.g. a licence limit)."""
        ...

    def one_shot_secrets(self, topology: Topology, db_password: str) -> dict[str, str]:
        """The values of every one-shot's `secret_env`."""
        ...

    def member_secrets(self, topology: Topology, secrets: OrySecrets) -> dict[str, str]:
        """The values of the members' `secret_file` (empty when they read none)."""
        ...

    def project_files(self, topology: Topology) -> dict[str, str]:
        """Files of the rendered project the members mount (path -> text)."""
        ...

    def load_balancer_config(self, topology: Topology, ca_path: str) -> str:
        """The HAProxy configuration in front of the nodes' SQL ports."""
        ...

    def sql_shell(
        self, *, user: str, certs_dir: str, statement: str | None, host: str = "localhost"
    ) -> list[str]:
        """argv of the engine's SQL shell inside a node, as `user` with its client certs,
        connected to `host` (see `shell_host`)."""
        ...

    def shell_secrets(self, user: str, secrets: OrySecrets) -> dict[str, str]:
        """Environment the SQL shell needs as `user` beyond its client certificate (a
        password where the engine asks `user` for one); passed by name, never on a command
        line."""
        ...

    def shell_host(self, topology: Topology) -> str:
        """Where a shell inside a node connects: the node itself when every node takes
        writes, the load balancer (the leader) otherwise."""
        ...

    def memory_caps(self, topology: Topology) -> dict[str, int]:
        """MiB per engine container: the nodes and the one-shots."""
        ...
