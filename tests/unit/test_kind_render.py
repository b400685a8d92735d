"""The Kubernetes renderers: kind cluster, CockroachDB objects, Ory chart values, the overlay."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.config.settings import Settings
from sandbox.config.topology import RPC_PORT, Topology
from sandbox.drivers.base import DriverContext
from sandbox.pipeline.status import Status
from sandbox.pki.layout import CertLayout
from sandbox.render import helm_values, k8s, kind, ory
from sandbox.state import StateDir, ory_secrets
from tests.support.schemas import needs_ory_schemas, ory_errors

K8S_VERSION = "1.36.0"  # the node image's Kubernetes minor, bundled by kubernetes-validate


def k8s_errors(obj: dict[str, Any]) -> str | None:
    from kubernetes_validate import ValidationError, validate

    try:
        validate(obj, K8S_VERSION, strict=True)
    except ValidationError as exc:
        return str(exc).splitlines()[0]
    return None


def all_manifests(topology: Topology) -> list[dict[str, Any]]:
    return [obj for objs in k8s.manifests(topology).values() for obj in objs]


def render_target(tmp_path: Path, target: str, settings: Settings | None = None) -> Path:
    from sandbox.drivers.aws import AwsDriver
    from sandbox.drivers.kind import KindDriver

    topology = Topology(settings or Settings())
    ctx = DriverContext(topology, StateDir(tmp_path / "state"), Status(quiet=True))
    driver = {"kind": KindDriver, "aws": AwsDriver}[target](ctx)
    out = tmp_path / target
    driver.render(out)
    return out


def test_kind_cluster_mirrors_eks_zones(topology: Topology) -> None:
    config = kind.cluster_config(topology)
    roles = [n["role"] for n in config["nodes"]]
    assert roles == ["control-plane", "worker", "worker", "worker"]
    workers = config["nodes"][1:]
    assert [w["labels"][kind.ZONE_LABEL] for w in workers] == [
        "us-east-1a",
        "us-east-1b",
        "us-east-1c",
    ]
    assert {w["labels"][kind.REGION_LABEL] for w in workers} == {"us-east-1"}
    for node in config["nodes"]:
        assert node["image"].startswith("kindest/node:v1.36.1@sha256:")
        assert not any(k.startswith("node-role.kubernetes.io") for k in node.get("labels", {}))


@pytest.mark.parametrize("index", [0, 1, 2])
def test_one_statefulset_per_zone_pinned_and_localised(topology: Topology, index: int) -> None:
    node = topology.nodes[index]
    sts = k8s.statefulset(topology, node)
    pod = sts["spec"]["template"]["spec"]
    assert sts["metadata"]["name"] == node.name and sts["spec"]["replicas"] == 1
    assert sts["spec"]["serviceName"] == topology.headless_service == "crdb-internal"
    assert pod["nodeSelector"] == {kind.ZONE_LABEL: node.zone}
    args = pod["containers"][0]["args"]
    assert f"--locality=region=us-east-1,zone={node.zone}" in args
    advertise = next(a for a in args if a.startswith("--advertise-addr="))
    host = advertise.removeprefix("--advertise-addr=").rsplit(":", 1)[0]
    assert host == f"{node.name}-0.crdb-internal.iam-sandbox.svc.cluster.local"
    # every name a node is reached by is in its certificate
    assert host in topology.node_dns_names(node)
    join = next(a for a in args if a.startswith("--join=")).removeprefix("--join=").split(",")
    assert len(join) == 3
    for other, address in zip(topology.nodes, join, strict=True):
        name, port = address.rsplit(":", 1)
        assert int(port) == RPC_PORT and name in topology.node_dns_names(other)
    claim = sts["spec"]["volumeClaimTemplates"][0]["spec"]
    assert claim["storageClassName"] == k8s.storage_class_name(topology)
    assert claim["resources"]["requests"]["storage"] == "10Gi"


def test_storage_size_follows_settings() -> None:
    topology = Topology(Settings.model_validate({"kubernetes": {"storage_size": "25Gi"}}))
    sts = k8s.statefulset(topology, topology.nodes[0])
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"] == {
        "storage": "25Gi"
    }


def test_manifests_validate_against_kubernetes_schema(topology: Topology) -> None:
    objects = [
        *all_manifests(topology),
        k8s.storage_class(topology, "kind"),
        k8s.storage_class(topology, "aws"),
    ]
    assert {o["kind"] for o in objects} >= {
        "Namespace",
        "Service",
        "StatefulSet",
        "PodDisruptionBudget",
        "Job",
        "StorageClass",
    }
    assert [(o["kind"], k8s_errors(o)) for o in objects if k8s_errors(o)] == []


def test_kubernetes_validation_can_fail(topology: Topology) -> None:
    sts = k8s.statefulset(topology, topology.nodes[0])
    sts["spec"]["replicas"] = "one"
    assert k8s_errors(sts)
    sts = k8s.statefulset(topology, topology.nodes[0])
    sts["spec"]["template"]["spec"]["nodeSelectr"] = {}
    assert k8s_errors(sts)


def test_sql_service_and_headless_service_are_never_public(topology: Topology) -> None:
    headless, sql = k8s.services(topology)
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is True
    assert sql["metadata"]["name"] == "crdb" and sql["spec"]["type"] == "ClusterIP"


def test_secrets_from_the_pki_validate_and_leave_the_ca_key_out(
    topology: Topology, pki: CertLayout, tmp_path: Path
) -> None:
    secrets = ory_secrets(StateDir(tmp_path / "s"))
    material = k8s.SecretMaterial(
        ca_crt=pki.ca_cert.read_bytes(),
        node_files={
            n.name: {
                f: (pki.node_dir(n.name) / f).read_bytes()
                for f in ("ca.crt", "node.crt", "node.key")
            }
            for n in topology.nodes
        },
        clients={
            u: {
                f: (pki.client_dir(u) / f).read_bytes()
                for f in ("ca.crt", f"client.{u}.crt", f"client.{u}.key")
            }
            for u in ("root", "ory")
        },
        ory_env=ory.secret_env(topology, secrets),
        bootstrap_env={"ORY_PASSWORD": secrets.db_password},
    )
    objects = k8s.secrets(topology, material)
    assert [o["metadata"]["name"] for o in objects] == k8s.secret_names(topology)
    assert [k8s_errors(o) for o in objects] == [None] * len(objects)
    by_name = {o["metadata"]["name"]: o["data"] for o in objects}
    assert set(by_name["crdb-1-certs"]) == {"ca.crt", "node.crt", "node.key"}
    assert set(by_name["crdb-ca"]) == {"ca.crt"}
    ca_key = pki.ca_key.read_bytes()
    decoded = [base64.b64decode(v) for data in by_name.values() for v in data.values()]
    assert ca_key not in decoded and all(b"CA KEY" not in d for d in decoded)
    # the chart keys carry the same values ory.secret_env gives Compose
    hydra = {k: base64.b64decode(v).decode() for k, v in by_name["hydra-secrets"].items()}
    assert hydra["dsn"] == ory.secret_env(topology, secrets)["hydra"]["DSN"]
    assert set(by_name["kratos-secrets"]) == {
        "dsn",
        "secretsDefault",
        "secretsCookie",
        "secretsCipher",
    }


@needs_ory_schemas
@pytest.mark.parametrize("service", ["hydra", "kratos", "keto"])
def test_chart_config_blocks_validate_against_ory_schema(topology: Topology, service: str) -> None:
    values = helm_values.values(topology, service)
    config = values[service]["config"]
    assert "dsn" not in config  # every chart strips it: the DSN comes from the Secret
    assert {**config, "dsn": ory.dsn(topology, service)} == ory.configs(topology)[service]
    # The schemas require a DSN: the pods get it from the Secret, as DSN.
    assert ory_errors(service, {**config, "dsn": ory.dsn(topology, service)}) == []


@pytest.mark.parametrize("service", ["hydra", "kratos", "keto"])
def test_chart_values_wire_secret_ca_migrations_and_spread(
    topology: Topology, service: str, tmp_path: Path
) -> None:
    values = helm_values.values(topology, service)
    assert values["secret"] == {"enabled": False, "nameOverride": f"{service}-secrets"}
    assert values[service]["automigration"]["enabled"] is True
    assert values[service]["automigration"]["type"] == "job"
    deployment = values["deployment"]
    volume = deployment["extraVolumes"][0]
    assert volume["secret"]["secretName"] == k8s.CA_SECRET
    mount = deployment["extraVolumeMounts"][0]
    assert f"{mount['mountPath']}/{volume['secret']['items'][0]['path']}" == ory.CA_PATH
    spread = deployment["topologySpreadConstraints"][0]
    assert spread["topologyKey"] == kind.ZONE_LABEL and spread["maxSkew"] == 1
    assert values["replicaCount"] == 3
    text = yaml.safe_dump(values)
    assert "cockroach://" not in text  # no DSN at all: the charts read it from the Secret
    for secret in vars(ory_secrets(StateDir(tmp_path))).values():
        assert secret not in text


def test_every_api_is_cluster_ip_unless_exposed_and_admin_apis_always(
    topology: Topology,
) -> None:
    admin = {"hydra": ("admin", 4445), "kratos": ("admin", 4434), "keto": ("write", 4467)}
    for service, (key, port) in admin.items():
        for exposed in (False, True):
            services = helm_values.values(topology, service, exposed)["service"]
            assert services[key]["type"] == "ClusterIP" and services[key]["port"] == port
            assert services[key]["annotations"] == {}
        default = next(
            v for k, v in helm_values.values(topology, service)["service"].items() if k != key
        )
        assert default["type"] == "ClusterIP" and default["annotations"] == {}
        public = next(
            v for k, v in helm_values.values(topology, service, True)["service"].items() if k != key
        )
        assert public["type"] == "LoadBalancer"
        assert public["annotations"] == {
            "service.beta.kubernetes.io/aws-load-balancer-type": "external",
            "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
            "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
        }


def test_issuer_and_base_url_follow_the_load_balancer(topology: Topology) -> None:
    host = "k8s-hydra-0123.elb.us-east-1.amazonaws.com"
    hydra = helm_values.values(topology, "hydra", True, host)["hydra"]["config"]["urls"]["self"]
    assert hydra == {"issuer": f"http://{host}:4444/", "public": f"http://{host}:4444/"}
    kratos = helm_values.values(topology, "kratos", True, "10.0.0.9")["kratos"]["config"]
    assert kratos["serve"]["public"]["base_url"] == "http://10.0.0.9:4433/"
    assert kratos["serve"]["admin"]["base_url"].startswith("http://127.0.0.1:")
    plain = helm_values.values(topology, "hydra")["hydra"]["config"]["urls"]["self"]["issuer"]
    assert plain == "http://127.0.0.1:4444/"


def test_maester_and_courier_are_off_and_the_identity_schema_is_shipped(
    topology: Topology,
) -> None:
    assert helm_values.values(topology, "hydra")["maester"] == {"enabled": False}
    kratos = helm_values.values(topology, "kratos")
    assert kratos["courier"] == {"enabled": False}
    schemas = kratos["kratos"]["identitySchemas"]
    assert ory.IDENTITY_SCHEMA_URL.endswith("/" + next(iter(schemas)))
    assert yaml.safe_load(next(iter(schemas.values()))) == ory.identity_schema()


def test_chart_image_follows_settings() -> None:
    assert helm_values.chart_image("oryd/hydra:v26.2.0") == {
        "registry": "docker.io",
        "repository": "oryd/hydra",
        "tag": "v26.2.0",
    }
    assert helm_values.chart_image("reg.example:5000/ory/kratos:v1.2.3@sha256:ab") == {
        "registry": "reg.example:5000",
        "repository": "ory/kratos",
        "tag": "v1.2.3@sha256:ab",
    }
    topology = Topology(Settings.model_validate({"versions": {"keto": "v26.2.1"}}))
    assert helm_values.values(topology, "keto")["image"]["tag"] == "v26.2.1"


def test_values_and_manifests_are_byte_identical_on_kind_and_aws(tmp_path: Path) -> None:
    kind_out, aws_out = render_target(tmp_path, "kind"), render_target(tmp_path, "aws")

    def tree(root: Path, sub: str) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / sub).rglob("*"))}

    for sub in ("values", "manifests"):
        assert tree(kind_out, sub) == tree(aws_out, sub)
        assert len(tree(kind_out, sub)) >= 3
    # public files: readable by everyone, nothing secret in them
    assert {p.stat().st_mode & 0o777 for p in kind_out.rglob("*") if p.is_file()} == {0o644}
    # what differs lives in one overlay file and the cluster file
    assert (kind_out / "overlay.yaml").read_bytes() != (aws_out / "overlay.yaml").read_bytes()
    top = {p.name for p in kind_out.iterdir()}, {p.name for p in aws_out.iterdir()}
    assert top == (
        {"kind-cluster.yaml", "overlay.yaml", "values", "manifests"},
        {"eksctl-cluster.yaml", "overlay.yaml", "values", "manifests"},
    )


def test_rendered_files_load_back_to_the_renderers_objects(tmp_path: Path) -> None:
    topology = Topology(Settings())
    out = render_target(tmp_path, "kind")
    for name, objects in k8s.manifests(topology).items():
        assert list(yaml.safe_load_all((out / "manifests" / name).read_text())) == objects
    loaded = yaml.safe_load((out / "values" / "kratos.yaml").read_text())
    assert loaded == helm_values.values(topology, "kratos")
    assert yaml.safe_load((out / "kind-cluster.yaml").read_text()) == kind.cluster_config(topology)


def test_overlay_differs_only_in_the_provisioner(topology: Topology) -> None:
    kind_sc, aws_sc = k8s.storage_class(topology, "kind"), k8s.storage_class(topology, "aws")
    assert kind_sc["metadata"] == aws_sc["metadata"]
    assert kind_sc["provisioner"] == "rancher.io/local-path"
    assert aws_sc["provisioner"] == "ebs.csi.aws.com" and aws_sc["parameters"]["type"] == "gp3"
    assert aws_sc["volumeBindingMode"] == "WaitForFirstConsumer"


def test_port_forwards_use_the_compose_host_ports(topology: Topology) -> None:
    forwards = helm_values.port_forwards(topology)
    hosts = sorted(port for _, port, _ in forwards)
    assert hosts == sorted(port for _, port in topology.settings.ports.named())
    assert ("svc/hydra-admin", 4445, 4445) in forwards
    assert ("svc/crdb", 26257, 26257) in forwards


@pytest.mark.parametrize("service", ["hydra", "kratos", "keto"])
def test_kubernetes_fragments_in_the_values_validate(topology: Topology, service: str) -> None:
    """Volumes, mounts, resources and spread constraints land in the charts' pod specs as-is."""
    deployment = helm_values.values(topology, service)["deployment"]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": service},
        "spec": {
            "containers": [
                {
                    "name": service,
                    "image": topology.image(service),
                    "resources": deployment["resources"],
                    "volumeMounts": deployment["extraVolumeMounts"],
                }
            ],
            "volumes": deployment["extraVolumes"],
            "topologySpreadConstraints": deployment["topologySpreadConstraints"],
        },
    }
    assert k8s_errors(pod) is None
    pod["spec"]["topologySpreadConstraints"][0]["maxSkew"] = "one"
    assert k8s_errors(pod)
