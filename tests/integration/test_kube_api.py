"""The Kubernetes targets against a real API server (kube-apiserver v1.36.3 + etcd), real Helm
v3.19.0 and the packaged Ory charts 0.62.1 from a chart repository on 127.0.0.1.

Nothing about the server is faked. It has no kubelet, so no pod runs: `sandbox up` is run with
`--no-wait`, and `JobCompleter` marks Jobs succeeded the way the Job controller would, so that
Helm's migration hooks finish.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.config.settings import Settings
from sandbox.model.topology import Topology
from sandbox.plan.status import Status
from sandbox.render import helm_values, k8s
from sandbox.runtime.base import DriverContext
from sandbox.runtime.kube.commands import ProcessExecutor
from sandbox.runtime.kube.deployment import (
    KubeDeployment,
    deployment_files,
    public_services,
    write_files,
)
from sandbox.runtime.kube.live import inspect
from sandbox.runtime.kube.providers.eks import EksProvider
from sandbox.runtime.kube.providers.existing import ClusterAccess, ExistingProvider
from sandbox.runtime.kube.providers.kind import KindProvider
from sandbox.runtime.kube.runtime import KubeRuntime
from sandbox.runtime.kube.steps import helm_install
from sandbox.runtime.kube.update import placement
from sandbox.state import StateDir
from tests.support.kube import port_settings, run_cli
from tests.support.kubeapi import (
    HELM,
    ApiServer,
    JobCompleter,
    helm_missing_reason,
    missing_reason,
    serve_charts,
    start_api_server,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    yield from start_api_server(tmp_path_factory.mktemp("kube-api"))


@pytest.fixture(scope="module")
def charts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    reason = helm_missing_reason()
    if reason:
        pytest.skip(reason)
    yield from serve_charts(tmp_path_factory.mktemp("chart-repo"))


def settings_data(name: str, charts: str, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    """A sandbox of its own: namespace and project named after the test, free ports."""
    data: dict[str, Any] = {
        "project": name,
        "kubernetes": {"namespace": name},
        "ports": port_settings(),
        "tools": {"cache_dir": str(tmp_path / "tool-cache"), "ory_chart_repo": charts},
        # The login UI's chart (kratos-selfservice-ui-node) is not among the packaged charts in
        # ../shared/charts, and no chart repository is reachable here: its values are checked
        # by the unit tests only (tests/unit/test_login_render.py, tests/unit/test_kind_render.py).
        "profiles": [],
    }
    for key, value in extra.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    return data


def write_settings(tmp_path: Path, data: dict[str, Any]) -> None:
    (tmp_path / "sandbox.yaml").write_text(yaml.safe_dump(data))


def sandbox(server: ApiServer, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in `tmp_path` (its sandbox.yaml), the built kubectl and Helm first on PATH."""
    return run_cli(tmp_path, *args, env=server.env(), timeout=600)


def up(server: ApiServer, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return sandbox(
        server, tmp_path, "up", "--target", "k8s", "--kubeconfig", str(server.kubeconfig), *extra
    )


def built(server: ApiServer) -> Any:
    """Tools as the runtime resolves them: the built Helm and kubectl of this test run."""

    def tool(name: str, dry_run: bool) -> str:
        return str(HELM) if name == "helm" else str(server.kubectl)

    return tool


def decoded(secret: dict[str, Any], key: str) -> str:
    return base64.b64decode(secret["data"][key]).decode()


def uid(server: ApiServer, namespace: str, *what: str) -> str:
    return str(server.get("-n", namespace, *what)["metadata"]["uid"])


# -- every rendered object, strictly validated by the server -----------------------------------


def dry_run(server: ApiServer, documents: list[dict[str, Any]]) -> list[str]:
    text = k8s.to_yaml(*documents, header="")
    done = server.kubectl_run(
        "apply", "--dry-run=server", "--validate=strict", "-f", "-", stdin=text, check=False
    )
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line.strip()]


def test_every_rendered_object_passes_a_strict_server_dry_run(
    server: ApiServer, charts: str, tmp_path: Path
) -> None:
    name = "dry-run"
    base = settings_data(name, charts, tmp_path)
    hostname = settings_data(
        name, charts, tmp_path, kubernetes={"spread": "hostname", "storage_class": "standard"}
    )
    server.kubectl_run("create", "namespace", name)  # namespaced dry runs need it to exist
    # the ServiceAccount controller's part: pods (the charts' test pods) need `default`
    server.kubectl_run("create", "serviceaccount", "default", "-n", name)
    seen = 0
    for data, provider in ((base, KindProvider), (hostname, ExistingProvider)):
        topology = Topology(Settings.model_validate(data))
        ctx = DriverContext(topology, StateDir(tmp_path / provider.__name__), Status(quiet=True))
        driver = KubeRuntime(ctx, provider(ctx))
        driver.prepare()
        driver.render(driver.rendered)
        flavour = driver.provider.flavour
        objects = [o for docs in k8s.manifests(topology, flavour).values() for o in docs]
        objects += k8s.secrets(topology, driver.secret_material(topology))
        if flavour == "kind":
            objects.append(k8s.storage_class(topology, "kind"))
            objects.append(k8s.storage_class(topology, "aws"))
        lines = dry_run(server, objects)
        assert len(lines) == len(objects)
        assert all(line.endswith("(server dry run)") for line in lines)
        seen += len(objects)
        # and every object the three charts make from the rendered values
        for svc in ("hydra", "kratos", "keto"):
            values = driver.rendered / "values" / f"{svc}.yaml"
            rendered = subprocess.run(
                [
                    str(HELM),
                    "template",
                    svc,
                    svc,
                    "--repo",
                    charts,
                    "--version",
                    "0.62.1",
                    "--namespace",
                    name,
                    "--values",
                    str(values),
                    "--kube-version",
                    "1.36.3",
                ],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, **server.env()},
            ).stdout
            docs = [d for d in yaml.safe_load_all(rendered) if d]
            assert len(docs) >= 5, svc
            assert len(dry_run(server, docs)) == len(docs)
            seen += len(docs)
    assert seen > 60
    # the server does reject what it does not know: the check can fail
    bad = k8s.init_job(Topology(Settings.model_validate(base)))
    bad["spec"]["template"]["spec"]["containers"][0]["memoryLimit"] = "96Mi"
    text = k8s.to_yaml(bad, header="")
    done = server.kubectl_run(
        "apply", "--dry-run=server", "--validate=strict", "-f", "-", stdin=text, check=False
    )
    assert (
        done.returncode != 0
        and 'unknown field "spec.template.spec.containers[0].memoryLimit"' in (done.stderr)
    )


# -- helm upgrade --install with the runtime's own flags ----------------------------------------


def test_helm_installs_the_three_charts_with_the_runtimes_flags(
    server: ApiServer, charts: str, tmp_path: Path
) -> None:
    name = "helm-charts"
    topology = Topology(Settings.model_validate(settings_data(name, charts, tmp_path)))
    ctx = DriverContext(topology, StateDir(tmp_path / "state"), Status(quiet=True))
    provider = ExistingProvider(ctx)
    provider.access = ClusterAccess(str(server.kubeconfig), None)
    driver = KubeRuntime(ctx, provider, tools=built(server))
    driver.prepare()
    driver.render(driver.rendered)
    env = {**os.environ, **server.env()}
    # the namespace and the Secrets the charts read (the CA must exist before the hooks run)
    manifests = k8s.manifests(topology, "k8s")
    server.kubectl_run("apply", "-f", "-", stdin=k8s.to_yaml(*manifests["00-namespace.yaml"]))
    secrets = k8s.to_yaml(*k8s.secrets(topology, driver.secret_material(topology)), header="")
    server.kubectl_run("apply", "-f", "-", stdin=secrets)
    cli = driver.cli(driver.session(False))
    deployment = KubeDeployment(topology, "k8s")
    helm = [
        list(c.argv)
        for step in driver.up_steps(cli, deployment, None, wait=False, timeout=600)
        for c in step.commands
        if c.argv[0] == str(HELM)
    ]
    assert [a[a.index("--install") + 1] for a in helm] == ["hydra", "kratos", "keto"]
    with JobCompleter(server, name) as completer:
        for argv in helm:
            done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)
            assert done.returncode == 0, done.stderr
    assert any(entry.startswith("hydra-automigrate") for entry in completer.completed)
    releases = subprocess.run(
        [str(HELM), "--kubeconfig", str(server.kubeconfig), "list", "-n", name, "-o", "json"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    assert {(r["name"], r["status"], r["chart"]) for r in json.loads(releases.stdout)} == {
        ("hydra", "deployed", "hydra-0.62.1"),
        ("kratos", "deployed", "kratos-0.62.1"),
        ("keto", "deployed", "keto-0.62.1"),
    }
    for svc in ("hydra", "kratos", "keto"):
        deployment = server.get("-n", name, "deployment", svc)
        assert deployment["spec"]["replicas"] == 3
        spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"][0]
        assert spread["topologyKey"] == "topology.kubernetes.io/zone"
    admin = server.get("-n", name, "service", helm_values.service_name("hydra", "admin"))
    assert admin["spec"]["type"] == "ClusterIP"


# -- `sandbox up --target k8s`, then a second `up` after changes -----------------------------------


def test_up_on_an_existing_cluster_then_a_second_up_after_changes(
    server: ApiServer, charts: str, tmp_path: Path
) -> None:
    name = "update-path"
    data = settings_data(name, charts, tmp_path)
    write_settings(tmp_path, data)
    with JobCompleter(server, name):
        first = up(server, tmp_path, "--no-wait")
        assert first.returncode == 0, first.stderr
        # no node carries a zone label on this server: said, and spread by host instead
        assert "spreading by host name instead" in first.stderr
        assert "kubectl label node <node-1> topology.kubernetes.io/zone=us-east-1a" in first.stderr
        sts = server.get("-n", name, "statefulset", "crdb-1")
        assert sts["spec"]["template"]["spec"]["containers"][0]["image"] == (
            "cockroachdb/cockroach:v25.4.11"
        )
        assert "nodeSelector" not in sts["spec"]["template"]["spec"]
        keto = server.get("-n", name, "deployment", "keto")["spec"]["template"]["spec"]
        assert keto["topologySpreadConstraints"][0]["topologyKey"] == "kubernetes.io/hostname"
        init_uid = uid(server, name, "job", "crdb-init")
        bootstrap_uid = uid(server, name, "job", "crdb-bootstrap")

        # the changes: CockroachDB version, memory.*, a license key, the ory password
        data["versions"] = {"cockroach": "v25.4.12"}
        data["memory"] = {
            "cockroach_node": 768,
            "one_shot": 128,
            "cockroach_one_shot": 320,
            "hydra": 192,
            "budget": 4096,
        }
        data["cockroach"] = {"license_key": "crl-0-EXAMPLEKEY"}
        write_settings(tmp_path, data)
        (tmp_path / "state" / "secrets" / "ory-db-password").write_text("x" * 30)
        second = up(server, tmp_path, "--no-wait")
        assert second.returncode == 0, second.stderr

    sts = server.get("-n", name, "statefulset", "crdb-1")
    container = sts["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "cockroachdb/cockroach:v25.4.12"
    assert container["resources"]["limits"]["memory"] == "768Mi"
    init = server.get("-n", name, "job", "crdb-init")
    assert init["metadata"]["uid"] != init_uid  # replaced: its template changed
    assert init["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] == {
        "memory": "320Mi"
    }
    assert uid(server, name, "job", "crdb-bootstrap") != bootstrap_uid
    bootstrap = server.get("-n", name, "secret", "crdb-bootstrap")
    assert decoded(bootstrap, "ORY_PASSWORD") == "x" * 30
    assert decoded(bootstrap, "COCKROACH_LICENSE_KEY") == "crl-0-EXAMPLEKEY"
    assert "x" * 30 in decoded(server.get("-n", name, "secret", "hydra-secrets"), "dsn")
    hydra = server.get("-n", name, "deployment", "hydra")
    assert hydra["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] == {
        "memory": "192Mi"
    }
    assert "kubectl.kubernetes.io/restartedAt" in hydra["spec"]["template"]["metadata"].get(
        "annotations", {}
    )
    assert "job/crdb-bootstrap: its spec changed" in second.stderr

    # a new storage size: refused in one line, exit 2, nothing changed
    version = sts["metadata"]["resourceVersion"]
    data["kubernetes"] = {**data["kubernetes"], "storage_size": "20Gi"}
    write_settings(tmp_path, data)
    refused = up(server, tmp_path, "--no-wait")
    assert refused.returncode == 2, refused.stderr
    last = refused.stderr.strip().splitlines()[-1]
    assert "kubernetes.storage_size: statefulset/crdb-1 already has 10Gi volumes" in last
    assert server.get("-n", name, "statefulset", "crdb-1")["metadata"]["resourceVersion"] == version

    # only a new license key: the bootstrap runs again, the init does not
    data["kubernetes"]["storage_size"] = "10Gi"
    data["cockroach"] = {"license_key": "crl-0-SECONDKEY"}
    write_settings(tmp_path, data)
    init_uid = uid(server, name, "job", "crdb-init")
    bootstrap_uid = uid(server, name, "job", "crdb-bootstrap")
    with JobCompleter(server, name):
        third = up(server, tmp_path, "--no-wait")
        assert third.returncode == 0, third.stderr
        assert uid(server, name, "job", "crdb-init") == init_uid
        assert uid(server, name, "job", "crdb-bootstrap") != bootstrap_uid
        assert "job/crdb-bootstrap: the ory password or license key changed" in third.stderr
        # nothing changed since: no Job runs again
        bootstrap_uid = uid(server, name, "job", "crdb-bootstrap")
        again = up(server, tmp_path, "--no-wait")
    assert again.returncode == 0, again.stderr
    assert uid(server, name, "job", "crdb-init") == init_uid
    assert uid(server, name, "job", "crdb-bootstrap") == bootstrap_uid


# -- zones from the nodes' labels ------------------------------------------------------------------


def test_three_zoned_nodes_are_used(server: ApiServer, charts: str, tmp_path: Path) -> None:
    nodes = [f"zoned-{i}" for i in range(1, 4)]
    for node, zone in zip(nodes, ("eu-west-1a", "eu-west-1b", "eu-west-1c"), strict=True):
        manifest = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": node,
                "labels": {
                    "topology.kubernetes.io/zone": zone,
                    "topology.kubernetes.io/region": "eu-west-1",
                },
            },
        }
        server.kubectl_run("apply", "-f", "-", stdin=json.dumps(manifest))
    try:
        topology = Topology(Settings.model_validate(settings_data("zones", charts, tmp_path)))
        ctx = DriverContext(topology, StateDir(tmp_path / "state"), Status(quiet=True))
        provider = ExistingProvider(ctx)
        provider.access = ClusterAccess(str(server.kubeconfig), None)
        driver = KubeRuntime(ctx, provider, tools=built(server))
        live = inspect(ProcessExecutor(), driver.cli(driver.session(False)), topology)
        chosen, note = placement(topology, live)
    finally:
        server.kubectl_run("delete", "node", *nodes)
    assert [n.locality for n in chosen.nodes] == [
        "region=eu-west-1,zone=eu-west-1a",
        "region=eu-west-1,zone=eu-west-1b",
        "region=eu-west-1,zone=eu-west-1c",
    ]
    assert note is not None and "eu-west-1a, eu-west-1b, eu-west-1c" in note
    sts = k8s.statefulset(chosen, chosen.nodes[1], "k8s")
    assert sts["spec"]["template"]["spec"]["nodeSelector"] == {
        "topology.kubernetes.io/zone": "eu-west-1b"
    }


# -- down removes only what is the sandbox's -----------------------------------------------------


def test_down_removes_only_the_sandboxs_objects(
    server: ApiServer, charts: str, tmp_path: Path
) -> None:
    name = "down-only-ours"
    write_settings(tmp_path, settings_data(name, charts, tmp_path))
    with JobCompleter(server, name):
        done = up(server, tmp_path, "--no-wait")
    assert done.returncode == 0, done.stderr
    ours_labels = {"app.kubernetes.io/managed-by": "iam-sandbox", "app.kubernetes.io/part-of": name}
    other_labels = {"app.kubernetes.io/managed-by": "iam-sandbox", "app.kubernetes.io/part-of": "x"}
    foreign: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "foreign-team"}},
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "keep-me", "namespace": "foreign-team", "labels": ours_labels},
        },
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": "foreign-class"},
            "provisioner": "example.com/none",
        },
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": "other-sandbox-class", "labels": other_labels},
            "provisioner": "example.com/none",
        },
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": f"{name}-crdb", "labels": ours_labels},
            "provisioner": "example.com/none",
        },
    ]
    server.kubectl_run("apply", "-f", "-", stdin=k8s.to_yaml(*foreign, header=""))

    down = sandbox(server, tmp_path, "down", "--no-wait")
    assert down.returncode == 0, down.stderr
    # No namespace controller runs here, so the namespace stays Terminating: deletion requested.
    assert server.get("namespace", name)["metadata"].get("deletionTimestamp")
    assert server.exists("namespace", "foreign-team")
    assert not server.get("namespace", "foreign-team")["metadata"].get("deletionTimestamp")
    assert server.exists("-n", "foreign-team", "configmap", "keep-me")
    assert server.exists("storageclass", "foreign-class")
    assert server.exists("storageclass", "other-sandbox-class")
    assert not server.exists("storageclass", f"{name}-crdb")


def test_down_leaves_a_namespace_it_did_not_create(
    server: ApiServer, charts: str, tmp_path: Path
) -> None:
    name = "not-ours"
    server.kubectl_run("create", "namespace", name)
    write_settings(tmp_path, settings_data(name, charts, tmp_path))
    done = sandbox(
        server, tmp_path, "down", "--target", "k8s", "--kubeconfig", str(server.kubeconfig)
    )
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: kubernetes.namespace: namespace not-ours was not created by")
    assert not server.get("namespace", name)["metadata"].get("deletionTimestamp")


# -- aws --public: the issuer and base URLs follow the load balancers ----------------------------


def test_public_urls_follow_the_load_balancer_addresses(
    server: ApiServer, charts: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "public-nlb"
    topology = Topology(Settings.model_validate(settings_data(name, charts, tmp_path)))
    ctx = DriverContext(topology, StateDir(tmp_path / "state"), Status(quiet=True))
    provider = EksProvider(ctx)
    driver = KubeRuntime(ctx, provider, tools=built(server))
    provider.kubeconfig.parent.mkdir(parents=True)
    provider.kubeconfig.write_bytes(server.kubeconfig.read_bytes())
    driver.prepare()
    deployment = KubeDeployment(topology, "aws", exposed=True)
    write_files(driver.rendered, deployment_files(deployment))
    server.kubectl_run(
        "apply", "-f", "-", stdin=k8s.to_yaml(*k8s.manifests(topology)["00-namespace.yaml"])
    )
    secrets = k8s.to_yaml(*k8s.secrets(topology, driver.secret_material(topology)), header="")
    server.kubectl_run("apply", "-f", "-", stdin=secrets)
    env = {**os.environ, **server.env()}
    session = driver.session(False)
    cli = driver.cli(session)
    with JobCompleter(server, name):
        for component in topology.components:
            argv = helm_install(cli, topology, component, driver.rendered, 600).argv
            done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)
            assert done.returncode == 0, done.stderr
        # what the AWS Load Balancer Controller does: give each LoadBalancer Service an address
        hosts = {}
        for svc, service in public_services(topology).items():
            got = server.get("-n", name, "service", service)
            assert got["spec"]["type"] == "LoadBalancer"
            assert (
                got["metadata"]["annotations"][
                    "service.beta.kubernetes.io/aws-load-balancer-scheme"
                ]
                == "internet-facing"
            )
            hosts[svc] = f"{svc}-0123abcd.elb.us-east-1.amazonaws.com"
            server.request(
                "PATCH",
                f"/api/v1/namespaces/{name}/services/{service}/status",
                {"status": {"loadBalancer": {"ingress": [{"hostname": hosts[svc]}]}}},
                patch=True,
            )
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        driver.publish(session, cli, deployment, wait=False, timeout=600)
    assert driver.topology is topology  # the addresses went into a new deployment, not here
    hydra = yaml.safe_load(server.get("-n", name, "configmap", "hydra")["data"]["hydra.yaml"])
    issuer = "http://hydra-0123abcd.elb.us-east-1.amazonaws.com:4444/"
    assert hydra["urls"]["self"] == {"issuer": issuer, "public": issuer}
    kratos = yaml.safe_load(
        server.get("-n", name, "configmap", "kratos-config")["data"]["kratos.yaml"]
    )
    assert (
        kratos["serve"]["public"]["base_url"]
        == "http://kratos-0123abcd.elb.us-east-1.amazonaws.com:4433/"
    )
    assert server.get("-n", name, "service", "hydra-admin")["spec"]["type"] == "ClusterIP"
