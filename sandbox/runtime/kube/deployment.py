"""What goes into a cluster, decided before anything is rendered, and its files.

A `KubeDeployment` is the model the Kubernetes files are rendered from: the topology already
fitted to the cluster (zones or host-name spread, decided from the live nodes by
`sandbox.runtime.kube.update.placement`), the provider's manifest flavour, whether the public
APIs get load balancers, and, once they are known, those load balancers' addresses. It is
frozen: a later fact (an address) makes a new deployment, rendered once; nothing patches the
topology a runtime was given.

The renderers here only assemble text; the render modules decide every byte.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sandbox.model.topology import Topology
from sandbox.render import helm_values, k8s, k8s_names
from sandbox.runtime.kube.steps import MANIFESTS_DIR, VALUES_DIR
from sandbox.state import PUBLIC_MODE, write_atomic

OVERLAY_FILE = "overlay.yaml"


@dataclass(frozen=True)
class KubeDeployment:
    """See the module docstring."""

    topology: Topology
    flavour: k8s_names.TargetName
    """Which variant of the manifests: `kind`/`aws` bring their StorageClass, `k8s` not."""
    exposed: bool = False
    """The public APIs behind internet-facing load balancers (eks `--public`)."""
    addresses: Mapping[str, str] = field(default_factory=dict)
    """Component -> its load balancer's address: its issuer and base URLs name it."""

    def with_addresses(self, addresses: Mapping[str, str]) -> KubeDeployment:
        return replace(self, addresses=dict(addresses))

    def manifests(self) -> dict[str, list[dict[str, Any]]]:
        return k8s.manifests(self.topology, self.flavour)

    def values(self) -> dict[str, dict[str, Any]]:
        return helm_values.all_values(self.topology, self.exposed, dict(self.addresses))


def public_services(topology: Topology) -> dict[str, str]:
    """Component -> the Service of its public API: what `--public` puts behind a load balancer
    (the admin APIs never)."""
    return {
        c.name: helm_values.service_name(c.name, spec.name)
        for c in topology.components
        if c.chart
        for spec in c.ports
        if spec.role == "public"
    }


def overlay_file(topology: Topology, flavour: k8s_names.TargetName) -> str:
    """The provider's StorageClass, the one object that differs between kind and EKS."""
    return k8s.to_yaml(
        k8s.storage_class(topology, flavour),
        header=(
            f"# Rendered by `sandbox render`: the {flavour} overlay, the one object\n"
            "# that differs between kind and aws (values/ and manifests/ are identical).\n"
        ),
    )


def values_files(deployment: KubeDeployment, only: set[str] | None = None) -> dict[str, str]:
    """values/<component>.yaml (every one, or `only` those)."""
    return {
        f"{VALUES_DIR}/{name}.yaml": k8s.to_yaml(doc)
        for name, doc in deployment.values().items()
        if only is None or name in only
    }


def deployment_files(deployment: KubeDeployment) -> dict[str, str]:
    """values/ and manifests/ (no Secrets: they go to kubectl on stdin)."""
    files = values_files(deployment)
    for name, objects in deployment.manifests().items():
        files[f"{MANIFESTS_DIR}/{name}"] = k8s.to_yaml(*objects)
    return files


def write_files(root: Path, files: Mapping[str, str]) -> list[Path]:
    """Write each relative path under `root` (world-readable: no secret is ever among them)."""
    written = []
    for rel, text in files.items():
        path = root / rel
        write_atomic(path, text.encode(), PUBLIC_MODE, dir_mode=0o755)
        written.append(path)
    return written
