"""The Compose project: the engine's nodes in three zones, HAProxy, one-shots, components.

Pure: Topology and secrets in, file contents out. The project works on its own with
`docker compose -f compose.yaml up -d`: every path is relative to the compose file. Secrets
live only in `secrets/*.env` (mode 0600, read by the Compose CLI on the host), never in a file
mounted into a container.

The gating chain (`depends_on`) comes from the stage plan (`sandbox.plan.stages.gates`), the
same chain `sandbox up` walks from the host: nodes, the engine's one-shots, the components'
migrations, their servers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sandbox import labels
from sandbox.model.components import Component
from sandbox.model.engines.base import Bind, Member, OneShot
from sandbox.model.topology import LOOPBACK, Topology
from sandbox.plan.stages import gates
from sandbox.render import ory, yaml_text

COMPOSE_FILE = "compose.yaml"
HEADER = "# Rendered by `sandbox render --target compose`; edit sandbox.yaml instead.\n"
LB_CONFIG_PATH = "/usr/local/etc/haproxy/haproxy.cfg"
LB_CA_PATH = "/usr/local/etc/haproxy/ca.crt"
LB_CONFIG = "haproxy.cfg"
SCRATCH_BYTES = 16 * 2**20
"""Size of the tmpfs at each path an image declares as a VOLUME (nothing is written there)."""


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


def _member(topology: Topology, member: Member, certs: str) -> dict[str, Any]:
    def source(bind: Bind) -> str:
        return f"{certs}/{bind.source}" if bind.tree == "certs" else bind.source

    service: dict[str, Any] = {"image": topology.image(member.image_key)}
    if member.build:
        service["build"] = {"context": member.build}
    service["hostname"] = member.name
    if member.entrypoint:
        service["entrypoint"] = list(member.entrypoint)
    service["command"] = list(member.command)
    if member.environment:
        service["environment"] = dict(member.environment)
    if member.secret_file:
        service["env_file"] = [member.secret_file]
    volumes: list[dict[str, Any]] = [_bind(source(b), b.target) for b in member.binds]
    if member.data_dir is not None:
        volumes.append(
            {"type": "volume", "source": f"{member.name}-data", "target": member.data_dir}
        )
    service["volumes"] = volumes
    if member.ports:
        service["ports"] = [f"{LOOPBACK}:{host}:{inside}" for host, inside in member.ports]
    service["mem_limit"] = _mem(topology, member.name)
    service["restart"] = "unless-stopped"
    extra = {"zone": member.zone, "region": topology.settings.region}
    service["labels"] = _labels(topology, member.name, member.role, **extra)
    return service


def _one_shot(topology: Topology, shot: OneShot, certs: str) -> dict[str, Any]:
    engine = topology.engine
    service: dict[str, Any] = {
        "image": topology.image(engine.image_key),
        "entrypoint": ["/bin/sh", f"/{shot.script_name}"],
        "environment": dict(shot.env),
    }
    if shot.secret_file:
        service["env_file"] = [shot.secret_file]
    service["volumes"] = [
        _bind(f"{certs}/clients/{shot.client}", engine.node_certs_dir),
        _bind(shot.script_name, f"/{shot.script_name}"),
    ]
    return {
        **service,
        "mem_limit": _mem(topology, shot.name),
        "restart": "no",
        "labels": _labels(topology, shot.name, "one-shot"),
    }


def _cluster_services(topology: Topology, certs: str) -> dict[str, dict[str, Any]]:
    lb = topology.load_balancer
    services: dict[str, dict[str, Any]] = {
        m.name: _member(topology, m, certs) for m in topology.engine.members(topology)
    }
    services[lb] = {
        "image": topology.image("haproxy"),
        "hostname": lb,
        "volumes": [_bind(LB_CONFIG, LB_CONFIG_PATH), _bind(f"{certs}/ca/ca.crt", LB_CA_PATH)],
        "ports": [f"{LOOPBACK}:{topology.settings.ports.sql}:{topology.engine.sql_port}"],
        "mem_limit": _mem(topology, lb),
        "restart": "unless-stopped",
        "labels": _labels(topology, lb, "load-balancer"),
    }
    for shot in topology.engine.one_shots(topology):
        services[shot.name] = _one_shot(topology, shot, certs)
    return services


def host_ports(topology: Topology, component: Component) -> list[tuple[int, int]]:
    """(host port, container port) pairs a component publishes on 127.0.0.1."""
    p = topology.settings.ports
    return [(getattr(p, spec.host_setting), spec.container) for spec in component.ports]


def mounted_digest(files: dict[str, str], component: Component) -> str:
    """A digest of the files `component` mounts from the project (its config, its extra files).

    Compose recreates a container whose service definition changed, but not one whose
    bind-mounted file changed: with this digest as a label, a new config (a changed port, a
    new sandbox release) reaches the server on the next `up`."""
    names = [*([component.config] if component.config else []), *(f.name for f in component.files)]
    digest = hashlib.sha256()
    for name in names:
        digest.update(f"{name}\0{files[f'ory/{name}']}\0".encode())
    return digest.hexdigest()[:16]


def _component_services(topology: Topology, certs: str) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = {}
    environment = ory.plain_env(topology)
    files = ory.files(topology)
    for component in topology.components:
        name = component.name
        mounted = (
            {"config": mounted_digest(files, component)}
            if component.config or component.files
            else {}
        )
        mounts = [
            *(
                [_bind(f"ory/{component.config}", f"{ory.CONFIG_DIR}/{component.config}")]
                if component.config
                else []
            ),
            *([_bind(f"{certs}/ca/ca.crt", ory.CA_PATH)] if component.database else []),
            *(_bind(f"ory/{f.name}", f.target) for f in component.files),
            *(
                {"type": "tmpfs", "target": path, "tmpfs": {"size": SCRATCH_BYTES}}
                for path in component.image_volumes
            ),
        ]
        common = {
            "image": topology.image(name),
            "env_file": [f"secrets/{name}.env"],
            "volumes": mounts,
        }
        if component.migration:
            services[component.migration] = {
                **common,
                "command": list(component.migrate),
                "mem_limit": _mem(topology, component.migration),
                "restart": "no",
                "labels": _labels(topology, component.migration, "one-shot"),
            }
        server: dict[str, Any] = dict(common)
        if component.serve:
            server["command"] = list(component.serve)
        services[name] = {
            **server,
            "environment": environment[name],
            "ports": [
                f"{LOOPBACK}:{host}:{inside}" for host, inside in host_ports(topology, component)
            ],
            **(
                {"networks": {"default": {"aliases": list(component.network_names)}}}
                if component.network_names
                else {}
            ),
            "mem_limit": _mem(topology, name),
            "restart": "unless-stopped",
            "labels": _labels(topology, name, "ory", **mounted),
        }
    return services


def _with_gates(topology: Topology, services: dict[str, dict[str, Any]]) -> None:
    """`depends_on` from the stage plan, placed where Compose users expect it (before the
    memory cap), so a plain `docker compose up` follows the same chain as `sandbox up`."""
    for name, wait in gates(topology).items():
        service = services[name]
        items = list(service.items())
        at = next(i for i, (key, _) in enumerate(items) if key == "mem_limit")
        depends = {dep: {"condition": condition} for dep, condition in wait.items()}
        services[name] = dict([*items[:at], ("depends_on", depends), *items[at:]])


def compose_model(topology: Topology, certs: str = "certs") -> dict[str, Any]:
    """The compose.yaml document; `certs` is the certificate tree relative to the file."""
    project_label = {labels.PROJECT: topology.project}
    services = {**_cluster_services(topology, certs), **_component_services(topology, certs)}
    _with_gates(topology, services)
    for name, service in services.items():
        # Explicit names: Compose would call the load balancer's container "crdb-1" in logs.
        service["container_name"] = f"{topology.project}-{name}"
    return {
        "name": topology.project,
        "services": services,
        "networks": {"default": {"labels": project_label}},
        "volumes": {
            f"{m.name}-data": {"labels": project_label}
            for m in topology.engine.members(topology)
            if m.data_dir is not None
        },
    }


def _env_file(values: dict[str, str]) -> str:
    # Single quotes: Compose takes the value literally (no interpolation).
    return "".join(f"{key}='{value}'\n" for key, value in values.items())


def render_project(
    topology: Topology, secrets: ory.OrySecrets, certs: str = "certs"
) -> RenderedProject:
    """Every file of the Compose project, keyed by path relative to the compose file."""
    engine = topology.engine
    public = {
        COMPOSE_FILE: yaml_text.dump(compose_model(topology, certs), header=HEADER),
        LB_CONFIG: engine.load_balancer_config(topology, LB_CA_PATH),
    }
    shots = engine.one_shots(topology)
    public.update({shot.script_name: shot.script for shot in shots})
    public.update(engine.project_files(topology))
    public.update(engine.build_context(topology))
    public.update(ory.files(topology))
    env = ory.secret_env(topology, secrets)
    secret = {f"secrets/{c.name}.env": _env_file(env.get(c.name, {})) for c in topology.components}
    one_shot_values = engine.one_shot_secrets(topology, secrets.db_password)
    for shot in shots:
        if shot.secret_file:
            values = {k: one_shot_values[k] for k in shot.secret_env if k in one_shot_values}
            secret[shot.secret_file] = _env_file(values)
    member_files = {m.secret_file for m in engine.members(topology) if m.secret_file}
    for path in sorted(member_files):
        secret[path] = _env_file(engine.member_secrets(topology, secrets))
    return RenderedProject(public=public, secret=secret)
