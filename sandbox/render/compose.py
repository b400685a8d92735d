"""The Compose project: three CockroachDB nodes in three zones, HAProxy, one-shots, Ory.

Pure: Topology and secrets in, file contents out. The project works on its own with
`docker compose -f compose.yaml up -d`: every path is relative to the compose file. Secrets
live only in `secrets/*.env` (mode 0600, read by the Compose CLI on the host), never in a file
mounted into a container.

Gating chain (from the host, `sandbox up` waits for each stage in the same order):
    crdb-1..3 started -> crdb-init (cockroach init) -> crdb-bootstrap (databases, user ory)
    -> {hydra,kratos,keto}-migrate -> hydra, kratos, keto
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sandbox import labels
from sandbox.config.topology import (
    HTTP_PORT,
    LOOPBACK,
    ORY_SERVICES,
    SQL_PORT,
    Node,
    Topology,
)
from sandbox.render import crdb_node, haproxy, ory, yaml_text
from sandbox.render.cluster_scripts import bootstrap_script, init_script

COMPOSE_FILE = "compose.yaml"
HEADER = "# Rendered by `sandbox render --target compose`; edit sandbox.yaml instead.\n"
NODE_CERTS = "/certs"
CLIENT_CERTS = "/client-certs"
STORE = crdb_node.STORE


@dataclass(frozen=True)
class RenderedProject:
    """Relative path -> content. `public` may be committed; `secret` files are 0600."""

    public: dict[str, str] = field(default_factory=dict)
    secret: dict[str, str] = field(default_factory=dict)


def _labels(topology: Topology, service: str, role: str, **extra: str) -> dict[str, str]:
    out = {labels.PROJECT: topology.project, labels.SERVICE: service, labels.ROLE: role}
    out.update({f"{labels.PREFIX}.{k}": v for k, v in extra.items()})
    return out


def _bind(source: str, target: str) -> dict[str, Any]:
    return {"type": "bind", "source": source, "target": target, "read_only": True}


def _mem(topology: Topology, service: str) -> str:
    return f"{topology.memory_caps()[service]}m"


def _node(topology: Topology, node: Node, certs: str) -> dict[str, Any]:
    return {
        "image": topology.image("cockroach"),
        "hostname": node.name,
        "entrypoint": ["/cockroach/cockroach"],
        "command": crdb_node.start_args(
            topology, node, certs_dir=NODE_CERTS, host=node.name, join=topology.join_addresses()
        ),
        "environment": dict(crdb_node.NODE_ENV),
        "volumes": [
            _bind(f"{certs}/nodes/{node.name}", NODE_CERTS),
            _bind(f"{certs}/clients", CLIENT_CERTS),
            {"type": "volume", "source": f"{node.name}-data", "target": STORE},
        ],
        "ports": [
            f"{LOOPBACK}:{node.sql_host_port}:{SQL_PORT}",
            f"{LOOPBACK}:{node.http_host_port}:{HTTP_PORT}",
        ],
        "mem_limit": _mem(topology, node.name),
        "restart": "unless-stopped",
        "labels": _labels(topology, node.name, "node", zone=node.zone, region=node.region),
        "healthcheck": {
            "test": [
                "CMD",
                "/cockroach/cockroach",
                "sql",
                f"--certs-dir={CLIENT_CERTS}/root",
                f"--host=localhost:{SQL_PORT}",
                "-e",
                "SELECT 1",
            ],
            "interval": "15s",
            "timeout": "10s",
            "retries": 3,
            "start_period": "120s",
        },
    }


def _started(names: list[str]) -> dict[str, dict[str, str]]:
    return {name: {"condition": "service_started"} for name in names}


def _completed(name: str) -> dict[str, dict[str, str]]:
    return {name: {"condition": "service_completed_successfully"}}


def _cluster_services(topology: Topology, certs: str) -> dict[str, dict[str, Any]]:
    nodes = [n.name for n in topology.nodes]
    lb = topology.load_balancer
    services: dict[str, dict[str, Any]] = {
        n.name: _node(topology, n, certs) for n in topology.nodes
    }
    services[lb] = {
        "image": topology.image("haproxy"),
        "hostname": lb,
        "volumes": [
            _bind("haproxy.cfg", haproxy.CONFIG_PATH),
            _bind(f"{certs}/ca/ca.crt", haproxy.CA_PATH),
        ],
        "ports": [f"{LOOPBACK}:{topology.settings.ports.sql}:{SQL_PORT}"],
        "depends_on": _started(nodes),
        "mem_limit": _mem(topology, lb),
        "restart": "unless-stopped",
        "labels": _labels(topology, lb, "load-balancer"),
    }
    services["crdb-init"] = {
        "image": topology.image("cockroach"),
        "entrypoint": ["/bin/sh", "/scripts/crdb-init.sh"],
        "environment": {"INIT_HOST": topology.join_addresses()[0]},
        "volumes": [
            _bind(f"{certs}/clients/root", NODE_CERTS),
            _bind("scripts/crdb-init.sh", "/scripts/crdb-init.sh"),
        ],
        "depends_on": _started(nodes),
        "mem_limit": _mem(topology, "crdb-init"),
        "restart": "no",
        "labels": _labels(topology, "crdb-init", "one-shot"),
    }
    services["crdb-bootstrap"] = {
        "image": topology.image("cockroach"),
        "entrypoint": ["/bin/sh", "/scripts/crdb-bootstrap.sh"],
        "environment": {"SQL_HOST": f"{lb}:{SQL_PORT}"},
        "env_file": ["secrets/bootstrap.env"],
        "volumes": [
            _bind(f"{certs}/clients/root", NODE_CERTS),
            _bind("scripts/crdb-bootstrap.sh", "/scripts/crdb-bootstrap.sh"),
        ],
        "depends_on": {**_completed("crdb-init"), lb: {"condition": "service_started"}},
        "mem_limit": _mem(topology, "crdb-bootstrap"),
        "restart": "no",
        "labels": _labels(topology, "crdb-bootstrap", "one-shot"),
    }
    return services


ORY_COMMANDS: dict[str, tuple[list[str], list[str]]] = {
    # service: (migration command, server command); configs mount at ory.CONFIG_DIR.
    "hydra": (
        ["migrate", "sql", "up", "-e", "--yes"],
        ["serve", "all", "--dev", "--config", f"{ory.CONFIG_DIR}/hydra.yaml"],
    ),
    "kratos": (
        ["migrate", "sql", "up", "-e", "--yes", "--config", f"{ory.CONFIG_DIR}/kratos.yaml"],
        ["serve", "--config", f"{ory.CONFIG_DIR}/kratos.yaml"],
    ),
    "keto": (
        ["migrate", "up", "--yes", "--config", f"{ory.CONFIG_DIR}/keto.yaml"],
        ["serve", "--config", f"{ory.CONFIG_DIR}/keto.yaml"],
    ),
}


def ory_ports(topology: Topology, service: str) -> list[tuple[int, int]]:
    """(host port, container port) pairs each Ory service publishes on 127.0.0.1."""
    p = topology.settings.ports
    return {
        "hydra": [(p.hydra_public, 4444), (p.hydra_admin, 4445)],
        "kratos": [(p.kratos_public, 4433), (p.kratos_admin, 4434)],
        "keto": [(p.keto_read, 4466), (p.keto_write, 4467)],
    }[service]


def _ory_services(topology: Topology, certs: str) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = {}
    for svc in ORY_SERVICES:
        mounts = [
            _bind(f"ory/{svc}.yaml", f"{ory.CONFIG_DIR}/{svc}.yaml"),
            _bind(f"{certs}/ca/ca.crt", ory.CA_PATH),
        ]
        if svc == "kratos":
            mounts.append(
                _bind(
                    "ory/identity.default.schema.json",
                    ory.IDENTITY_SCHEMA_URL.removeprefix("file://"),
                )
            )
        migrate, serve = ORY_COMMANDS[svc]
        common = {
            "image": topology.image(svc),
            "env_file": [f"secrets/{svc}.env"],
            "volumes": mounts,
        }
        services[f"{svc}-migrate"] = {
            **common,
            "command": migrate,
            "depends_on": _completed("crdb-bootstrap"),
            "mem_limit": _mem(topology, f"{svc}-migrate"),
            "restart": "no",
            "labels": _labels(topology, f"{svc}-migrate", "one-shot"),
        }
        services[svc] = {
            **common,
            "command": serve,
            "environment": dict(ory.SERVER_ENV),
            "ports": [f"{LOOPBACK}:{host}:{inside}" for host, inside in ory_ports(topology, svc)],
            "depends_on": _completed(f"{svc}-migrate"),
            "mem_limit": _mem(topology, svc),
            "restart": "unless-stopped",
            "labels": _labels(topology, svc, "ory"),
        }
    return services


def compose_model(topology: Topology, certs: str = "certs") -> dict[str, Any]:
    """The compose.yaml document; `certs` is the certificate tree relative to the file."""
    project_label = {labels.PROJECT: topology.project}
    services = {**_cluster_services(topology, certs), **_ory_services(topology, certs)}
    for name, service in services.items():
        # Explicit names: Compose would call the load balancer's container "crdb-1" in logs.
        service["container_name"] = f"{topology.project}-{name}"
    return {
        "name": topology.project,
        "services": services,
        "networks": {"default": {"labels": project_label}},
        "volumes": {f"{n.name}-data": {"labels": project_label} for n in topology.nodes},
    }


def _env_file(values: dict[str, str]) -> str:
    # Single quotes: Compose takes the value literally (no interpolation).
    return "".join(f"{key}='{value}'\n" for key, value in values.items())


def render_project(
    topology: Topology, secrets: ory.OrySecrets, certs: str = "certs"
) -> RenderedProject:
    """Every file of the Compose project, keyed by path relative to the compose file."""
    public = {
        COMPOSE_FILE: yaml_text.dump(compose_model(topology, certs), header=HEADER),
        "haproxy.cfg": haproxy.haproxy_config(topology),
        "scripts/crdb-init.sh": init_script(NODE_CERTS),
        "scripts/crdb-bootstrap.sh": bootstrap_script(NODE_CERTS),
        "ory/identity.default.schema.json": json.dumps(ory.identity_schema(), indent=2) + "\n",
    }
    for svc, config in ory.configs(topology).items():
        public[f"ory/{svc}.yaml"] = yaml_text.dump(config)
    env = ory.secret_env(topology, secrets)
    secret = {f"secrets/{svc}.env": _env_file(env[svc]) for svc in ORY_SERVICES}
    bootstrap = {"ORY_PASSWORD": secrets.db_password}
    license_key = topology.settings.cockroach.license_key
    if license_key is not None:
        bootstrap["COCKROACH_LICENSE_KEY"] = license_key.get_secret_value()
    secret["secrets/bootstrap.env"] = _env_file(bootstrap)
    return RenderedProject(public=public, secret=secret)
