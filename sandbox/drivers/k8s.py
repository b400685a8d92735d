"""Any Kubernetes cluster: the deployment every Kubernetes target shares, and `--target k8s`.

`KubernetesDriver` holds everything that happens inside a cluster (namespace, Secrets,
CockroachDB, the Ory charts, port-forwards, status, logs, sql). `K8sDriver` points it at a
cluster the user already has (`--context`, `--kubeconfig`): it creates and deletes no cluster,
and `down` removes only this sandbox's namespace and its labelled cluster-scoped objects.
`sandbox.drivers.kind.KindDriver` and `sandbox.drivers.aws.AwsDriver` are this same path plus
creating the cluster.

Before anything is applied, the driver reads what the cluster already holds (`LiveState`) and
plans the update (`sandbox.drivers.k8s_plan`): Jobs whose inputs changed are deleted and created
again, the bootstrap re-runs when the ory password or license key changed, and a change
Kubernetes cannot make in place is refused with one line.

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
from sandbox.drivers.k8s_plan import LiveState, UpdatePlan, placement, plan_update
from sandbox.errors import BadInput, CommandFailed, SandboxError
from sandbox.probes import port_is_open
from sandbox.render import helm_values, k8s, kind, ory
from sandbox.state import PUBLIC_MODE, SECRET_MODE, ensure_dir, ory_secrets, write_atomic
from sandbox.tools import Toolbox

CLUSTER_FILES = {"kind": "kind-cluster.yaml", "aws": "eksctl-cluster.yaml"}
ACCESS_FILE = "access.json"
CLUSTER_SCOPED = "storageclasses,clusterroles,clusterrolebindings"
"""The cluster-scoped kinds a sandbox may own; `down` deletes those carrying its labels."""
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

    target: k8s.TargetName = "k8s"

    def __init__(self, ctx: DriverContext) -> None:
        self.ctx = ctx
        self.topology: Topology = ctx.topology
        self.workdir = ctx.state.root / self.target
        self.rendered = ctx.state.rendered / self.target
        self.toolbox = Toolbox(ctx.topology.settings.tools, notify=ctx.status.note)
        self._tools: dict[str, str] = {}
        self.dry_run = False
        self.exposed = False
        """aws `--public`: the public APIs behind internet-facing NLBs."""
        self.addresses: dict[str, str] = {}
        """Ory service -> its NLB's address, once known: the issuer and base URLs follow it."""

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
        files: dict[str, str] = {}
        if self.target in CLUSTER_FILES:  # kind and aws create their cluster; k8s has one
            files[CLUSTER_FILES[self.target]] = k8s.to_yaml(self.cluster_document())
            files[OVERLAY_FILE] = k8s.to_yaml(
                k8s.storage_class(t, self.target),
                header=(
                    f"# Rendered by `sandbox render`: the {self.target} overlay, the one object\n"
                    "# that differs between kind and aws (values/ and manifests/ are identical).\n"
                ),
            )
        for svc, doc in helm_values.all_values(t, self.exposed, self.addresses).items():
            files[f"{VALUES_DIR}/{svc}.yaml"] = k8s.to_yaml(doc)
        for name, objects in k8s.manifests(t, self.target).items():
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

    def job_commands(self, path: Path, name: str, plan: UpdatePlan | None) -> list[Command]:
        """Apply a Job; first delete it when its inputs changed (its template is immutable)."""
        apply = self.apply_file(path)
        if plan is None or name not in plan.replace_jobs:
            return [apply]
        delete = self.kubectl("delete", "job", name, "--ignore-not-found", "--wait=true")
        return [delete, apply]

    def deploy_steps(
        self, timeout: float, wait: bool = True, plan: UpdatePlan | None = None
    ) -> list[tuple[str, list[Command]]]:
        """From an empty cluster to a serving stack, or from the last `up` to this one: the same
        on every Kubernetes target. Without `wait`, only the apply steps (no pod runs on an API
        server without kubelets)."""
        t, s = self.topology, self.topology.settings
        manifests = self.rendered / MANIFESTS_DIR
        files = list(k8s.manifests(t, self.target))
        by_prefix = {name.split("-", 1)[0]: name for name in files}
        nodes_wait = f"--timeout={int(s.timeouts.nodes_ready)}s"
        one_shot_wait = f"--timeout={int(s.timeouts.nodes_ready)}s"
        services_wait = f"--timeout={int(s.timeouts.services_ready)}s"
        crdb = [
            self.apply_file(manifests / name)
            for name in files
            if name.startswith(("10-", "20-", "30-"))
        ]
        pods = [f"pod/{n.pod}" for n in t.nodes]
        sets = [f"statefulset/{n.name}" for n in t.nodes]

        def waiting(*commands: Command) -> list[Command]:
            return list(commands) if wait else []

        steps: list[tuple[str, list[Command]]] = []
        if self.target in CLUSTER_FILES:
            steps.append(
                ("storage class (overlay)", [self.apply_file(self.rendered / OVERLAY_FILE)])
            )
        steps += [
            ("namespace", [self.apply_file(manifests / by_prefix["00"])]),
            ("secrets", [self.secrets_command()]),
            ("cockroachdb nodes", crdb),
            (
                "cockroachdb pods running",
                waiting(
                    # Pods exist once their StatefulSet counts them; they are Ready only after
                    # `cockroach init`, so wait for Running here.
                    self.kubectl("wait", "--for=jsonpath={.status.replicas}=1", *sets, nodes_wait),
                    self.kubectl(
                        "wait", "--for=jsonpath={.status.phase}=Running", *pods, nodes_wait
                    ),
                ),
            ),
            (
                "cockroachdb init",
                [
                    *self.job_commands(manifests / by_prefix["40"], k8s.INIT_JOB, plan),
                    *waiting(
                        self.kubectl(
                            "wait", "--for=condition=complete", f"job/{k8s.INIT_JOB}", one_shot_wait
                        )
                    ),
                ],
            ),
            (
                "cockroachdb nodes ready",
                waiting(self.kubectl("wait", "--for=condition=Ready", *pods, nodes_wait)),
            ),
            (
                "databases and user ory",
                [
                    *self.job_commands(manifests / by_prefix["50"], k8s.BOOTSTRAP_JOB, plan),
                    *waiting(
                        self.kubectl(
                            "wait",
                            "--for=condition=complete",
                            f"job/{k8s.BOOTSTRAP_JOB}",
                            one_shot_wait,
                        )
                    ),
                ],
            ),
        ]
        for svc in ORY_SERVICES:
            commands = [self.helm_command(svc, timeout)]
            if plan is not None and svc in plan.restart:
                # The pods read DSN and secrets at start: a changed Secret needs new pods.
                commands.append(self.kubectl("rollout", "restart", f"deployment/{svc}"))
            commands += waiting(
                self.kubectl("rollout", "status", f"deployment/{svc}", services_wait)
            )
            steps.append((f"{svc} (migrations, then {len(t.nodes)} replicas)", commands))
        return [(title, commands) for title, commands in steps if commands]

    def helm_command(self, svc: str, timeout: float) -> Command:
        s = self.topology.settings
        return Command(
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
                self.topology.namespace,
                "--values",
                str(self.rendered / VALUES_DIR / f"{svc}.yaml"),
                # Waits for the migration hook Job; the rollout after it waits for the pods.
                "--timeout",
                f"{int(s.timeouts.migrations)}s",
            ],
            timeout=timeout,
        )

    def after_deploy(self, options: UpOptions) -> None:
        """A target's own last step before the port-forwards (aws: the public NLBs)."""

    # ---- what the cluster already holds ----------------------------------------------------

    def _items(self, *args: str) -> list[dict[str, Any]] | None:
        """`kubectl get ... -o json` items; None when they cannot be read (e.g. forbidden)."""
        from sandbox.exec import run

        done = run(self.kubectl("get", *args, "-o", "json").argv, check=False, timeout=60)
        if done.returncode != 0:
            return None
        try:
            items: list[dict[str, Any]] = json.loads(done.stdout).get("items", [])
        except ValueError:
            return None
        return items

    def inspect(self) -> LiveState:
        """One read of the cluster before anything is applied."""
        nodes = self._items("nodes")
        zones: dict[str, str] | None = None
        if nodes is not None:
            zones = {}
            for node in nodes:
                labels = node["metadata"].get("labels", {})
                if kind.ZONE_LABEL in labels:
                    zones.setdefault(labels[kind.ZONE_LABEL], labels.get(kind.REGION_LABEL, ""))
        selector = f"app.kubernetes.io/part-of={k8s.part_of(self.topology)}"

        def named(items: list[dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
            return {i["metadata"]["name"]: i for i in items or []}

        secrets = named(self._items("secrets", "-l", selector))
        deployments = named(self._items("deployments"))
        return LiveState(
            zones=zones,
            nodes=len(nodes or []),
            statefulsets=named(self._items("statefulsets", "-l", selector)),
            jobs=named(self._items("jobs", "-l", selector)),
            secrets={name: obj.get("data") or {} for name, obj in secrets.items()},
            deployments=frozenset(deployments),
        )

    def settle(self) -> UpdatePlan:
        """Read the cluster, fit the topology to its zones, and plan this update (or refuse)."""
        live = self.inspect()
        chosen, message = placement(self.topology, live)
        if message:
            self.ctx.status.warn(message)
        if chosen != self.topology:
            self.topology = chosen
            self.render(self.rendered)
        update = plan_update(
            k8s.manifests(self.topology, self.target),
            k8s.secrets(self.topology, self.secret_material()),
            live,
        )
        for note in update.notes:
            self.ctx.status.note(note)
        return update

    def up_kubernetes(self, options: UpOptions) -> None:
        timeout = options.timeout or self.topology.settings.timeouts.up
        plan = None
        if self.dry_run:
            self.ctx.status.note(
                "the cluster is read first: its zones, and Jobs or Secrets whose inputs changed"
            )
        else:
            plan = self.settle()
        for title, commands in self.deploy_steps(timeout, wait=options.wait, plan=plan):
            self.step(title, commands)
        self.after_deploy(options)
        if options.wait:
            self.start_forwards()
        else:
            self.ctx.status.note(
                "not waiting (--no-wait): objects applied; pods, Jobs and rollouts not awaited, "
                "no port-forwards started"
            )

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

    def show_removal(self, commands: Sequence[Command]) -> None:
        """`down --dry-run`: what would be stopped and run."""
        self.ctx.status.note("dry run: nothing is removed; these commands would run:")
        self.ctx.status.note(f"stop the port-forwards listed in {self.forwards_file}")
        self.execute(commands)

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
        code = subprocess.run(self.kubectl(*args).argv, check=False).returncode
        if code != 0:
            raise SandboxError(f"kubectl logs failed with exit code {code}")

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


@dataclass(frozen=True)
class ClusterAccess:
    """How kubectl and helm reach an existing cluster; remembered for `down`, `status`, ..."""

    kubeconfig: str | None = None
    context: str | None = None

    def kubectl_flags(self) -> list[str]:
        flags = ["--kubeconfig", self.kubeconfig] if self.kubeconfig else []
        return flags + (["--context", self.context] if self.context else [])

    def helm_flags(self) -> list[str]:
        flags = ["--kubeconfig", self.kubeconfig] if self.kubeconfig else []
        return flags + (["--kube-context", self.context] if self.context else [])

    def describe(self) -> str:
        where = f"context {self.context}" if self.context else "the current context"
        return f"{where} of {self.kubeconfig}" if self.kubeconfig else where


class K8sDriver(KubernetesDriver):
    """An existing cluster: deploys into the sandbox's namespace, creates no cluster."""

    target: k8s.TargetName = "k8s"

    def __init__(self, ctx: DriverContext) -> None:
        super().__init__(ctx)
        self.access = self.remembered_access()

    @property
    def access_file(self) -> Path:
        return self.workdir / ACCESS_FILE

    def remembered_access(self) -> ClusterAccess:
        try:
            data = json.loads(self.access_file.read_text())
        except (OSError, ValueError):
            return ClusterAccess()
        return ClusterAccess(data.get("kubeconfig"), data.get("context"))

    def choose_access(self, kubeconfig: Path | None, context: str | None) -> None:
        """Options win over what `up` remembered; a named kubeconfig must exist."""
        if kubeconfig is not None:
            path = kubeconfig.expanduser().resolve()
            if not path.is_file():
                raise BadInput(f"--kubeconfig: no such file: {kubeconfig}")
            self.access = ClusterAccess(str(path), context or self.access.context)
        elif context is not None:
            self.access = ClusterAccess(self.access.kubeconfig, context)

    def kube_flags(self) -> list[str]:
        return self.access.kubectl_flags()

    def helm_flags(self) -> list[str]:
        return self.access.helm_flags()

    def check_reachable(self) -> None:
        from sandbox.exec import run

        argv = [self.tool("kubectl"), *self.kube_flags(), "version", "-o", "json"]
        done = run(argv, check=False, timeout=60)
        try:
            server = json.loads(done.stdout)["serverVersion"]["gitVersion"]
        except (ValueError, KeyError, TypeError):
            detail = (done.stderr.strip().splitlines() or ["no answer"])[-1]
            raise SandboxError(
                f"k8s: cannot reach the cluster ({self.access.describe()}): {detail}"
            ) from None
        self.ctx.status.note(f"cluster: Kubernetes {server} ({self.access.describe()})")

    def up(self, options: UpOptions) -> None:
        self.dry_run = options.dry_run
        self.choose_access(options.kubeconfig, options.kube_context)
        if options.wait:
            self.preflight()  # the port-forwards' host ports; no forwards without waiting
        self.prepare()
        if self.dry_run:
            self.ctx.status.note("dry run: nothing is applied; these commands would run:")
        else:
            self.check_reachable()
            self.tool("helm")
            write_atomic(
                self.access_file,
                json.dumps(
                    {"kubeconfig": self.access.kubeconfig, "context": self.access.context}
                ).encode(),
                SECRET_MODE,
            )
        self.up_kubernetes(options)

    def ours(self, labels: dict[str, str]) -> bool:
        return labels.get("app.kubernetes.io/managed-by") == "iam-sandbox" and labels.get(
            "app.kubernetes.io/part-of"
        ) == k8s.part_of(self.topology)

    def down(self, options: DownOptions) -> None:
        """The sandbox's namespace and its labelled cluster-scoped objects; nothing else."""
        self.dry_run = options.dry_run
        self.choose_access(options.kubeconfig, options.kube_context)
        ns = self.topology.namespace
        selector = (
            f"app.kubernetes.io/managed-by=iam-sandbox,"
            f"app.kubernetes.io/part-of={k8s.part_of(self.topology)}"
        )
        delete_namespace = self.kubectl(
            "delete", "namespace", ns, "--ignore-not-found", f"--wait={str(options.wait).lower()}"
        )
        delete_cluster_scoped = self.kubectl(
            "delete", CLUSTER_SCOPED, "-l", selector, "--ignore-not-found"
        )
        if self.dry_run:
            self.show_removal([delete_namespace, delete_cluster_scoped])
            return
        self.stop_forwards()
        found = self._items("namespaces", "--field-selector", f"metadata.name={ns}")
        if found is None:
            raise SandboxError(f"k8s: cannot read namespace {ns} ({self.access.describe()})")
        if found and not self.ours(found[0]["metadata"].get("labels") or {}):
            raise BadInput(
                f"kubernetes.namespace: namespace {ns} was not created by this sandbox "
                f"(no label {selector.replace(',', ' and ')}); left alone"
            )
        if found:
            waited = "" if options.wait else " (not waiting for it to empty)"
            self.step(f"namespace {ns} deleted{waited}", [delete_namespace])
        else:
            self.ctx.status.note(f"no namespace {ns}: nothing to delete there")
        self.step("labelled cluster-scoped objects deleted", [delete_cluster_scoped])
        self.access_file.unlink(missing_ok=True)
