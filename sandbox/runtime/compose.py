"""The Compose target: render the project into the state directory and drive Docker.

Steps of `up`: pre-flight (Docker, Compose v2, free ports, images, certificates), render,
then walk the gating chain: start one stage's services, wait for them from the host, go on.
Only single files are bind-mounted (plus each node's own certificate folder, read by root), so
the state directory keeps its 0700 folders. Everything the project creates carries the
sandbox's project label, so `down` can sweep whatever Compose itself forgets.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sandbox.errors import BadInput, CommandFailed, SandboxError
from sandbox.exec import run
from sandbox.model.topology import LOOPBACK
from sandbox.plan.stages import SERVERS, Stage, carry_out
from sandbox.plan.wait import Deadline, StageFailed, poll
from sandbox.probes import http_status
from sandbox.render.compose import COMPOSE_FILE, host_ports
from sandbox.runtime import compose_snapshot
from sandbox.runtime.base import (
    DownOptions,
    DriverContext,
    ServiceStatus,
    UpOptions,
    require_free_ports,
)
from sandbox.runtime.compose_docker import (
    ProjectDocker,
    all_services,
    docker_error,
    last_line,
    one_shots,
    port_owners,
    with_hint,
)
from sandbox.runtime.compose_files import (
    CERTS_DIGEST,
    certs_digest,
    render_standalone,
    snapshot,
    write_project,
)
from sandbox.state import PUBLIC_MODE, ory_secrets, write_atomic


class ComposeDriver:
    target = "compose"

    def __init__(self, ctx: DriverContext) -> None:
        self.ctx = ctx
        self.topology = ctx.topology
        self.project_dir = ctx.state.root / "compose"
        self.compose_file = self.project_dir / COMPOSE_FILE
        self.project = ProjectDocker(self.topology, self.compose_file)

    # ---- rendering ---------------------------------------------------------------------

    def _write(self, out: Path, certs: str) -> list[Path]:
        return write_project(self.topology, self.ctx.state, out, certs)

    def render(self, out: Path) -> list[Path]:
        """A self-contained project: configs, secrets (0600) and a copy of the certificates
        without the CA key, so `docker compose -f OUT/compose.yaml up -d` works on its own."""
        return render_standalone(self.topology, self.ctx.state, self.ctx.certs, out)

    # ---- pre-flight --------------------------------------------------------------------

    def preflight(self, deadline: Deadline | None = None) -> None:
        status = self.ctx.status
        stage = "pre-flight"
        deadline = deadline or Deadline.after(self.topology.settings.timeouts.up)
        with status.step(stage):
            self.project.check_docker()
            deadline.require(stage)
            self._check_ports()
            from sandbox.runtime.pull import ensure_images  # bytes shown live on a terminal

            ensure_images(self.project, self.ctx.status)
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
            for warning in self.topology.engine.warnings(self.topology):
                status.warn(warning)

    def _check_ports(self) -> None:
        require_free_ports(port_owners(self.topology), self.project.published_ports())

    # ---- up ----------------------------------------------------------------------------

    def up(self, options: UpOptions) -> None:
        settings = self.topology.settings
        deadline = Deadline.after(options.timeout or settings.timeouts.up, options.started)
        snap = options.from_snapshot
        if snap is not None:
            manifest = compose_snapshot.prepare_restore(self, snap, options.force, options.dry_run)
        self.preflight(deadline)
        previous = snapshot(self.project_dir)
        self._write(self.project_dir, certs="../certs")
        write_atomic(
            self.project_dir / CERTS_DIGEST, certs_digest(self.ctx.certs).encode(), PUBLIC_MODE
        )
        if options.dry_run:
            self.ctx.status.note(f"dry run: project written to {self.project_dir}")
            return
        from sandbox.runtime.containers import heal_compose  # what a killed drill left

        members = [m.name for m in self.topology.engine.members(self.topology)]
        for line in heal_compose(run, self.topology.project, members):
            self.ctx.status.note(line)
        if snap is not None:
            with self.ctx.status.step(f"snapshot {snap.name} restored"):
                compose_snapshot.load_volumes(self, snap, manifest)
        current = snapshot(self.project_dir)
        if previous == current and self._all_up():
            self.ctx.status.note("already up and unchanged: nothing to do")
            with self.ctx.status.step(SERVERS):
                self._wait_servers(deadline.sooner(15), SERVERS)
            return
        # Single-file mounts keep the old file after a rename: new certificates need new
        # containers, not just a restart of the old ones.
        recreate = bool(previous) and previous.get(CERTS_DIGEST) != current[CERTS_DIGEST]
        if recreate:
            self.ctx.status.note("certificates changed: recreating every container")
        try:
            carry_out(self.topology, _ComposeStages(self, recreate), self.ctx.status, deadline)
        except StageFailed as exc:
            exc.detail = with_hint(exc.detail, exc.service)
            raise

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
                f"docker compose up {' '.join(services)}: {last_line(exc.stderr, exc.code)}",
                detail=exc.stderr.strip(),
            ) from None
        except SandboxError as exc:
            if "timed out" not in exc.message:
                raise
            raise StageFailed(
                stage, f"timed out starting {', '.join(services)}", service=services[0]
            ) from None

    def _all_up(self) -> bool:
        containers = self.project.containers()
        once = one_shots(self.topology)
        for name in all_services(self.topology):
            container = containers.get(name)
            if container is None:
                return False
            state = container.state
            if name in once:
                if state.status != "exited" or state.exit_code != 0:
                    return False
            elif state.status != "running":
                return False
        return True

    def _wait_servers(self, deadline: Deadline, stage: str) -> None:
        """Until every component answers its health path on each published port."""
        names = [c.name for c in self.topology.components]
        targets = [
            (c.name, host, spec.health)
            for c in self.topology.components
            for spec, (host, _) in zip(c.ports, host_ports(self.topology, c), strict=True)
        ]

        def check() -> dict[str, str]:
            self.project.fail_on_crash(stage, names)
            waiting: dict[str, str] = {}
            for svc, port, path in targets:
                code = http_status(LOOPBACK, port, path, timeout=_probe(deadline))
                if code != 200:
                    waiting[svc] = " ".join(filter(None, [waiting.get(svc), f":{port}"]))
            return waiting

        poll(check, deadline, self.topology.settings.timeouts.poll_interval, stage)

    def _poll_nodes(self, deadline: Deadline, stage: str, ready: bool) -> None:
        path = self.topology.engine.health_path(ready)
        ca = self.ctx.certs.ca_cert

        def check() -> dict[str, str]:
            self.project.fail_on_crash(stage, [n.name for n in self.topology.nodes])
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
            containers = self.project.containers()
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
                        detail=self.project.log_block(container),
                    )
            self.project.fail_on_crash(stage, [n.name for n in self.topology.nodes])
            return waiting

        poll(check, deadline, self.topology.settings.timeouts.poll_interval, stage)

    # ---- down, status, logs, sql -------------------------------------------------------

    def down(self, options: DownOptions) -> None:
        from python_on_whales.exceptions import DockerException

        if options.dry_run:
            self.project.check_docker()
            found = self.project.leftovers()
            if not options.volumes:
                found["volumes"] = []
            for kind, names in found.items():
                for name in names:
                    self.ctx.status.note(f"would remove {kind[:-1]} {name}")
            return
        with self.ctx.status.step(
            "remove containers and networks" + (" and volumes" if options.volumes else "")
        ):
            self.project.check_docker()
            if self.compose_file.is_file():
                try:
                    self.project.docker.compose.down(
                        remove_orphans=True, volumes=options.volumes, quiet=True
                    )
                except DockerException as exc:
                    self.ctx.status.warn(f"docker compose down: {docker_error(exc)}")
            self.project.sweep(options.volumes)

    def status(self) -> list[ServiceStatus]:
        self.project.check_docker()
        containers = self.project.containers()
        once = one_shots(self.topology)
        zones = {m.name: m.zone for m in self.topology.engine.members(self.topology)}
        # Nodes carry no Docker health check: a client run inside a CockroachDB node's cgroup
        # every few seconds can push it over its memory cap. Their health is the readiness
        # endpoint, probed from the host (as `up` gates on it).
        nodes = {n.name for n in self.topology.nodes}
        endpoints = {name: ", ".join(ports) for name, ports in self._endpoints().items()}
        rows = []
        for name in all_services(self.topology):
            container = containers.get(name)
            zone, endpoint = zones.get(name, ""), endpoints.get(name, "")
            if container is None:
                rows.append(ServiceStatus(name, "missing", zone=zone, endpoint=endpoint))
                continue
            state = container.state
            if name in once and state.status == "exited":
                health = "completed" if state.exit_code == 0 else f"failed ({state.exit_code})"
            elif state.health is not None and state.health.status:
                health = state.health.status
            elif name in nodes and state.status == "running":
                health = "healthy" if self._node_ready(name) else "not ready"
            else:
                health = ""
            rows.append(ServiceStatus(name, state.status or "", health, zone, endpoint))
        return rows

    def _endpoints(self) -> dict[str, list[str]]:
        """`127.0.0.1:<port>` of every published host port, by service."""
        out: dict[str, list[str]] = {}
        for _, port, service in port_owners(self.topology):
            out.setdefault(service, []).append(f"{LOOPBACK}:{port}")
        return out

    def _node_ready(self, name: str) -> bool:
        """The node's `/health?ready=1`, probed from the host over verified TLS."""
        node = next((n for n in self.topology.nodes if n.name == name), None)
        if node is None:
            return False
        code = http_status(
            LOOPBACK,
            node.http_host_port,
            self.topology.engine.health_path(ready=True),
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
            if service not in all_services(self.topology):
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
        engine = self.topology.engine
        user = engine.superuser if user == "root" else user  # `root`: the engine's superuser
        certs = f"{engine.client_certs_dir}/{user}"
        host = engine.shell_host(self.topology)
        shell = engine.sql_shell(user=user, certs_dir=certs, statement=statement, host=host)
        secret = engine.shell_secrets(user, ory_secrets(self.ctx.state))
        for name in secret:
            argv += ["-e", name]  # the value comes from our environment, not the command line
        argv += [node, *shell]
        env = {**os.environ, **secret}
        return subprocess.run(argv, check=False, env=env).returncode


def _probe(deadline: Deadline) -> float:
    """A probe never outlives the deadline (and never waits more than 2 s)."""
    return min(2.0, max(deadline.remaining(), 0.2))


@dataclass(frozen=True)
class _ComposeStages:
    """The stage plan on Compose: `compose up --no-deps` of each stage's services (Compose's own
    `up` would block on the whole gating chain), then waits from the host."""

    driver: ComposeDriver
    recreate: bool

    def start(self, stage: Stage, deadline: Deadline) -> None:
        first = stage.kind == "nodes"
        services = list(stage.services)
        self.driver._start(services, deadline, stage.title, first=first, recreate=self.recreate)

    def wait(self, stage: Stage, deadline: Deadline) -> None:
        driver = self.driver
        if stage.kind == "nodes":
            driver._poll_nodes(deadline, stage.title, ready=False)
        elif stage.kind == "servers":
            driver._wait_servers(deadline, stage.title)
        else:
            driver._wait_one_shots(list(stage.services), deadline, stage.title)
            if stage.nodes_ready_after:
                driver._poll_nodes(deadline, stage.title, ready=True)
