"""The kind target: a kind cluster shaped like EKS, then the deployment any cluster gets.

`KindDriver` is `sandbox.drivers.k8s.KubernetesDriver` (the `--target k8s` path) plus creating
and deleting the kind cluster; `sandbox.drivers.aws.AwsDriver` adds an EKS cluster instead.
Both run the same commands on the same rendered files: only the cluster file and the overlay
differ.
"""

from __future__ import annotations

from typing import Any

from sandbox.drivers.base import DownOptions, UpOptions
from sandbox.drivers.k8s import CLUSTER_FILES, Command, KubernetesDriver
from sandbox.errors import SandboxError
from sandbox.render import k8s, kind


class KindDriver(KubernetesDriver):
    """A kind cluster shaped like EKS (one worker per zone), then the shared deployment."""

    target: k8s.TargetName = "kind"

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
            self.show_removal([delete])
            return
        self.stop_forwards()
        # Deleting the cluster removes everything in it; a missing cluster is not an error.
        self.step(f"kind cluster {self.cluster} deleted", [delete])
