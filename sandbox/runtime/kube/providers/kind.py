"""The kind provider: a kind cluster in Docker shaped like EKS (a control plane and one worker
per zone, labelled with the zone), so the deployment is the one EKS gets.

Only its cluster file (`kind-cluster.yaml`) and its StorageClass (`overlay.yaml`, Rancher's
local-path provisioner that kind ships) differ from aws. `down` deletes the whole cluster,
which takes everything in it along; a missing cluster is not an error.
"""

from __future__ import annotations

from sandbox.errors import SandboxError
from sandbox.model.topology import Topology
from sandbox.render import k8s, k8s_names, kind
from sandbox.runtime.base import DownOptions, DriverContext, UpOptions
from sandbox.runtime.kube.commands import Command, Session
from sandbox.runtime.kube.deployment import OVERLAY_FILE, overlay_file
from sandbox.runtime.kube.steps import Cli

CLUSTER_FILE = "kind-cluster.yaml"


class KindProvider:
    """See the module docstring."""

    target = "kind"
    flavour: k8s_names.TargetName = "kind"

    def __init__(self, ctx: DriverContext) -> None:
        self.topology = ctx.topology
        self.cluster = kind.cluster_name(ctx.topology)
        self.context = kind.kubectl_context(ctx.topology)
        self.cluster_file = ctx.state.rendered / self.target / CLUSTER_FILE

    def files(self, topology: Topology) -> dict[str, str]:
        return {
            CLUSTER_FILE: k8s.to_yaml(kind.cluster_config(topology)),
            OVERLAY_FILE: overlay_file(topology, self.flavour),
        }

    def applied_first(self) -> tuple[str, ...]:
        return (OVERLAY_FILE,)

    def kube_flags(self) -> list[str]:
        return ["--context", self.context]

    def helm_flags(self) -> list[str]:
        return ["--kube-context", self.context]

    def describe(self) -> str:
        return f"kind cluster {self.cluster}"

    def exposes(self, options: UpOptions) -> bool:
        return False

    def check_up(self, options: UpOptions, session: Session) -> None:
        return None

    def confirm(self, options: UpOptions, session: Session) -> None:
        if session.dry_run:
            session.note("dry run: nothing is started; these commands would run:")

    def _exists(self, session: Session) -> bool:
        if session.dry_run:
            return False
        done = session.executor.run(Command((session.tool("kind"), "get", "clusters"), timeout=60))
        return self.cluster in done.stdout.split()

    def ensure(self, options: UpOptions, session: Session) -> None:
        if not session.dry_run:
            engine = Command(("docker", "info", "--format", "{{.ServerVersion}}"), timeout=20)
            try:
                session.executor.run(engine)
            except SandboxError as exc:
                raise SandboxError(f"kind needs a running Docker engine: {exc.message}") from None
        if self._exists(session):
            session.note(f"kind cluster {self.cluster} exists, reusing it")
            return
        create = Command(
            (
                session.tool("kind"),
                "create",
                "cluster",
                "--name",
                self.cluster,
                "--config",
                str(self.cluster_file),
                "--wait",
                f"{int(self.topology.settings.timeouts.nodes_ready)}s",
            ),
            timeout=options.timeout or self.topology.settings.timeouts.up,
        )
        session.step(f"kind cluster {self.cluster} (1 control plane, 3 zoned workers)", [create])

    def check_down(self, options: DownOptions, session: Session) -> None:
        return None

    def delete(self, options: DownOptions, session: Session, cli: Cli) -> None:
        delete = Command((session.tool("kind"), "delete", "cluster", "--name", self.cluster))
        if session.dry_run:
            session.show([delete])
            return
        session.step(f"kind cluster {self.cluster} deleted", [delete])
