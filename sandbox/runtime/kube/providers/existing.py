"""`--target k8s`: a cluster the user already has (`--context`, `--kubeconfig`).

It creates and deletes no cluster and brings no StorageClass (volumes use
`kubernetes.storage_class`, or the cluster's default). `down` removes only this sandbox's
namespace, after checking the namespace carries this sandbox's labels, and its labelled
cluster-scoped objects. The access `up` used is remembered in the state directory, so
`status`, `logs` and `down` reach the same cluster without the flags.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sandbox.errors import BadInput, SandboxError
from sandbox.model.topology import Topology
from sandbox.render import k8s_names
from sandbox.runtime.base import DownOptions, DriverContext, UpOptions
from sandbox.runtime.kube.commands import Command, Session
from sandbox.runtime.kube.live import items
from sandbox.runtime.kube.steps import Cli
from sandbox.state import SECRET_MODE, write_atomic

ACCESS_FILE = "access.json"
CLUSTER_SCOPED = "storageclasses,clusterroles,clusterrolebindings"
"""The cluster-scoped kinds a sandbox may own; `down` deletes those carrying its labels."""


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

    def chosen(self, kubeconfig: Path | None, context: str | None) -> ClusterAccess:
        """Options win over what `up` remembered; a named kubeconfig must exist."""
        if kubeconfig is not None:
            path = kubeconfig.expanduser().resolve()
            if not path.is_file():
                raise BadInput(f"--kubeconfig: no such file: {kubeconfig}")
            return ClusterAccess(str(path), context or self.context)
        if context is not None:
            return ClusterAccess(self.kubeconfig, context)
        return self


def selector(topology: Topology) -> str:
    """The labels of everything this sandbox creates itself."""
    return (
        f"app.kubernetes.io/managed-by=iam-sandbox,"
        f"app.kubernetes.io/part-of={k8s_names.part_of(topology)}"
    )


class ExistingProvider:
    """See the module docstring. `access` is the cluster it points at: what `up` remembered,
    replaced by `--kubeconfig`/`--context` when `up` or `down` is given them."""

    target = "k8s"
    flavour: k8s_names.TargetName = "k8s"

    def __init__(self, ctx: DriverContext) -> None:
        self.topology = ctx.topology
        self.status = ctx.status
        self.access_file = ctx.state.root / self.target / ACCESS_FILE
        self.access = self.remembered()

    def remembered(self) -> ClusterAccess:
        try:
            data = json.loads(self.access_file.read_text())
        except (OSError, ValueError):
            return ClusterAccess()
        return ClusterAccess(data.get("kubeconfig"), data.get("context"))

    def files(self, topology: Topology) -> dict[str, str]:
        return {}

    def applied_first(self) -> tuple[str, ...]:
        return ()

    def kube_flags(self) -> list[str]:
        return self.access.kubectl_flags()

    def helm_flags(self) -> list[str]:
        return self.access.helm_flags()

    def describe(self) -> str:
        return self.access.describe()

    def exposes(self, options: UpOptions) -> bool:
        return False

    def check_up(self, options: UpOptions, session: Session) -> None:
        self.access = self.access.chosen(options.kubeconfig, options.kube_context)

    def confirm(self, options: UpOptions, session: Session) -> None:
        if session.dry_run:
            session.note("dry run: nothing is applied; these commands would run:")

    def ensure(self, options: UpOptions, session: Session) -> None:
        """The cluster answers; its version is shown; the access is remembered."""
        version = (session.tool("kubectl"), *self.kube_flags(), "version", "-o", "json")
        done = session.read(Command(version, timeout=60))
        if done is None:  # a dry run asks nothing
            return
        try:
            server = json.loads(done.stdout)["serverVersion"]["gitVersion"]
        except (ValueError, KeyError, TypeError):
            detail = (done.stderr.strip().splitlines() or ["no answer"])[-1]
            raise SandboxError(
                f"k8s: cannot reach the cluster ({self.describe()}): {detail}"
            ) from None
        session.note(f"cluster: Kubernetes {server} ({self.describe()})")
        session.tool("helm")
        access = {"kubeconfig": self.access.kubeconfig, "context": self.access.context}
        write_atomic(self.access_file, json.dumps(access).encode(), SECRET_MODE)

    def check_down(self, options: DownOptions, session: Session) -> None:
        self.access = self.access.chosen(options.kubeconfig, options.kube_context)

    def ours(self, labels: dict[str, str]) -> bool:
        return labels.get("app.kubernetes.io/managed-by") == "iam-sandbox" and labels.get(
            "app.kubernetes.io/part-of"
        ) == k8s_names.part_of(self.topology)

    def delete(self, options: DownOptions, session: Session, cli: Cli) -> None:
        """The sandbox's namespace and its labelled cluster-scoped objects; nothing else."""
        ns, labels = self.topology.namespace, selector(self.topology)
        wait = f"--wait={str(options.wait).lower()}"
        delete_namespace = cli.kubectl("delete", "namespace", ns, "--ignore-not-found", wait)
        delete_owned = cli.kubectl("delete", CLUSTER_SCOPED, "-l", labels, "--ignore-not-found")
        if session.dry_run:
            session.show([delete_namespace, delete_owned])
            return
        found = items(
            session.executor, cli, "namespaces", "--field-selector", f"metadata.name={ns}"
        )
        if found is None:
            raise SandboxError(f"k8s: cannot read namespace {ns} ({self.describe()})")
        if found and not self.ours(found[0]["metadata"].get("labels") or {}):
            raise BadInput(
                f"kubernetes.namespace: namespace {ns} was not created by this sandbox "
                f"(no label {labels.replace(',', ' and ')}); left alone"
            )
        if found:
            waited = "" if options.wait else " (not waiting for it to empty)"
            session.step(f"namespace {ns} deleted{waited}", [delete_namespace])
        else:
            session.note(f"no namespace {ns}: nothing to delete there")
        session.step("labelled cluster-scoped objects deleted", [delete_owned])
        self.access_file.unlink(missing_ok=True)
