"""The EKS cluster as an eksctl `ClusterConfig`: the integration guide's `eksctl create
cluster`, as a file.

Region and zones come from the settings (us-east-1, a/b/c); unmanaged node groups (the
integration guide's `--managed=false`) of m5.xlarge on Amazon Linux 2023, one per zone (see
`node_groups`); IAM OIDC for service accounts; and the EBS CSI addon, which the gp3 StorageClass
of the overlay needs. The Kubernetes version is `aws.eks_version`. Beyond the guide: an IAM
service account for the AWS Load Balancer Controller, which the NLB annotations of the public
Services need.
"""

from __future__ import annotations

from typing import Any

from sandbox.model.topology import Topology
from sandbox.render.kind import REGION_LABEL, ZONE_LABEL, cluster_name

NODE_GROUP = "standard-workers"
"""The node groups' common prefix; each is `<prefix>-<zone>`."""
INSTANCE_TYPE = "m5.xlarge"
DESIRED, MIN, MAX = 1, 1, 2
"""Per zone: one worker (the integration guide's 3 in all), room for a second while one is
replaced."""
AMI_FAMILY = "AmazonLinux2023"
EBS_CSI_ADDON = "aws-ebs-csi-driver"
LB_CONTROLLER = "aws-load-balancer-controller"
"""Turns the NLB annotations of the public Services into load balancers; runs in kube-system
under a service account with the controller's well-known IAM policy (through OIDC)."""


def node_groups(topology: Topology) -> list[dict[str, Any]]:
    """One node group per zone, each pinned to that zone alone.

    A single group across three zones is balanced by its Auto Scaling group only best-effort:
    a zone can end up without a worker, and the CockroachDB node pinned there stays Pending.
    """
    region = topology.settings.region
    return [
        {
            "name": f"{NODE_GROUP}-{zone}",
            "instanceType": INSTANCE_TYPE,
            "desiredCapacity": DESIRED,
            "minSize": MIN,
            "maxSize": MAX,
            "amiFamily": AMI_FAMILY,
            "availabilityZones": [zone],
            "labels": {ZONE_LABEL: zone, REGION_LABEL: region},
        }
        for zone in dict.fromkeys(node.zone for node in topology.nodes)
    ]


def cluster_config(topology: Topology) -> dict[str, Any]:
    zones = [node.zone for node in topology.nodes]
    metadata: dict[str, Any] = {
        "name": cluster_name(topology),
        "region": topology.settings.region,
        # Its own setting, not the kind image's: EKS offers new Kubernetes minors late.
        "version": topology.settings.aws.eks_version,
        "tags": {"app.kubernetes.io/managed-by": "iam-sandbox"},
    }
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
        "nodeGroups": node_groups(topology),
    }
