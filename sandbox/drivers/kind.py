"""The kind target, and what it shares with EKS: one Kubernetes deployment, two clusters.

`KubernetesDriver` holds everything that happens inside a cluster (overlay, namespace,
Secrets, CockroachDB, the Ory charts, port-forwards, status, logs, sql). `KindDriver` adds the
kind cluster around it; `sandbox.drivers.aws.AwsDriver` adds an EKS cluster instead. Both run
the same commands on the same rendered files: only the cluster file and the overlay differ.

Every step is planned as argv lists first. With `--dry-run` the plan is printed (shlex-quoted)
and the artifacts are written, and nothing runs. Secrets go to `kubectl apply -f -` on stdin:
they are never written into a render folder and never appear in a command line.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.config.topology import LOOPBACK, ORY_SERVICES, SQL_PORT, SQL_USERS, Topology
from sandbox.drivers.base import (
    LICENSE_WARNING,
    DownOptions,
    DriverContext,
    ServiceStatus,
    UpOptions,
    require_free_ports,
)
from sandbox.errors import BadInput, CommandFailed, SandboxError
from sandbox.probes import port_is_open
from sandbox.render import helm_values, k8s, kind, ory
from sandbox.state import PUBLIC_MODE, SECRET_MODE, ensure_dir, ory_secrets, write_atomic
from sandbox.tools import Toolbox

CLUSTER_FILES = {"kind": "kind-cluster.yaml", "aws": "eksctl-cluster.yaml"}
OVERLAY_FILE = "overlay.yaml"
VALUES_DIR = "values"
MANIFESTS_DIR = "manifests"
FORWARDS_FILE = "port-forwards.json"


@dataclass(frozen=True)
class Command:
    """One planned command: its argv, and what goes to its stdin (described, never shown)."""

    argv: list[str]
    stdin: Callable[[], str] | None = None
    stdin_label: str = ""
    timeout: float | None = None

    def shown(self) -> str:
        text = shlex.join(self.argv)
        return f"{text}  < {self.stdin_label}" if self.stdin is not None else text


def _is_forward(pid: int) -> bool:
    """Still our supervising loop? A recorded pid may have been reused since (a reboot)."""
    proc = Path(f"/proc/{pid}/cmdline")
    if proc.parent.is_dir():
        try:
            return b"port-forward" in proc.read_bytes()
        except OSError:
            return False
    from sandbox.exec import run

    try:
        done = run(["ps", "-ww", "-p", str(pid), "-o", "args="], check=False, timeout=10)
    except SandboxError:
        return False
    return "port-forward" in done.stdout


def _ours(pid: int) -> bool:
    return pid > 1 and _pid_alive(pid) and _is_forward(pid)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class KubernetesDriver:
    """Everything inside the cluster; subclasses say which cluster and how to reach it."""

    target = "kubernetes"

    def __init__(self, ctx: DriverContext) -> None:
        self.ctx = ctx
        self.topology: Topology = ctx.topology
        self.workdir = ctx.state.root / self.target
        self.rendered = ctx.state.rendered / self.target
        self.toolbox = Toolbox(ctx.topology.settings.tools, notify=ctx.status.note)
        self._tools: dict[str, str] = {}
        self.dry_run = False

    # ---- to be provided by a target ------------------------------------------------------

    def cluster_document(self) -> dict[str, Any]:
        raise NotImplementedError

    def kube_flags(self) -> list[str]:
        """How kubectl reaches this target's cluster (context or kubeconfig)."""
        raise NotImplementedError

    def helm_flags(self) -> list[str]:
        raise NotImplementedError

    # ---- rendering -----------------------------------------------------------------------

    def render(self, out: Path) -> list[Path]:
        """cluster file, overlay.yaml, values/<svc>.yaml, manifests/NN-*.yaml (no secrets)."""
        t = self.topology
        files: dict[str, str] = {
            CLUSTER_FILES[self.target]: k8s.to_yaml(self.cluster_document()),
            OVERLAY_FILE: k8s.to_yaml(
                k8s.storage_class(t, "aws" if self.target == "aws" else "kind"),
                header=(
                    f"# Rendered by `sandbox render`: the {self.target} overlay, the one object\n"
                    "# that differs between kind and aws (values/ and manifests/ are identical).\n"
                ),
            ),
        }
        for svc, doc in helm_values.all_values(t).items():
            files[f"{VALUES_DIR}/{svc}.yaml"] = k8s.to_yaml(doc)
        for name, objects in k8s.manifests(t).items():
            files[f"{MANIFESTS_DIR}/{name}"] = k8s.to_yaml(*objects)
        written = []
        for rel, text in files.items():
            path = out / rel
            write_atomic(path, text.encode(), PUBLIC_MODE, dir_mode=0o755)
            written.append(path)
        return written

    # ---- tools and commands --------------------------------------------------------------

    def tool(self, name: str) -> str:
        """The binary to run: found or fetched; in a dry run only found (else its bare name)."""
        if name not in self._tools:
            if self.dry_run:
                found = self.toolbox.locate(name)
                self._tools[name] = str(found) if found else name
            else:
                self._tools[name] = str(self.toolbox.ensure(name))
        return self._tools[name]

    def kubectl(self, *args: str, timeout: float | None = None) -> Command:
        return Command(
            [
                self.tool("kubectl"),
                *self.kube_flags(),
                "--namespace",
                self.topology.namespace,
                *args,
            ],
            timeout=timeout,
        )

    def apply_file(self, path: Path) -> Command:
        return self.kubectl("apply", "-f", str(path))

    def execute(self, commands: Sequence[Command]) -> None:
        for command in commands:
            if self.dry_run:
                self.ctx.status.note(f"$ {command.shown()}")
                continue
            from sandbox.exec import run

            run(
                command.argv,
                input=command.stdin() if command.stdin is not None else None,
                timeout=command.timeout,
            )

    def step(self, title: str, commands: Sequence[Command]) -> None:
        if self.dry_run:
            self.ctx.status.note(f"[{title}]")
            self.execute(commands)
            return
        with self.ctx.status.step(title):
            self.execute(commands)

    # ---- up ------------------------------------------------------------------------------

    def preflight(self) -> None:
        """Bad input first, before anything changes: every host port must be free."""
        ours = set(self.forwarded_ports())  # replaced by `start_forwards`, not a conflict
        names = {port: name for name, port in self.topology.settings.ports.named()}
        wanted = [
            (names.get(port, "a port setting"), port, f"a port-forward to {resource}")
            for resource, port, _remote in helm_values.port_forwards(self.topology)
        ]
        require_free_ports(wanted, ours)

    def prepare(self) -> None:
        """Certificates, secrets and the rendered files in the state directory."""
        from sandbox.pki.store import ensure_pki

        if self.topology.settings.cockroach.license_key is None:
            self.ctx.status.warn(LICENSE_WARNING)
        self.ctx.state.create()
        ensure_pki(self.topology, self.ctx.certs)
        ory_secrets(self.ctx.state)
        self.render(self.rendered)
        self.ctx.status.note(f"rendered {self.target} files into {self.rendered}")

    def secret_material(self) -> k8s.SecretMaterial:
        layout = self.ctx.certs
        nodes = {
            n.name: {
                name: (layout.node_dir(n.name) / name).read_bytes()
                for name in ("ca.crt", "node.crt", "node.key")
            }
            for n in self.topology.nodes
        }
        clients = {
            user: {
                name: (layout.client_dir(user) / name).read_bytes()
                for name in ("ca.crt", f"client.{user}.crt", f"client.{user}.key")
            }
            for user in SQL_USERS
        }
        secrets = ory_secrets(self.ctx.state)
        bootstrap = {"ORY_PASSWORD": secrets.db_password}
        license_key = self.topology.settings.cockroach.license_key
        if license_key is not None:
            bootstrap["COCKROACH_LICENSE_KEY"] = license_key.get_secret_value()
        return k8s.SecretMaterial(
            ca_crt=layout.ca_cert.read_bytes(),
            node_files=nodes,
            clients=clients,
            ory_env=ory.secret_env(self.topology, secrets),
            bootstrap_env=bootstrap,
        )

    def secrets_command(self) -> Command:
        def text() -> str:
            return k8s.to_yaml(*k8s.secrets(self.topology, self.secret_material()), header="")

        label = "Secrets " + ", ".join(k8s.secret_names(self.topology)) + " (values not shown)"
        return Command(self.kubectl("apply", "-f", "-").argv, stdin=text, stdin_label=label)

    def deploy_steps(self, timeout: float) -> list[tuple[str, list[Command]]]:
        """From an empty cluster to a serving stack: the same on kind and EKS."""
        t, s = self.topology, self.topology.settings
        manifests = self.rendered / MANIFESTS_DIR
        files = list(k8s.manifests(t))
        by_prefix = {name.split("-", 1)[0]: name for name in files}
        nodes_wait = f"--timeout={int(s.timeouts.nodes_ready)}s"
        one_shot_wait = f"--timeout={int(s.timeouts.nodes_ready)}s"
        migrations = f"{int(s.timeouts.migrations)}s"
        services_wait = f"--timeout={int(s.timeouts.services_ready)}s"
        crdb = [
            self.apply_file(manifests / name)
            for name in files
            if name.startswith(("10-", "20-", "30-"))
        ]
        pods = [f"pod/{n.pod}" for n in t.nodes]
        sets = [f"statefulset/{n.name}" for n in t.nodes]
        steps: list[tuple[str, list[Command]]] = [
            ("storage class (overlay)", [self.apply_file(self.rendered / OVERLAY_FILE)]),
            ("namespace", [self.apply_file(manifests / by_prefix["00"])]),
            ("secrets", [self.secrets_command()]),
            ("cockroachdb nodes", crdb),
            (
                "cockroachdb pods running",
                [
                    # Pods exist once their StatefulSet counts them; they are Ready only after
                    # `cockroach init`, so wait for Running here.
                    self.kubectl("wait", "--for=jsonpath={.status.replicas}=1", *sets, nodes_wait),
                    self.kubectl(
                        "wait", "--for=jsonpath={.status.phase}=Running", *pods, nodes_wait
                    ),
                ],
            ),
            (
                "cockroachdb init",
                [
                    self.apply_file(manifests / by_prefix["40"]),
                    self.kubectl(
                        "wait", "--for=condition=complete", f"job/{k8s.INIT_JOB}", one_shot_wait
                    ),
                ],
            ),
            (
                "cockroachdb nodes ready",
                [self.kubectl("wait", "--for=condition=Ready", *pods, nodes_wait)],
            ),
            (
                "databases and user ory",
                [
                    self.apply_file(manifests / by_prefix["50"]),
                    self.kubectl(
                        "wait",
                        "--for=condition=complete",
                        f"job/{k8s.BOOTSTRAP_JOB}",
                        one_shot_wait,
                    ),
                ],
            ),
        ]
        for svc in ORY_SERVICES:
            helm = Command(
                [
                    self.tool("helm"),
                    *self.helm_flags(),
                    "upgrade",
                    "--install",
                    svc,
                    helm_values.chart_reference(svc),
                    "--repo",
                    s.tools.ory_chart_repo,
                    "--version",
                    s.tools.ory_chart_version,
                    "--namespace",
                    t.namespace,
                    "--values",
                    str(self.rendered / VALUES_DIR / f"{svc}.yaml"),
                    # Waits for the migration hook Job; LoadBalancer addresses are not waited
                    # for (kind has none), the rollout below is.
                    "--timeout",
                    migrations,
                ],
                timeout=timeout,
            )
            rollout = self.kubectl("rollout", "status", f"deployment/{svc}", services_wait)
            steps.append((f"{svc} (migrations, then {len(t.nodes)} replicas)", [helm, rollout]))
        return steps

    def up_kubernetes(self, options: UpOptions) -> None:
        timeout = options.timeout or self.topology.settings.timeouts.up
        for title, commands in self.deploy_steps(timeout):
            self.step(title, commands)
        self.start_forwards()

    # ---- port-forwards: the same 127.0.0.1 ports as Compose --------------------------------

    @property
    def forwards_file(self) -> Path:
        return self.workdir / FORWARDS_FILE

    def forward_command(self, resource: str, host_port: int, remote_port: int) -> list[str]:
        return [
            *self.kubectl("port-forward", "--address", LOOPBACK, resource).argv,
            f"{host_port}:{remote_port}",
        ]

    def start_forwards(self) -> None:
        forwards = helm_values.port_forwards(self.topology)
        if self.dry_run:
            self.ctx.status.note("[port-forwards on 127.0.0.1, restarted when they drop]")
            for resource, host, remote in forwards:
                self.ctx.status.note(
                    f"$ {shlex.join(self.forward_command(resource, host, remote))}"
                )
            return
        from sandbox.exec import run

        with self.ctx.status.step("port-forwards on 127.0.0.1"):
            self.stop_forwards(quiet=True)
            ensure_dir(self.workdir)
            logs = ensure_dir(self.workdir / "logs")
            records = []
            for resource, host, remote in forwards:
                argv = self.forward_command(resource, host, remote)
                log = logs / f"forward-{host}.log"
                # A supervising shell loop, detached, that re-opens the forward when a pod
                # restarts and takes its kubectl along when it is stopped.
                loop = (
                    "trap 'kill \"$child\" 2>/dev/null; exit 0' TERM INT; "
                    f"while :; do {shlex.join(argv)} & child=$!; wait $child; sleep 1; done"
                )
                quoted_log = shlex.quote(str(log))
                spawn = f"nohup sh -c {shlex.quote(loop)} >{quoted_log} 2>&1 </dev/null & echo $!"
                pid = int(run(["sh", "-c", spawn], timeout=30).stdout.strip())
                records.append({"pid": pid, "resource": resource, "port": host})
            write_atomic(self.forwards_file, json.dumps(records).encode(), SECRET_MODE)
            deadline = time.monotonic() + 30
            waiting = [r["port"] for r in records]
            while waiting and time.monotonic() < deadline:
                waiting = [p for p in waiting if not port_is_open(int(p))]
                if waiting:
                    time.sleep(0.5)
            if waiting:
                raise SandboxError(
                    f"port-forwards did not open 127.0.0.1:{', '.join(map(str, waiting))} "
                    f"within 30s (see {logs})"
                )

    def _records(self) -> list[dict[str, Any]]:
        if not self.forwards_file.is_file():
            return []
        try:
            records = json.loads(self.forwards_file.read_text())
        except (OSError, ValueError):
            return []
        return [r for r in records if isinstance(r, dict)]

    def forwarded_ports(self) -> list[int]:
        """Host ports held by this sandbox's own running port-forwards."""
        return [int(r.get("port", 0)) for r in self._records() if _ours(int(r.get("pid", 0)))]

    def stop_forwards(self, quiet: bool = False) -> list[int]:
        """Stop the port-forwards this sandbox started (pids from the state dir)."""
        stopped = []
        for record in self._records():
            pid = int(record.get("pid", 0))
            if _ours(pid):
                try:
                    os.kill(pid, signal.SIGTERM)
                    stopped.append(pid)
                except ProcessLookupError:
                    pass
        self.forwards_file.unlink(missing_ok=True)
        if stopped and not quiet:
            self.ctx.status.note(f"stopped {len(stopped)} port-forwards")
        return stopped

    # ---- status, logs, sql ---------------------------------------------------------------

    def _get_json(self, *args: str) -> dict[str, Any]:
        from sandbox.exec import run

        done = run(self.kubectl("get", *args, "-o", "json").argv, timeout=30)
        data: dict[str, Any] = json.loads(done.stdout)
        return data

    def status(self) -> list[ServiceStatus]:
        t = self.topology
        try:
            pods = self._get_json("pods")["items"]
            nodes = self._get_json("nodes")["items"]
        except (CommandFailed, SandboxError, ValueError, KeyError):
            return [ServiceStatus(name=t.namespace, state="missing")]
        zone_of = {
            n["metadata"]["name"]: n["metadata"].get("labels", {}).get(kind.ZONE_LABEL, "")
            for n in nodes
        }
        endpoints = {n.pod: f"{LOOPBACK}:{n.sql_host_port}" for n in t.nodes}
        forwarded = {
            res.removeprefix("svc/").rsplit("-", 1)[0]: f"http://{LOOPBACK}:{host}"
            for res, host, _ in helm_values.port_forwards(t)
            if res.startswith("svc/") and res.endswith(("-public", "-read"))
        }
        rows = []
        for pod in pods:
            meta, spec, st = pod["metadata"], pod.get("spec", {}), pod.get("status", {})
            phase = st.get("phase", "Unknown")
            ready = all(c.get("ready") for c in st.get("containerStatuses", [])) and bool(
                st.get("containerStatuses")
            )
            health = "completed" if phase == "Succeeded" else ("healthy" if ready else "starting")
            app = meta.get("labels", {}).get("app.kubernetes.io/name", "")
            endpoint = endpoints.get(meta["name"]) or forwarded.get(app, "")
            rows.append(
                ServiceStatus(
                    name=meta["name"],
                    state=phase.lower(),
                    health=health,
                    zone=zone_of.get(spec.get("nodeName", ""), ""),
                    endpoint=endpoint,
                )
            )
        return rows

    def logs(self, service: str | None, follow: bool, tail: int | None) -> None:
        known = [n.name for n in self.topology.nodes] + list(ORY_SERVICES)
        if service is not None and service not in known:
            raise BadInput(f"SERVICE: unknown service {service!r} (choose from {', '.join(known)})")
        args = ["logs", "--prefix", "--all-containers"]
        if service in ORY_SERVICES:
            args += ["-l", f"app.kubernetes.io/name={service}"]
        elif service is not None:
            args.append(f"pod/{service}-0")
        else:
            args += ["-l", "app.kubernetes.io/name in (cockroachdb,hydra,kratos,keto)"]
        if follow:
            args.append("--follow")
        if tail is not None:
            args += ["--tail", str(tail)]
        # Streams to the terminal, so it is not captured (as the Compose driver does).
        subprocess.run(self.kubectl(*args).argv, check=False)

    def sql(self, user: str, statement: str | None) -> int:
        if user not in SQL_USERS:
            raise BadInput(f"--user: unknown SQL user {user!r}")
        pod = self.topology.nodes[0].pod
        tty = ["-i", "-t"] if statement is None and sys.stdin.isatty() else ["-i"]
        argv = self.kubectl(
            "exec",
            *tty,
            pod,
            "-c",
            "cockroach",
            "--",
            "/cockroach/cockroach",
            "sql",
            f"--certs-dir={k8s.CLIENT_CERTS_DIR}/{user}",
            f"--user={user}",
            f"--host=localhost:{SQL_PORT}",
        ).argv
        if statement is not None:
            argv += ["-e", statement]
        return subprocess.run(argv, check=False).returncode


class KindDriver(KubernetesDriver):
    """A kind cluster shaped like EKS (one worker per zone), then the shared deployment."""

    target = "kind"

    @property
    def cluster(self) -> str:
        return kind.cluster_name(self.topology)

    def cluster_document(self) -> dict[str, Any]:
        return kind.cluster_config(self.topology)

    def kube_flags(self) -> list[str]:
        return ["--context", kind.kubectl_context(self.topology)]

    def helm_flags(self) -> list[str]:
        return ["--kube-context", kind.kubectl_context(self.topology)]

    def _cluster_exists(self) -> bool:
        if self.dry_run:
            return False
        from sandbox.exec import run

        done = run([self.tool("kind"), "get", "clusters"], timeout=60)
        return self.cluster in done.stdout.split()

    def _check_engine(self) -> None:
        if self.dry_run:
            return
        from sandbox.exec import run

        try:
            run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=20)
        except SandboxError as exc:
            raise SandboxError(f"kind needs a running Docker engine: {exc.message}") from None

    def up(self, options: UpOptions) -> None:
        self.dry_run = options.dry_run
        self.preflight()
        self.prepare()
        if self.dry_run:
            self.ctx.status.note("dry run: nothing is started; these commands would run:")
        self._check_engine()
        timeout = options.timeout or self.topology.settings.timeouts.up
        if self._cluster_exists():
            self.ctx.status.note(f"kind cluster {self.cluster} exists, reusing it")
        else:
            create = Command(
                [
                    self.tool("kind"),
                    "create",
                    "cluster",
                    "--name",
                    self.cluster,
                    "--config",
                    str(self.rendered / CLUSTER_FILES["kind"]),
                    "--wait",
                    f"{int(self.topology.settings.timeouts.nodes_ready)}s",
                ],
                timeout=timeout,
            )
            self.step(f"kind cluster {self.cluster} (1 control plane, 3 zoned workers)", [create])
        self.up_kubernetes(options)

    def down(self, options: DownOptions) -> None:
        self.dry_run = options.dry_run
        delete = Command([self.tool("kind"), "delete", "cluster", "--name", self.cluster])
        if self.dry_run:
            self.ctx.status.note("dry run: nothing is removed; these commands would run:")
            self.ctx.status.note(f"stop the port-forwards listed in {self.forwards_file}")
            self.execute([delete])
            return
        self.stop_forwards()
        # Deleting the cluster removes everything in it; a missing cluster is not an error.
        self.step(f"kind cluster {self.cluster} deleted", [delete])
