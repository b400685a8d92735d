"""The kind cluster: EKS's shape on a laptop (one control plane, one worker per zone).

Workers carry the well-known topology labels EKS nodes get from AWS, so everything scheduled
by zone (the CockroachDB StatefulSets, the Ory spread constraints) behaves the same on both.
"""

from __future__ import annotations

from typing import Any

from sandbox.model.topology import Topology

ZONE_LABEL = "topology.kubernetes.io/zone"
REGION_LABEL = "topology.kubernetes.io/region"


def cluster_name(topology: Topology) -> str:
    """The kind cluster (and EKS cluster) name: the project name, made a DNS label."""
    return topology.project.replace("_", "-")


def kubectl_context(topology: Topology) -> str:
    """The kubeconfig context `kind create cluster` writes."""
    return f"kind-{cluster_name(topology)}"


def cluster_config(topology: Topology) -> dict[str, Any]:
    image = topology.settings.tools.kind_node_image
    workers = [
        {
            "role": "worker",
            "image": image,
            "labels": {ZONE_LABEL: node.zone, REGION_LABEL: node.region},
        }
        for node in topology.nodes
    ]
    return {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "name": cluster_name(topology),
        "nodes": [{"role": "control-plane", "image": image}, *workers],
    }
