"""The Kubernetes renderers: kind cluster, CockroachDB objects, Ory chart values, the overlay."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.config.settings import Settings
from sandbox.model.topology import Topology
from sandbox.pki.layout import CertLayout
from sandbox.plan.status import Status
from sandbox.render import helm_values, k8s, kind, ory
from sandbox.runtime.base import DriverContext
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
    from sandbox.targets import AWS as AwsDriver
    from sandbox.targets import KIND as KindDriver

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
    assert [w["labels"]["topology.kubernetes.io/zone"] for w in workers] == [
        "us-east-1a",
        "us-east-1b",
        "us-east-1c",
    ]
    assert {w["labels"]["topology.kubernetes.io/region"] for w in workers} == {"us-east-1"}
    for node in config["nodes"]:
        assert node["image"].startswith("kindest/node:v1.36.1@sha256:")
        assert not any(k.startswith("node-role.kubernetes.io") for k in node.get("labels", {}))


POD_DNS = "crdb-{n}-0.crdb-internal.iam-sandbox.svc.cluster.local"


@pytest.mark.parametrize(("n", "zone"), [(1, "us-east-1a"), (2, "us-east-1b"), (3, "us-east-1c")])
def test_one_statefulset_per_zone_pinned_and_localised(
    topology: Topology, n: int, zone: str
) -> None:
    sts = k8s.statefulset(topology, topology.nodes[n - 1])
    pod = sts["spec"]["template"]["spec"]
    assert sts["metadata"]["name"] == f"crdb-{n}" and sts["spec"]["replicas"] == 1
    assert sts["spec"]["serviceName"] == "crdb-internal"
    assert pod["nodeSelector"] == {"topology.kubernetes.io/zone": zone}
    args = pod["containers"][0]["args"]
    assert f"--locality=region=us-east-1,zone={zone}" in args
    # the pod's stable name, which its certificate carries (tests/integration/test_node_sans.py)
    assert f"--advertise-addr={POD_DNS.format(n=n)}:26357" in args
    assert f"--advertise-sql-addr={POD_DNS.format(n=n)}:26257" in args
    join = ",".join(f"{POD_DNS.format(n=i)}:26357" for i in (1, 2, 3))
    assert f"--join={join}" in args
    claim = sts["spec"]["volumeClaimTemplates"][0]["spec"]
    assert claim["storageClassName"] == "iam-sandbox-crdb"
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
    assert [o["metadata"]["name"] for o in objects] == [
        "crdb-1-certs",
        "crdb-2-certs",
        "crdb-3-certs",
        "crdb-client-root",
        "crdb-client-ory",
        "crdb-ca",
        "crdb-bootstrap",
        "hydra-secrets",
        "kratos-secrets",
        "keto-secrets",
        "ui-secrets",
    ]
    assert [k8s_errors(o) for o in objects] == [None] * len(objects)
    by_name = {o["metadata"]["name"]: o["data"] for o in objects}
    assert set(by_name["crdb-1-certs"]) == {"ca.crt", "node.crt", "node.key"}
    assert set(by_name["crdb-ca"]) == {"ca.crt"}
    ca_key = pki.ca_key.read_bytes()
    decoded = [base64.b64decode(v) for data in by_name.values() for v in data.values()]
    assert ca_key not in decoded and all(b"CA KEY" not in d for d in decoded)
    # the chart reads `dsn`: the pooled URL with the password, verify-full against the CA
    hydra = {k: base64.b64decode(v).decode() for k, v in by_name["hydra-secrets"].items()}
    assert hydra["dsn"] == (
        f"cockroach://ory:{secrets.db_password}@crdb:26257/hydra?sslmode=verify-full"
        "&sslrootcert=/etc/sandbox/ca.crt&max_conns=16&max_idle_conns=16"
    )
    assert set(by_name["kratos-secrets"]) == {
        "dsn",
        "secretsDefault",
        "secretsCookie",
        "secretsCipher",
    }
    # the login UI's chart reads its two cookie secrets under these keys
    ui = {k: base64.b64decode(v).decode() for k, v in by_name["ui-secrets"].items()}
    assert ui == {"secretsCookie": secrets.ui_cookie, "secretsCSRFCookie": secrets.ui_csrf}


LOG = {"level": "info", "format": "json", "leak_sensitive_values": False}
CHART_CONFIGS: dict[str, dict[str, Any]] = {
    # The default settings' `config` block of each chart: no `dsn` (the pods read it from
    # the Secret), local URLs until a load balancer is known.
    "hydra": {
        "dev": True,
        "log": LOG,
        "serve": {
            "public": {"port": 4444},
            "admin": {"port": 4445},
            "cookies": {"same_site_mode": "Lax"},
        },
        "urls": {
            "self": {"issuer": "http://127.0.0.1:4444/", "public": "http://127.0.0.1:4444/"},
            "login": "http://127.0.0.1:4455/login",
            "registration": "http://127.0.0.1:4455/registration",
            "consent": "http://127.0.0.1:4455/consent",
            "logout": "http://127.0.0.1:4455/logout",
            "error": "http://127.0.0.1:4455/error",
            "post_logout_redirect": "http://127.0.0.1:4455/login",
            "identity_provider": {
                "url": "http://kratos-admin:4434",
                "publicUrl": "http://127.0.0.1:4433",
            },
        },
        "oauth2": {"pkce": {"enforced_for_public_clients": True}},
        "oidc": {"subject_identifiers": {"supported_types": ["public"]}},
        "strategies": {"access_token": "opaque"},
    },
    "kratos": {
        "log": LOG,
        "serve": {
            "public": {"port": 4433, "base_url": "http://127.0.0.1:4433/"},
            "admin": {"port": 4434, "base_url": "http://127.0.0.1:4434/"},
        },
        "identity": {
            "default_schema_id": "default",
            "schemas": [
                {"id": "default", "url": "file:///etc/config/identity.default.schema.json"}
            ],
        },
        "selfservice": {
            "default_browser_return_url": "http://127.0.0.1:4455/",
            "allowed_return_urls": ["http://127.0.0.1:4455/"],
            "methods": {"password": {"enabled": True, "config": {"haveibeenpwned_enabled": False}}},
            "flows": {
                "login": {"ui_url": "http://127.0.0.1:4455/login"},
                "registration": {
                    "ui_url": "http://127.0.0.1:4455/registration",
                    "after": {"password": {"hooks": [{"hook": "session"}]}},
                },
                "settings": {"ui_url": "http://127.0.0.1:4455/settings"},
                "recovery": {"ui_url": "http://127.0.0.1:4455/recovery"},
                "verification": {"ui_url": "http://127.0.0.1:4455/verification"},
                "error": {"ui_url": "http://127.0.0.1:4455/error"},
                "logout": {"after": {"default_browser_return_url": "http://127.0.0.1:4455/login"}},
            },
        },
        "oauth2_provider": {"url": "http://hydra-admin:4445"},
    },
    "keto": {
        "log": LOG,
        "serve": {"read": {"port": 4466}, "write": {"port": 4467}},
        "namespaces": [{"name": "documents"}, {"name": "users"}, {"name": "default_namespace"}],
    },
}


@pytest.mark.parametrize("service", ["hydra", "kratos", "keto"])
def test_chart_config_blocks_are_the_ory_configs_without_a_dsn(
    topology: Topology, service: str
) -> None:
    assert helm_values.values(topology, service)[service]["config"] == CHART_CONFIGS[service]


@needs_ory_schemas
@pytest.mark.parametrize("service", ["hydra", "kratos", "keto"])
def test_chart_config_blocks_validate_against_ory_schema(topology: Topology, service: str) -> None:
    config = helm_values.values(topology, service)[service]["config"]
    # The schemas require a DSN: the pods get it from the Secret, as DSN.
    dsn = (
        f"cockroach://ory@crdb:26257/{service}?sslmode=verify-full"
        "&sslrootcert=/etc/sandbox/ca.crt&max_conns=16&max_idle_conns=16"
    )
    assert ory_errors(service, {**config, "dsn": dsn}) == []


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
    assert volume["secret"]["secretName"] == "crdb-ca"
    mount = deployment["extraVolumeMounts"][0]
    assert f"{mount['mountPath']}/{volume['secret']['items'][0]['path']}" == "/etc/sandbox/ca.crt"
    spread = deployment["topologySpreadConstraints"][0]
    assert spread["topologyKey"] == "topology.kubernetes.io/zone" and spread["maxSkew"] == 1
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
    assert list(schemas) == ["identity.default.schema.json"]  # the file the config names
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
    # (resource, host port, port in the cluster): the host ports are the Compose defaults
    assert sorted(helm_values.port_forwards(topology)) == [
        ("pod/crdb-1-0", 8080, 8080),
        ("pod/crdb-1-0", 26258, 26257),
        ("pod/crdb-2-0", 8081, 8080),
        ("pod/crdb-2-0", 26259, 26257),
        ("pod/crdb-3-0", 8082, 8080),
        ("pod/crdb-3-0", 26260, 26257),
        ("svc/crdb", 26257, 26257),
        ("svc/hydra-admin", 4445, 4445),
        ("svc/hydra-public", 4444, 4444),
        ("svc/keto-read", 4466, 4466),
        ("svc/keto-write", 4467, 4467),
        ("svc/kratos-admin", 4434, 4434),
        ("svc/kratos-public", 4433, 4433),
        ("svc/ui", 4455, 3000),
    ]


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
