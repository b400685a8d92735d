"""The Kubernetes runtime: everything that happens inside a cluster, whichever cluster it is.

Namespace, Secrets, the database nodes and one-shots, the component charts, port-forwards,
status, logs and sql are the same on every Kubernetes target; which cluster, and how kubectl
reaches it, is the composed `ClusterProvider`'s (`sandbox.runtime.kube.providers`).

`up` in order: the provider's checks; the host ports; certificates and secrets; the provider's
files, confirmation and cluster; then one read of the cluster (`live.inspect`) and the
decisions that follow from it, made before anything is rendered: where the nodes go (zones,
or spread by host when the cluster has no three zones) and what this update replaces or
refuses (`update`). The deployment is then rendered once (`deployment`), and the steps
(`steps`: preparation, then the stage chain of `sandbox.plan.stages`) run as commands through
the injected executor. The runtime's topology is never replaced and nothing is re-rendered,
except the values that name the load balancers' addresses (eks `--public`), rendered once
they are known, from a deployment built with them.

With `--dry-run` every command is shown (shlex-quoted) and every artifact written, and
nothing runs. Secrets go to `kubectl apply -f -` on stdin: never into a render folder or a
command line.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sandbox.errors import BadInput, SandboxError
from sandbox.model.topology import Topology
from sandbox.plan.stages import up_stages
from sandbox.render import helm_values, k8s, k8s_names, ory
from sandbox.runtime.base import (
    DownOptions,
    DriverContext,
    ServiceStatus,
    UpOptions,
    require_free_ports,
)
from sandbox.runtime.kube.commands import (
    Executor,
    ProcessExecutor,
    Session,
    ToolResolver,
    Tools,
)
from sandbox.runtime.kube.deployment import (
    KubeDeployment,
    deployment_files,
    public_services,
    values_files,
    write_files,
)
from sandbox.runtime.kube.forwards import Forward, Forwards
from sandbox.runtime.kube.live import inspect, items, status_rows
from sandbox.runtime.kube.providers import ClusterProvider
from sandbox.runtime.kube.steps import (
    Cli,
    Layout,
    Step,
    helm_install,
    preparation_steps,
    secrets_command,
    stage_steps,
)
from sandbox.runtime.kube.update import LiveState, UpdatePlan, placement, plan_update
from sandbox.state import ory_secrets


class KubeRuntime:
    """See the module docstring. `executor` runs the commands (default: real processes);
    `tools` finds kubectl, helm, ... (default: the toolbox, fetching when needed)."""

    def __init__(
        self,
        ctx: DriverContext,
        provider: ClusterProvider,
        *,
        executor: Executor | None = None,
        tools: ToolResolver | None = None,
    ) -> None:
        self.ctx = ctx
        self.provider = provider
        self.target = provider.target
        self.workdir = ctx.state.root / provider.target
        self.rendered = ctx.state.rendered / provider.target
        self.executor: Executor = executor or ProcessExecutor()
        if tools is None:
            from sandbox.tools import Toolbox

            tools = Tools(Toolbox(ctx.topology.settings.tools, notify=ctx.status.note))
        self.tools = tools
        self.forwards = Forwards(self.workdir)

    @property
    def topology(self) -> Topology:
        """The settings' topology, as given; a placement decision never replaces it."""
        return self.ctx.topology

    def session(self, dry_run: bool) -> Session:
        return Session(self.ctx.status, self.executor, self.tools, dry_run)

    def cli(self, session: Session) -> Cli:
        return Cli(
            session.tool,
            tuple(self.provider.kube_flags()),
            tuple(self.provider.helm_flags()),
            self.topology.namespace,
        )

    def kubectl_argv(self) -> list[str]:
        """kubectl pointed at this cluster and namespace (for the chaos injectors)."""
        return list(self.cli(self.session(False)).kubectl().argv)

    # ---- files ---------------------------------------------------------------------------

    def render(self, out: Path) -> list[Path]:
        """cluster file, overlay.yaml, values/<svc>.yaml, manifests/NN-*.yaml (no secrets),
        for the settings as they are (no cluster is read)."""
        deployment = KubeDeployment(self.topology, self.provider.flavour)
        files = {**self.provider.files(self.topology), **deployment_files(deployment)}
        return write_files(out, files)

    def secret_material(self, topology: Topology) -> k8s.SecretMaterial:
        layout = self.ctx.certs
        nodes = {
            n.name: {
                name: (layout.node_dir(n.name) / name).read_bytes()
                for name in ("ca.crt", "node.crt", "node.key")
            }
            for n in topology.nodes
        }
        clients = {
            user: {
                name: (layout.client_dir(user) / name).read_bytes()
                for name in ("ca.crt", f"client.{user}.crt", f"client.{user}.key")
            }
            for user in topology.sql_users
        }
        secrets = ory_secrets(self.ctx.state)
        return k8s.SecretMaterial(
            ca_crt=layout.ca_cert.read_bytes(),
            node_files=nodes,
            clients=clients,
            ory_env=ory.secret_env(topology, secrets),
            bootstrap_env=topology.engine.one_shot_secrets(topology, secrets.db_password),
        )

    # ---- up ------------------------------------------------------------------------------

    def preflight(self) -> None:
        """Bad input first, before anything changes: every forwarded host port must be free."""
        ours = set(self.forwards.ports())  # replaced by the new forwards, not a conflict
        names = {port: name for name, port in self.topology.settings.ports.named()}
        wanted = [
            (names.get(port, "a port setting"), port, f"a port-forward to {resource}")
            for resource, port, _remote in helm_values.port_forwards(self.topology)
        ]
        require_free_ports(wanted, ours)

    def prepare(self) -> None:
        """Certificates and secrets in the state directory."""
        from sandbox.pki.store import ensure_pki

        for warning in self.topology.engine.warnings(self.topology):
            self.ctx.status.warn(warning)
        self.ctx.state.create()
        ensure_pki(self.topology, self.ctx.certs)
        ory_secrets(self.ctx.state)

    def decide(
        self, session: Session, cli: Cli, options: UpOptions
    ) -> tuple[KubeDeployment, LiveState | None]:
        """Read the cluster once and decide where the nodes go, before anything is rendered."""
        exposed = self.provider.exposes(options)
        flavour = self.provider.flavour
        if session.dry_run:
            session.note(
                f"the cluster ({self.provider.describe()}) is read first: its zones, and Jobs "
                "or Secrets whose inputs changed"
            )
            return KubeDeployment(self.topology, flavour, exposed), None
        live = inspect(self.executor, cli, self.topology)
        chosen, message = placement(self.topology, live)
        if message:
            self.ctx.status.warn(message)
        return KubeDeployment(chosen, flavour, exposed), live

    def plan(self, deployment: KubeDeployment, live: LiveState | None) -> UpdatePlan | None:
        """What this update replaces or restarts; BadInput for what it cannot change."""
        if live is None:
            return None
        secrets = k8s.secrets(deployment.topology, self.secret_material(deployment.topology))
        update = plan_update(deployment.manifests(), secrets, live)
        for note in update.notes:
            self.ctx.status.note(note)
        return update

    def up_steps(
        self,
        cli: Cli,
        deployment: KubeDeployment,
        update: UpdatePlan | None,
        *,
        wait: bool,
        timeout: float,
    ) -> list[Step]:
        """Preparation (overlay, namespace, Secrets), then one step per stage of the chain."""
        t = deployment.topology
        layout = Layout.of(deployment.manifests())
        secrets = secrets_command(cli, t, lambda: self.secret_material(t))
        first = self.provider.applied_first()
        return [
            *preparation_steps(cli, layout, self.rendered, first, secrets),
            *stage_steps(
                cli,
                t,
                up_stages(t),
                layout,
                self.rendered,
                update=update,
                wait=wait,
                timeout=timeout,
            ),
        ]

    def up(self, options: UpOptions) -> None:
        session = self.session(options.dry_run)
        self.provider.check_up(options, session)
        if options.wait:
            self.preflight()  # the port-forwards' host ports; no forwards without waiting
        self.prepare()
        write_files(self.rendered, self.provider.files(self.topology))
        self.provider.confirm(options, session)
        self.provider.ensure(options, session)
        cli = self.cli(session)
        deployment, live = self.decide(session, cli, options)
        update = self.plan(deployment, live)
        write_files(self.rendered, deployment_files(deployment))
        session.note(f"rendered {self.target} files into {self.rendered}")
        timeout = options.timeout or self.topology.settings.timeouts.up
        for step in self.up_steps(cli, deployment, update, wait=options.wait, timeout=timeout):
            session.step(step.title, step.commands)
        if deployment.exposed:
            self.publish(session, cli, deployment, wait=options.wait, timeout=timeout)
        if options.wait:
            forwards = [Forward(*f) for f in helm_values.port_forwards(self.topology)]
            self.forwards.start(session, cli.kubectl().argv, forwards)
        else:
            session.note(
                "not waiting (--no-wait): objects applied; pods, Jobs and rollouts not awaited, "
                "no port-forwards started"
            )

    def publish(
        self, session: Session, cli: Cli, deployment: KubeDeployment, *, wait: bool, timeout: float
    ) -> None:
        """The public APIs' load balancers: wait for their addresses, then render the values
        that name them (once, from a deployment built with them) and upgrade those charts."""
        t = deployment.topology
        services = public_services(t)
        follow = [
            c for c in t.components if c.name in services and helm_values.public_urls(c.name, "x")
        ]
        limit = f"--timeout={int(t.settings.timeouts.services_ready)}s"
        balancers = [f"service/{name}" for name in services.values()]
        lb_wait = cli.kubectl(
            "wait", "--for=jsonpath={.status.loadBalancer.ingress}", *balancers, limit
        )
        session.step("public load balancers", [lb_wait])
        upgrades = [helm_install(cli, t, c, self.rendered, timeout) for c in follow]
        if session.dry_run:
            names = ", ".join(c.name for c in follow)
            session.note(
                f"then {names} are upgraded with the NLB addresses as issuer and base URLs:"
            )
            session.show(upgrades)
            return
        addresses = {svc: self.address(cli, name) for svc, name in services.items()}
        addressed = deployment.with_addresses(addresses)
        write_files(self.rendered, values_files(addressed, only={c.name for c in follow}))
        rollouts = [
            cli.kubectl("rollout", "status", f"deployment/{c.name}", "--timeout=300s")
            for c in follow
            if wait
        ]
        session.step("issuer and base URLs on the NLBs", [*upgrades, *rollouts])
        for svc, address in addresses.items():
            self.ctx.status.warn(f"{svc} is public at {address}")

    def address(self, cli: Cli, service: str) -> str:
        """The address of a LoadBalancer Service (its first ingress)."""
        found = items(
            self.executor, cli, "services", "--field-selector", f"metadata.name={service}"
        )
        ingress = ((found or [{}])[0].get("status") or {}).get("loadBalancer") or {}
        first = (ingress.get("ingress") or [{}])[0]
        address = first.get("hostname") or first.get("ip")
        if not address:
            raise SandboxError(f"service {service} has no load balancer address")
        return str(address)

    # ---- down ----------------------------------------------------------------------------

    def down(self, options: DownOptions) -> None:
        session = self.session(options.dry_run)
        self.provider.check_down(options, session)
        if session.dry_run:
            session.note("dry run: nothing is removed; these commands would run:")
            session.note(f"stop the port-forwards listed in {self.forwards.file}")
        else:
            self.forwards.stop(session.note)
        self.provider.delete(options, session, self.cli(session))

    # ---- status, logs, sql ---------------------------------------------------------------

    def status(self) -> list[ServiceStatus]:
        cli = self.cli(self.session(False))
        try:
            pods = items(self.executor, cli, "pods")
            nodes = items(self.executor, cli, "nodes")
        except SandboxError:
            pods = None
        if pods is None:
            return [ServiceStatus(name=self.topology.namespace, state="missing")]
        return status_rows(self.topology, pods, nodes or [])

    def logs(self, service: str | None, follow: bool, tail: int | None) -> None:
        components = [c.name for c in self.topology.components]
        known = [n.name for n in self.topology.nodes] + components
        if service is not None and service not in known:
            raise BadInput(f"SERVICE: unknown service {service!r} (choose from {', '.join(known)})")
        args = ["logs", "--prefix", "--all-containers"]
        if service in components:
            args += ["-l", f"app.kubernetes.io/name={service}"]
        elif service is not None:
            args.append(f"pod/{service}-0")
        else:
            args += ["-l", f"app.kubernetes.io/name in ({','.join([k8s_names.APP, *components])})"]
        if follow:
            args.append("--follow")
        if tail is not None:
            args += ["--tail", str(tail)]
        code = self.executor.attach(self.cli(self.session(False)).kubectl(*args))
        if code != 0:
            raise SandboxError(f"kubectl logs failed with exit code {code}")

    def sql(self, user: str, statement: str | None) -> int:
        """The engine's SQL shell inside the first node, as `user` with its client certs."""
        t = self.topology
        if user not in t.sql_users:
            raise BadInput(f"--user: unknown SQL user {user!r}")
        tty = ["-i", "-t"] if statement is None and sys.stdin.isatty() else ["-i"]
        certs = f"{k8s_names.CLIENT_CERTS_DIR}/{user}"
        shell = t.engine.sql_shell(user=user, certs_dir=certs, statement=statement)
        node = t.nodes[0]
        container = k8s.statefulset(t, node)["spec"]["template"]["spec"]["containers"][0]["name"]
        command = self.cli(self.session(False)).kubectl(
            "exec", *tty, node.pod, "-c", container, "--", *shell
        )
        return self.executor.attach(command)
