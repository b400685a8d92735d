"""The eks provider (`--target aws`): the eksctl file, credentials, confirmation, and the
recorded command sequence, on the Kubernetes runtime."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.config.settings import Settings
from sandbox.errors import BadInput
from sandbox.model.topology import Topology
from sandbox.render import eksctl
from sandbox.runtime.base import DownOptions, UpOptions
from sandbox.runtime.kube.commands import Completed, Recorder
from sandbox.runtime.kube.providers.eks import EksProvider, credentials_source
from sandbox.runtime.kube.providers.kind import KindProvider
from sandbox.runtime.kube.runtime import KubeRuntime
from tests.support.kube import kube_settings
from tests.support.kube_runtime import items, kube_runtime, node
from tests.support.schemas import eksctl_errors, needs_eksctl_schema

KEYS = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "example"}
ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"


def never(question: str) -> bool:
    return False


def eks(
    tmp_path: Path,
    recorder: Recorder | None = None,
    env: dict[str, str] | None = None,
    settings: Settings | None = None,
) -> tuple[KubeRuntime, Recorder, Any]:
    """The aws target with no credentials (unless `env` has some) and no terminal to ask at."""
    return kube_runtime(
        EksProvider, tmp_path, recorder, settings, env=env or {}, home=tmp_path / "home", ask=never
    )


def with_certificate(tmp_path: Path) -> Settings:
    """What `--public` needs: an ACM certificate for the NLBs' TLS."""
    return kube_settings(tmp_path, aws={"acm_certificate_arn": ARN})


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


def test_cluster_config_is_the_integration_guides_cluster(topology: Topology) -> None:
    config = eksctl.cluster_config(topology)
    assert config["metadata"]["region"] == "us-east-1"
    assert config["metadata"]["version"] == "1.34"  # aws.eks_version, not the kind image's
    assert config["availabilityZones"] == ["us-east-1a", "us-east-1b", "us-east-1c"]
    for group in config["nodeGroups"]:  # one per zone: tests/unit/test_eks_cluster.py
        assert (group["instanceType"], group["amiFamily"]) == ("m5.xlarge", "AmazonLinux2023")
        assert (group["desiredCapacity"], group["minSize"], group["maxSize"]) == (1, 1, 2)
    assert config["iam"]["withOIDC"] is True
    assert "aws-ebs-csi-driver" in [a["name"] for a in config["addons"]]
    assert (
        "managedNodeGroups" not in config
    )  # unmanaged, as the integration guide's --managed=false


def test_rendered_eksctl_file_loads_back(tmp_path: Path) -> None:
    runtime, _, _ = eks(tmp_path)
    written = runtime.render(tmp_path / "out")
    assert tmp_path / "out" / "eksctl-cluster.yaml" in written
    loaded = yaml.safe_load((tmp_path / "out" / "eksctl-cluster.yaml").read_text())
    assert loaded == eksctl.cluster_config(runtime.topology)


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


def test_dry_run_up_records_eksctl_then_the_kind_sequence(tmp_path: Path) -> None:
    runtime, recorder, stream = eks(tmp_path)  # no credentials: a dry run needs none
    runtime.up(UpOptions(dry_run=True))
    provider = runtime.provider
    assert isinstance(provider, EksProvider)
    config = ["--kubeconfig", str(provider.kubeconfig)]
    argvs = recorder.argvs
    assert recorder.skipped == recorder.commands
    assert argvs[:3] == [
        ["eksctl", "create", "cluster", "--config-file", str(provider.cluster_file), *config],
        [
            "helm",
            *config,
            "upgrade",
            "--install",
            "aws-load-balancer-controller",
            "aws-load-balancer-controller",
            "--repo",
            "https://aws.github.io/eks-charts",
            "--version",
            "1.14.1",
            "--namespace",
            "kube-system",
            "--set",
            "clusterName=iam-sandbox",
            "--set",
            "serviceAccount.create=false",
            "--set",
            "serviceAccount.name=aws-load-balancer-controller",
            "--set",
            "region=us-east-1",
            "--set",
            "vpcId=<vpc id from eksctl get cluster>",
            "--wait",
        ],
        [
            "kubectl",
            *config,
            "--namespace",
            "kube-system",
            "rollout",
            "status",
            "deployment/aws-load-balancer-controller",
            "--timeout=300s",
        ],
    ]
    assert provider.cluster_file.is_file() and "billable" in stream.getvalue()
    assert all(a[1:3] == config for a in argvs if a[0] in {"kubectl", "helm"})
    assert [a[5] for a in argvs[3:] if a[0] == "helm"] == ["hydra", "kratos", "keto", "ui"]
    assert not (tmp_path / "tool-cache").exists()


def test_the_same_cluster_commands_as_kind(tmp_path: Path) -> None:
    """Past cluster creation, kind and aws run the same commands on the same files."""
    settings = kube_settings(tmp_path)

    def tail(runtime: KubeRuntime, recorder: Recorder) -> list[list[str]]:
        runtime.up(UpOptions(dry_run=True))
        flags = {*runtime.provider.kube_flags(), *runtime.provider.helm_flags()}
        return [
            [a.replace(str(runtime.rendered), "R") for a in argv if a not in flags]
            for argv in recorder.argvs
            if argv[0] in {"kubectl", "helm"} and "kube-system" not in argv
        ]

    kind_runtime, kind_recorder, _ = kube_runtime(KindProvider, tmp_path / "k", None, settings)
    aws_runtime, aws_recorder, _ = kube_runtime(
        EksProvider, tmp_path / "a", None, settings, env={}, home=tmp_path
    )
    kind_tail = tail(kind_runtime, kind_recorder)
    assert len(kind_tail) > 20
    assert kind_tail == tail(aws_runtime, aws_recorder)


def test_up_without_credentials_is_bad_input(tmp_path: Path) -> None:
    runtime, recorder, _ = eks(tmp_path)
    with pytest.raises(BadInput, match="no AWS credentials"):
        runtime.up(UpOptions(yes=True))
    assert not runtime.rendered.exists()
    assert recorder.commands == []


def test_up_and_down_need_confirmation(tmp_path: Path) -> None:
    runtime, recorder, stream = eks(tmp_path, env=KEYS)
    with pytest.raises(BadInput, match="needs confirmation: re-run with --yes"):
        runtime.up(UpOptions())
    assert "billable" in stream.getvalue()  # the cost came first
    with pytest.raises(BadInput, match="needs confirmation"):
        runtime.down(DownOptions())
    assert recorder.commands == []


def test_dry_run_down_deletes_the_namespace_before_the_cluster(tmp_path: Path) -> None:
    runtime, recorder, _ = eks(tmp_path)
    runtime.down(DownOptions(dry_run=True))
    provider = runtime.provider
    assert isinstance(provider, EksProvider)
    assert recorder.argvs == [
        [
            "kubectl",
            "--kubeconfig",
            str(provider.kubeconfig),
            "delete",
            "namespace",
            "iam-sandbox",
            "--ignore-not-found",
            "--wait=true",
            "--timeout=600s",
        ],
        ["eksctl", "delete", "cluster", "--config-file", str(provider.cluster_file), "--wait"],
    ]
    assert provider.cluster_file.is_file()  # eksctl deletes by it


def test_down_of_a_missing_cluster_deletes_nothing(tmp_path: Path) -> None:
    gone = Recorder({"get cluster": Completed(1, "", "ResourceNotFoundException")})
    runtime, recorder, stream = eks(tmp_path, gone, env=KEYS)
    runtime.down(DownOptions(yes=True))
    assert recorder.argvs == [
        ["eksctl", "get", "cluster", "--name", "iam-sandbox", "--region", "us-east-1"]
    ]
    assert "no EKS cluster iam-sandbox in us-east-1: nothing to do" in stream.getvalue()


def test_by_default_nothing_is_public(tmp_path: Path) -> None:
    runtime, _, stream = eks(tmp_path)
    runtime.up(UpOptions(dry_run=True))
    output = stream.getvalue()
    assert "0 Network Load Balancers" in output
    assert "every API ClusterIP (reached through port-forwards on 127.0.0.1)" in output
    for svc in ("hydra", "kratos", "keto"):
        assert "LoadBalancer" not in (runtime.rendered / "values" / f"{svc}.yaml").read_text()
    assert "internet-facing" not in output


def test_public_needs_yes_and_says_why(tmp_path: Path) -> None:
    runtime, recorder, stream = eks(tmp_path, settings=with_certificate(tmp_path))
    with pytest.raises(BadInput, match=r"^--public: .* needs --yes as well$"):
        runtime.up(UpOptions(dry_run=True, public=True))
    assert "Keto's read API (which has no authentication)" in stream.getvalue()
    assert not runtime.rendered.exists()
    assert recorder.commands == []


def test_public_dry_run_waits_for_the_nlbs_then_upgrades_the_urls(tmp_path: Path) -> None:
    runtime, recorder, stream = eks(tmp_path, settings=with_certificate(tmp_path))
    runtime.up(UpOptions(dry_run=True, public=True, yes=True))
    assert "3 Network Load Balancers" in stream.getvalue()
    argvs = recorder.argvs
    wait = next(
        i for i, a in enumerate(argvs) if "--for=jsonpath={.status.loadBalancer.ingress}" in a
    )
    assert argvs[wait][-4:] == [
        "service/hydra-public",
        "service/kratos-public",
        "service/keto-read",
        "--timeout=180s",
    ]
    assert [a[5] for a in argvs[wait:] if a[0] == "helm"] == ["hydra", "kratos"]
    values = (runtime.rendered / "values" / "keto.yaml").read_text()
    assert "type: LoadBalancer" in values and "internet-facing" in values


def lb_service(name: str, host: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "status": {"loadBalancer": {"ingress": [{"hostname": host}]}},
    }


def test_public_urls_are_rendered_once_the_addresses_are_known(tmp_path: Path) -> None:
    """Not a dry run: the addresses are read, the values naming them rendered from a deployment
    built with them (hydra and kratos only), then those two charts upgraded."""
    hosts = {svc: f"{svc}-0123.elb.us-east-1.amazonaws.com" for svc in ("hydra", "kratos", "keto")}
    zoned = items(
        *(node(f"w{z}", **{"topology.kubernetes.io/zone": f"us-east-1{z}"}) for z in "abc")
    )
    vpc = json.dumps([{"ResourcesVpcConfig": {"VpcId": "vpc-0abc"}}])
    answers: dict[str, str | Completed] = {
        "get cluster --name iam-sandbox --region us-east-1 -o json": vpc,
        "get nodes": zoned,
        **{
            f"metadata.name={svc}-{key}": items(lb_service(f"{svc}-{key}", hosts[svc]))
            for svc, key in (("hydra", "public"), ("kratos", "public"), ("keto", "read"))
        },
    }
    runtime, recorder, stream = eks(
        tmp_path, Recorder(answers), env=KEYS, settings=with_certificate(tmp_path)
    )
    given = runtime.topology
    runtime.up(UpOptions(public=True, yes=True, wait=False))
    provider = runtime.provider
    assert isinstance(provider, EksProvider)
    argvs = recorder.argvs
    kubeconfig = str(provider.kubeconfig)
    assert [a[:3] for a in argvs[:5]] == [
        ["eksctl", "get", "cluster"],  # it exists: reused
        ["eksctl", "utils", "write-kubeconfig"],
        ["eksctl", "get", "cluster"],  # its VPC, for the load balancer controller
        ["helm", "--kubeconfig", kubeconfig],
        ["kubectl", "--kubeconfig", kubeconfig],
    ]
    assert argvs[3][-3:-1] == ["--set", "vpcId=vpc-0abc"]
    reads = [a for a in argvs if "--field-selector" in a]
    assert [a[a.index("--field-selector") + 1] for a in reads] == [
        "metadata.name=hydra-public",
        "metadata.name=kratos-public",
        "metadata.name=keto-read",
    ]
    last = argvs[argvs.index(reads[-1]) + 1 :]
    assert [a[5] for a in last] == ["hydra", "kratos"]  # helm upgrades, no rollout (no wait)
    hydra = yaml.safe_load((runtime.rendered / "values" / "hydra.yaml").read_text())
    issuer = f"https://{hosts['hydra']}:4444/"  # the NLB terminates TLS
    assert hydra["hydra"]["config"]["urls"]["self"] == {"issuer": issuer, "public": issuer}
    kratos = yaml.safe_load((runtime.rendered / "values" / "kratos.yaml").read_text())
    url = f"https://{hosts['kratos']}:4433/"
    assert kratos["kratos"]["config"]["serve"]["public"]["base_url"] == url
    keto = (runtime.rendered / "values" / "keto.yaml").read_text()
    assert hosts["keto"] not in keto  # keto's config names no URL of its own
    assert f"keto is public at {hosts['keto']}" in stream.getvalue()
    assert runtime.topology is given
