"""The EKS cluster file and its settings: one node group per zone, the EKS version on its own
setting (checked early), and the gp3 StorageClass's file-system key."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.config.settings import Settings
from sandbox.errors import BadInput
from sandbox.model.load import load_settings
from sandbox.model.topology import Topology
from sandbox.render import eksctl, k8s
from sandbox.runtime.base import UpOptions
from sandbox.runtime.kube.commands import Completed, Recorder
from sandbox.runtime.kube.providers.eks import EksProvider
from tests.support.kube_runtime import kube_runtime
from tests.support.schemas import eksctl_errors, needs_eksctl_schema

KEYS = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "example"}


def test_one_node_group_per_zone_each_pinned_to_it(topology: Topology) -> None:
    groups = eksctl.cluster_config(topology)["nodeGroups"]
    assert [(g["name"], g["availabilityZones"]) for g in groups] == [
        ("standard-workers-us-east-1a", ["us-east-1a"]),
        ("standard-workers-us-east-1b", ["us-east-1b"]),
        ("standard-workers-us-east-1c", ["us-east-1c"]),
    ]
    assert [g["labels"]["topology.kubernetes.io/zone"] for g in groups] == [
        "us-east-1a",
        "us-east-1b",
        "us-east-1c",
    ]
    assert {g["labels"]["topology.kubernetes.io/region"] for g in groups} == {"us-east-1"}
    assert [g["desiredCapacity"] for g in groups] == [
        1,
        1,
        1,
    ]  # the integration guide's 3 workers in all


@needs_eksctl_schema
def test_per_zone_node_groups_validate_against_eksctl_schema(topology: Topology) -> None:
    assert eksctl_errors(eksctl.cluster_config(topology)) == []


def test_eks_version_is_its_own_setting_not_the_kind_image(tmp_path: Path) -> None:
    config = eksctl.cluster_config(Topology(Settings()))
    assert config["metadata"]["version"] == "1.34"
    (tmp_path / "sandbox.yaml").write_text("aws:\n  eks_version: '1.33'\n")
    settings, _ = load_settings(cwd=tmp_path, environ={})
    assert eksctl.cluster_config(Topology(settings))["metadata"]["version"] == "1.33"


@pytest.mark.parametrize("bad", ["1.34.2", "v1.34", "latest", "1"])
def test_bad_eks_version_is_one_line_naming_the_field(tmp_path: Path, bad: str) -> None:
    (tmp_path / "sandbox.yaml").write_text(f"aws:\n  eks_version: '{bad}'\n")
    with pytest.raises(BadInput) as exc:
        load_settings(cwd=tmp_path, environ={})
    assert exc.value.exit_code == 2
    assert "\n" not in exc.value.message
    assert exc.value.message == (
        f"{tmp_path / 'sandbox.yaml'}: aws.eks_version: "
        f"expected an EKS Kubernetes version, major.minor such as 1.34 (got '{bad}')"
    )


def up_where_create_fails(tmp_path: Path, stderr: str) -> tuple[BaseException, Recorder]:
    """`up --yes` on a new cluster whose `eksctl create cluster` fails with `stderr`."""
    recorder = Recorder(
        {
            "get cluster": Completed(1, "", "ResourceNotFoundException"),
            "create cluster": Completed(1, "", stderr),
        }
    )
    runtime, recorder, _ = kube_runtime(
        EksProvider, tmp_path, recorder, env=KEYS, home=tmp_path / "home", ask=lambda q: True
    )
    with pytest.raises(Exception) as exc:  # each test checks which one
        runtime.up(UpOptions(yes=True, wait=False))
    return exc.value, recorder


def test_eksctl_refusing_the_version_names_the_setting(tmp_path: Path) -> None:
    error, recorder = up_where_create_fails(
        tmp_path, "Error: invalid version, 1.34 is not supported, use 1.35\n"
    )
    assert isinstance(error, BadInput) and error.exit_code == 2
    assert error.message == (
        "aws.eks_version: eksctl refused EKS version 1.34 (Error: invalid version, 1.34 is not "
        "supported, use 1.35); set one that `eksctl utils describe-cluster-versions` lists"
    )
    assert [a[:3] for a in recorder.argvs] == [
        ["eksctl", "get", "cluster"],
        ["eksctl", "create", "cluster"],
    ]


def test_other_eksctl_failures_are_left_alone(tmp_path: Path) -> None:
    error, _ = up_where_create_fails(
        tmp_path, "Error: AccessDenied: not authorized to perform iam:CreateRole\n"
    )
    assert "AccessDenied" in str(error)
    assert not isinstance(error, BadInput)


def test_ebs_storage_class_sets_the_csi_fstype_key(topology: Topology) -> None:
    parameters = k8s.storage_class(topology, "aws")["parameters"]
    assert parameters == {"type": "gp3", "csi.storage.k8s.io/fstype": "ext4"}
    assert "fsType" not in parameters  # ignored by the EBS CSI driver
