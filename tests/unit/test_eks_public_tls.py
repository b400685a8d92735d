"""aws `--public` needs TLS at the NLBs: Kratos outside dev mode sets Secure cookies, which a
browser never sends over `http://<nlb>`, so browser flows could not keep a session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sandbox.config.settings import Settings
from sandbox.errors import BadInput
from sandbox.model.load import load_settings
from sandbox.model.topology import Topology
from sandbox.render import helm_values
from sandbox.runtime.base import UpOptions
from sandbox.runtime.kube.commands import Recorder
from sandbox.runtime.kube.providers.eks import EksProvider
from sandbox.runtime.kube.runtime import KubeRuntime
from tests.support import helm
from tests.support.kube import kube_settings
from tests.support.kube_runtime import kube_runtime

ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
NLB = {
    "service.beta.kubernetes.io/aws-load-balancer-type": "external",
    "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
}


def eks(tmp_path: Path, **aws: str) -> tuple[KubeRuntime, Recorder, Any]:
    settings = kube_settings(tmp_path, aws=aws)
    return kube_runtime(
        EksProvider, tmp_path, None, settings, env={}, home=tmp_path / "home", ask=lambda q: False
    )


@pytest.mark.parametrize("dry_run", [True, False])
def test_public_without_a_certificate_is_refused_before_anything(
    tmp_path: Path, dry_run: bool
) -> None:
    runtime, recorder, stream = eks(tmp_path)
    with pytest.raises(BadInput) as exc:
        runtime.up(UpOptions(public=True, yes=True, dry_run=dry_run))
    assert exc.value.exit_code == 2
    assert exc.value.message == (
        "--public needs aws.acm_certificate_arn (an ACM certificate for the NLBs' TLS): "
        "Kratos's Secure cookies never travel over plain HTTP"
    )
    assert recorder.commands == []
    assert not runtime.rendered.exists()
    assert not runtime.ctx.state.root.exists()
    assert "internet-facing" not in stream.getvalue()


def test_a_certificate_of_another_region_is_refused(tmp_path: Path) -> None:
    runtime, recorder, _ = eks(tmp_path, acm_certificate_arn=ARN.replace("us-east-1", "eu-west-1"))
    with pytest.raises(BadInput) as exc:
        runtime.up(UpOptions(public=True, yes=True, dry_run=True))
    assert exc.value.message == (
        "aws.acm_certificate_arn: the certificate is in eu-west-1, the cluster in us-east-1 "
        "(an NLB takes only a certificate of its own region)"
    )
    assert recorder.commands == []


def test_not_an_arn_is_one_line_naming_the_field(tmp_path: Path) -> None:
    (tmp_path / "sandbox.yaml").write_text("aws:\n  acm_certificate_arn: my-cert\n")
    with pytest.raises(BadInput) as exc:
        load_settings(cwd=tmp_path, environ={})
    assert exc.value.exit_code == 2
    assert exc.value.message.startswith(
        f"{tmp_path / 'sandbox.yaml'}: aws.acm_certificate_arn: expected an ACM certificate ARN"
    )
    assert "\n" not in exc.value.message


def test_with_a_certificate_the_public_nlbs_terminate_tls(tmp_path: Path) -> None:
    runtime, _, _ = eks(tmp_path, acm_certificate_arn=ARN)
    runtime.up(UpOptions(public=True, yes=True, dry_run=True))
    topology = runtime.topology
    for service, key, port in (
        ("hydra", "public", 4444),
        ("kratos", "public", 4433),
        ("keto", "read", 4466),
    ):
        public = helm_values.values(topology, service, True)["service"][key]
        assert public["type"] == "LoadBalancer"
        assert public["annotations"] == {
            **NLB,
            "service.beta.kubernetes.io/aws-load-balancer-ssl-cert": ARN,
            "service.beta.kubernetes.io/aws-load-balancer-ssl-ports": str(port),
        }
    keto = (runtime.rendered / "values" / "keto.yaml").read_text()
    assert "aws-load-balancer-ssl-cert: " + ARN in keto


def test_admin_apis_and_unexposed_services_get_no_tls_annotations() -> None:
    topology = Topology(Settings.model_validate({"aws": {"acm_certificate_arn": ARN}}))
    for service, key in (("hydra", "admin"), ("kratos", "admin"), ("keto", "write")):
        assert helm_values.values(topology, service, True)["service"][key]["annotations"] == {}
    for spec in helm_values.values(topology, "hydra")["service"].values():
        assert spec["annotations"] == {} and spec["type"] == "ClusterIP"


def test_urls_are_https_on_the_nlb_or_on_the_public_domain() -> None:
    host = "k8s-hydra-0123.elb.us-east-1.amazonaws.com"
    tls = Topology(Settings.model_validate({"aws": {"acm_certificate_arn": ARN}}))
    urls = helm_values.values(tls, "hydra", True, host)["hydra"]["config"]["urls"]["self"]
    assert urls == {"issuer": f"https://{host}:4444/", "public": f"https://{host}:4444/"}
    named = Topology(
        Settings.model_validate(
            {"aws": {"acm_certificate_arn": ARN, "public_domain": "iam.example.com"}}
        )
    )
    hydra = helm_values.values(named, "hydra", True, host)["hydra"]["config"]["urls"]["self"]
    assert hydra["issuer"] == "https://hydra.iam.example.com:4444/"
    kratos = helm_values.values(named, "kratos", True)["kratos"]["config"]["serve"]["public"]
    assert kratos["base_url"] == "https://kratos.iam.example.com:4433/"
    local = helm_values.values(named, "hydra")["hydra"]["config"]["urls"]["self"]["issuer"]
    assert local == "http://127.0.0.1:4444/"  # not exposed: the port-forward, as before


@pytest.mark.skipif(helm.helm_problem("kratos") is not None, reason="no helm or Ory charts")
def test_the_chart_puts_the_tls_annotations_on_the_service(tmp_path: Path) -> None:
    topology = Topology(Settings.model_validate({"aws": {"acm_certificate_arn": ARN}}))
    objects = helm.manifests("kratos", helm_values.values(topology, "kratos", True), tmp_path)
    (service,) = [
        o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == "kratos-public"
    ]
    annotations = service["metadata"]["annotations"]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"] == ARN
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-ports"] == "4433"
    assert service["spec"]["type"] == "LoadBalancer"
