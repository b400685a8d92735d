"""The aws target: the eksctl file, credentials, confirmation, and the dry-run sequence."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from sandbox.config.topology import Topology
from sandbox.drivers.aws import AwsDriver, credentials_source
from sandbox.drivers.base import DownOptions, UpOptions
from sandbox.errors import BadInput
from sandbox.render import eksctl
from tests.support.kube import commands, kube_settings, make_driver
from tests.support.schemas import eksctl_errors, needs_eksctl_schema


@needs_eksctl_schema
def test_cluster_config_validates_against_eksctl_schema(topology: Topology) -> None:
    assert eksctl_errors(eksctl.cluster_config(topology)) == []


@needs_eksctl_schema
def test_eksctl_schema_check_can_fail(topology: Topology) -> None:
    broken = copy.deepcopy(eksctl.cluster_config(topology))
    broken["nodeGroups"][0]["desiredCapacity"] = "3"
    assert eksctl_errors(broken)
    broken = copy.deepcopy(eksctl.cluster_config(topology))
    broken["nodeGroups"][0]["instanceTypo"] = "m5.xlarge"
    assert eksctl_errors(broken)


def test_cluster_config_is_the_seeds_cluster(topology: Topology) -> None:
    config = eksctl.cluster_config(topology)
    assert config["metadata"]["region"] == "us-east-1"
    assert config["metadata"]["version"] == "1.36"  # the kind node image's Kubernetes
    assert config["availabilityZones"] == ["us-east-1a", "us-east-1b", "us-east-1c"]
    (group,) = config["nodeGroups"]
    assert (group["name"], group["instanceType"], group["amiFamily"]) == (
        "standard-workers",
        "m5.xlarge",
        "AmazonLinux2023",
    )
    assert (group["desiredCapacity"], group["minSize"], group["maxSize"]) == (3, 1, 4)
    assert config["iam"]["withOIDC"] is True
    assert "aws-ebs-csi-driver" in [a["name"] for a in config["addons"]]
    assert "managedNodeGroups" not in config  # unmanaged, as the seeds' --managed=false


def test_rendered_eksctl_file_loads_back(tmp_path: Path) -> None:
    driver, _ = make_driver(AwsDriver, tmp_path)
    written = driver.render(tmp_path / "out")
    assert tmp_path / "out" / "eksctl-cluster.yaml" in written
    loaded = yaml.safe_load((tmp_path / "out" / "eksctl-cluster.yaml").read_text())
    assert loaded == eksctl.cluster_config(driver.topology)


def test_credentials_found_in_env_profiles_and_nowhere(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert credentials_source({}, home) is None
    assert credentials_source({"AWS_ACCESS_KEY_ID": "AKIA"}, home) is None  # no secret key
    env = {"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "x"}
    assert credentials_source(env, home) == "environment (AWS_ACCESS_KEY_ID)"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "config").write_text("[profile work]\nsso_session = corp\nregion = x\n")
    assert credentials_source({}, home) is None  # the default profile is not there
    assert credentials_source({"AWS_PROFILE": "work"}, home) is not None
    (home / ".aws" / "credentials").write_text("[default]\nregion = us-east-1\n")
    assert credentials_source({}, home) is None  # a profile without any credential
    (home / ".aws" / "credentials").write_text("[default]\naws_access_key_id = AKIA\n")
    assert credentials_source({}, home) is not None


def test_dry_run_up_prints_eksctl_then_the_kind_sequence(tmp_path: Path) -> None:
    driver, stream = make_driver(AwsDriver, tmp_path)
    driver.env, driver.home = {}, tmp_path / "home"  # no credentials: a dry run needs none
    driver.up(UpOptions(dry_run=True))
    output = stream.getvalue()
    argvs = commands(output)
    assert argvs[0][:3] == ["eksctl", "create", "cluster"]
    assert argvs[0][argvs[0].index("--config-file") + 1] == str(driver.cluster_file)
    assert driver.cluster_file.is_file() and "billable" in output
    lbc = next(a for a in argvs if a[0] == "helm")
    assert "aws-load-balancer-controller" in lbc
    kube = [a for a in argvs if a[0] in {"kubectl", "helm"}]
    assert all(a[a.index("--kubeconfig") + 1] == str(driver.kubeconfig) for a in kube)
    assert [a[a.index("--install") + 1] for a in argvs if a[0] == "helm"][1:] == [
        "hydra",
        "kratos",
        "keto",
    ]
    assert not (tmp_path / "tool-cache").exists()


def test_the_same_cluster_commands_as_kind(tmp_path: Path) -> None:
    """Past cluster creation, kind and aws run the same commands on the same files."""
    from sandbox.drivers.kind import KindDriver

    settings = kube_settings(tmp_path)

    def tail(cls: type, sub: str) -> list[list[str]]:
        driver, stream = make_driver(cls, tmp_path / sub, settings)
        driver.env, driver.home = {}, tmp_path
        driver.up(UpOptions(dry_run=True))
        out = []
        for argv in commands(stream.getvalue()):
            if argv[0] not in {"kubectl", "helm"} or "kube-system" in argv:
                continue
            text = " ".join(argv).replace(str(driver.rendered), "R")
            for flag in (" ".join(driver.kube_flags()), " ".join(driver.helm_flags())):
                text = text.replace(flag, "CLUSTER")
            out.append(text.split())
        return out

    kind_tail, aws_tail = tail(KindDriver, "k"), tail(AwsDriver, "a")
    assert len(kind_tail) > 20
    assert kind_tail == aws_tail


def test_up_without_credentials_is_bad_input(tmp_path: Path) -> None:
    driver, _ = make_driver(AwsDriver, tmp_path)
    driver.env, driver.home = {}, tmp_path / "home"
    with pytest.raises(BadInput, match="no AWS credentials"):
        driver.up(UpOptions(yes=True))
    assert not driver.rendered.exists()


def test_up_and_down_need_confirmation(tmp_path: Path) -> None:
    driver, _ = make_driver(AwsDriver, tmp_path)
    driver.env = {"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "x"}
    with pytest.raises(BadInput, match="needs confirmation: re-run with --yes"):
        driver.up(UpOptions())  # stdin is not a terminal under pytest
    with pytest.raises(BadInput, match="needs confirmation"):
        driver.down(DownOptions())


def test_dry_run_down_deletes_the_namespace_before_the_cluster(tmp_path: Path) -> None:
    driver, stream = make_driver(AwsDriver, tmp_path)
    driver.env = {}
    driver.down(DownOptions(dry_run=True))
    argvs = commands(stream.getvalue())
    assert [a[:3] for a in argvs] == [
        ["kubectl", "--kubeconfig", str(driver.kubeconfig)],
        ["eksctl", "delete", "cluster"],
    ]
    assert "namespace" in argvs[0] and "iam-sandbox" in argvs[0]


def test_by_default_nothing_is_public(tmp_path: Path) -> None:
    driver, stream = make_driver(AwsDriver, tmp_path)
    driver.env, driver.home = {}, tmp_path / "home"
    driver.up(UpOptions(dry_run=True))
    output = stream.getvalue()
    assert "0 Network Load Balancers" in output
    assert "every API ClusterIP (reached through port-forwards on 127.0.0.1)" in output
    for svc in ("hydra", "kratos", "keto"):
        assert "LoadBalancer" not in (driver.rendered / "values" / f"{svc}.yaml").read_text()
    assert "internet-facing" not in output


def test_public_needs_yes_and_says_why(tmp_path: Path) -> None:
    driver, stream = make_driver(AwsDriver, tmp_path)
    driver.env, driver.home = {}, tmp_path / "home"
    with pytest.raises(BadInput, match=r"^--public: .* needs --yes as well$"):
        driver.up(UpOptions(dry_run=True, public=True))
    assert "Keto's read API (which has no authentication)" in stream.getvalue()
    assert not driver.rendered.exists()


def test_public_waits_for_the_nlbs_then_moves_the_urls_onto_them(tmp_path: Path) -> None:
    driver, stream = make_driver(AwsDriver, tmp_path)
    driver.env, driver.home = {}, tmp_path / "home"
    driver.up(UpOptions(dry_run=True, public=True, yes=True))
    output = stream.getvalue()
    assert "3 Network Load Balancers" in output
    argvs = commands(output)
    wait = next(
        i for i, a in enumerate(argvs) if "--for=jsonpath={.status.loadBalancer.ingress}" in a
    )
    assert argvs[wait][-4:-1] == [
        "service/hydra-public",
        "service/kratos-public",
        "service/keto-read",
    ]
    upgrades = [a[a.index("--install") + 1] for a in argvs[wait:] if a[0] == "helm"]
    assert upgrades == ["hydra", "kratos"]
    values = (driver.rendered / "values" / "keto.yaml").read_text()
    assert "type: LoadBalancer" in values and "internet-facing" in values
