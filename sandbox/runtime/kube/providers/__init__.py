"""Cluster providers: which cluster the Kubernetes runtime deploys into, and how to reach it.

The runtime (`sandbox.runtime.kube.runtime`) does everything inside a cluster; a provider
answers the rest: its own files (a cluster file, a StorageClass overlay), the flags that point
kubectl and helm at its cluster, the checks and confirmation before anything changes, creating
or reusing the cluster, and deleting what it owns. Providers are composed into the runtime,
never subclassed. `existing` (`--target k8s`) uses a cluster the user has; `kind` creates one
in Docker; `eks` creates one on AWS.

Adding a provider is one module here implementing `ClusterProvider` plus one row in
`sandbox.targets`.

A provider's lifecycle in `up`: `check_up` (bad input, before anything is written), then the
runtime writes `files`, then `confirm` (plan, cost, yes), `ensure` (the cluster exists and
answers), and the runtime deploys. In `down`: `check_down`, the runtime stops the forwards,
then `delete`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sandbox.model.topology import Topology
    from sandbox.render.k8s_names import TargetName
    from sandbox.runtime.base import DownOptions, UpOptions
    from sandbox.runtime.kube.commands import Session
    from sandbox.runtime.kube.steps import Cli


class ClusterProvider(Protocol):
    """See the module docstring."""

    target: str
    """The target's name (`sandbox.targets`): its state lives under `<state>/<target>`."""
    flavour: TargetName
    """Which variant of the manifests its cluster gets (its own StorageClass, or none)."""

    def files(self, topology: Topology) -> dict[str, str]:
        """Its own rendered files, relative path -> text (cluster file, overlay)."""
        ...

    def applied_first(self) -> tuple[str, ...]:
        """Of `files`, those kubectl applies before the namespace (the StorageClass)."""
        ...

    def kube_flags(self) -> list[str]:
        """How kubectl reaches its cluster (context or kubeconfig)."""
        ...

    def helm_flags(self) -> list[str]: ...

    def describe(self) -> str:
        """Its cluster in a few words, for status lines and errors."""
        ...

    def exposes(self, options: UpOptions) -> bool:
        """Whether this `up` puts the public APIs behind internet-facing load balancers."""
        ...

    def check_up(self, options: UpOptions, session: Session) -> None:
        """Bad input, before anything is written (a missing kubeconfig, no credentials)."""
        ...

    def confirm(self, options: UpOptions, session: Session) -> None:
        """After the files are written: say what will happen, ask when it costs money."""
        ...

    def ensure(self, options: UpOptions, session: Session) -> None:
        """The cluster exists (created or reused) and kubectl reaches it."""
        ...

    def check_down(self, options: DownOptions, session: Session) -> None: ...

    def delete(self, options: DownOptions, session: Session, cli: Cli) -> None:
        """Remove what this sandbox owns on the cluster (or the cluster itself)."""
        ...
