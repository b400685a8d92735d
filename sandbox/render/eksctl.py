"""The EKS cluster as an eksctl `ClusterConfig`: the seeds' `eksctl create cluster`, as a file.

Region and zones come from the settings (us-east-1, a/b/c); one unmanaged node group
`standard-workers` (the seeds' `--managed=false`) of m5.xlarge, desired 3, min 1, max 4, on
Amazon Linux 2023; IAM OIDC for service accounts; and the EBS CSI addon, which the gp3
StorageClass of the overlay needs. Beyond the seeds: an IAM service account for the AWS Load
Balancer Controller, which the NLB annotations of the public Services need.
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.model.topology import Topology
from sandbox.render.kind import cluster_name

NODE_GROUP = "standard-workers"
INSTANCE_TYPE = "m5.xlarge"
DESIRED, MIN, MAX = 3, 1, 4
AMI_FAMILY = "AmazonLinux2023"
EBS_CSI_ADDON = "aws-ebs-csi-driver"
LB_CONTROLLER = "aws-load-balancer-controller"
"""Turns the NLB annotations of the public Services into load balancers; runs in kube-system
under a service account with the controller's well-known IAM policy (through OIDC)."""


def kubernetes_version(topology: Topology) -> str | None:
    """The Kubernetes minor of the kind node image (`kindest/node:v1.36.1@...` -> 1.36)."""
    match = re.search(r":v?(\d+)\.(\d+)", topology.settings.tools.kind_node_image.split("@")[0])
    return f"{match.group(1)}.{match.group(2)}" if match else None


def cluster_config(topology: Topology) -> dict[str, Any]:
    zones = [node.zone for node in topology.nodes]
    metadata: dict[str, Any] = {
        "name": cluster_name(topology),
        "region": topology.settings.region,
        "tags": {"app.kubernetes.io/managed-by": "iam-sandbox"},
    }
    version = kubernetes_version(topology)
    if version:
        metadata["version"] = version  # EKS runs what kind rehearsed
    return {
        "apiVersion": "eksctl.io/v1alpha5",
        "kind": "ClusterConfig",
        "metadata": metadata,
        "availabilityZones": zones,
        "iam": {
            "withOIDC": True,
            "serviceAccounts": [
                {
                    "metadata": {"name": LB_CONTROLLER, "namespace": "kube-system"},
                    "wellKnownPolicies": {"awsLoadBalancerController": True},
                }
            ],
        },
        "addons": [
            {
                "name": EBS_CSI_ADDON,
                # The addon's controller needs EC2 volume rights; eksctl attaches the policy.
                "wellKnownPolicies": {"ebsCSIController": True},
            }
        ],
        "nodeGroups": [
            {
                "name": NODE_GROUP,
                "instanceType": INSTANCE_TYPE,
                "desiredCapacity": DESIRED,
                "minSize": MIN,
                "maxSize": MAX,
                "amiFamily": AMI_FAMILY,
                "availabilityZones": zones,
                "labels": {"topology.kubernetes.io/region": topology.settings.region},
            }
        ],
    }
