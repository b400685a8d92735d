"""The Helm values against the real charts: `helm template` (Helm v3.19.0 built from its Go
module) of the Ory charts 0.62.1, with the values the Kubernetes runtime installs.

- Every value the sandbox sets is read by the chart: changing any one of them changes the
  rendered manifests. A key the chart ignores (as kratos and keto ignore
  `<svc>.automigration.resources`, or all three ignore `<svc>.config.dsn`) fails here. The
  keys under `<svc>.config` are checked one by one against the ConfigMaps (each must be there
  with its value), which proves the same for them at a fraction of the `helm template` runs.
- The chart ConfigMaps hold the Compose config key by key, less `dsn`, plus the chart
  defaults listed literally below.
- Migration Jobs have memory limits; no Ory pod gets a Kubernetes API token.

Leaves whose removal changes nothing are not errors: they pin what the chart happens to
default to today (image, ports, `enabled: true`), so a chart upgrade cannot move them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.config.settings import Settings
from sandbox.model.topology import Topology
from sandbox.render import compose, helm_values
from tests.support import helm
from tests.support.secrets import RENDER_SECRETS

SERVICES = ("hydra", "kratos", "keto")
pytestmark = pytest.mark.skipif(
    helm.helm_problem(*SERVICES) is not None, reason=str(helm.helm_problem(*SERVICES))
)

CHART_ADDED = {
    # What each chart merges into the config it is given (Ory charts 0.62.1).
    "hydra": {
        ("serve", "tls", "allow_termination_from"): [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
        ]
    },
    "kratos": {("courier", "smtp"): {}},
    "keto": {("serve", "metrics", "port"): 4468},
}
CONFIG_MAPS = {
    # chart -> (server ConfigMap, migration ConfigMap), released under the chart's name
    "hydra": ("hydra", "hydra-migrate"),
    "kratos": ("kratos-config", "kratos-migrate"),
    "keto": ("keto-config", "keto-migrate"),
}

KeyPath = tuple[Any, ...]


def leaves(node: Any, path: KeyPath = ()) -> Iterator[KeyPath]:
    """Every leaf of a values tree: scalars, and empty maps or lists."""
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from leaves(value, (*path, key))
    elif isinstance(node, list) and node:
        for index, value in enumerate(node):
            yield from leaves(value, (*path, index))
    else:
        yield path


def altered(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, dict):
        return {"probe": "x"}
    if isinstance(value, list):
        return ["x"]
    raise TypeError(f"unexpected value {value!r}")


def with_leaf_altered(values: dict[str, Any], path: KeyPath) -> dict[str, Any]:
    out = copy.deepcopy(values)
    parent: Any = out
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = altered(parent[path[-1]])
    return out


def render_or_refusal(service: str, values: dict[str, Any], workdir: Path) -> str:
    """The rendered text, or the chart's refusal: a refusal also proves the value is read."""
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        return helm.template(service, values, workdir)
    except AssertionError as refused:
        return f"refused: {refused}"


@pytest.fixture(scope="module")
def topology() -> Topology:
    return Topology(Settings())


@pytest.mark.parametrize("service", SERVICES)
def test_every_value_changes_the_rendered_chart(
    service: str, topology: Topology, tmp_path: Path
) -> None:
    values = helm_values.values(topology, service)
    base = helm.template(service, values, tmp_path)
    assert helm.template(service, values, tmp_path) == base, "helm template is not repeatable"
    paths = [p for p in leaves(values) if p[:2] != (service, "config")]
    assert len(paths) > 20  # the walk really reaches into deployment, services, the Job

    def unread(job: tuple[int, KeyPath]) -> str | None:
        index, path = job
        text = render_or_refusal(service, with_leaf_altered(values, path), tmp_path / str(index))
        return None if text != base else ".".join(map(str, path))

    with ThreadPoolExecutor(max_workers=4) as pool:
        ignored = [p for p in pool.map(unread, enumerate(paths)) if p is not None]
    assert ignored == [], f"the {service} chart ignores these values: {ignored}"


def flatten(node: Any, path: KeyPath = ()) -> dict[KeyPath, Any]:
    if isinstance(node, dict) and node:
        out: dict[KeyPath, Any] = {}
        for key, value in node.items():
            out.update(flatten(value, (*path, key)))
        return out
    return {path: node}


def compose_files(topology: Topology) -> dict[str, str]:
    secrets = RENDER_SECRETS
    return compose.render_project(topology, secrets).public


@pytest.mark.parametrize("service", SERVICES)
def test_config_maps_hold_the_compose_config_key_by_key(
    service: str, topology: Topology, tmp_path: Path
) -> None:
    files = compose_files(topology)
    compose_config = flatten(yaml.safe_load(files[f"ory/{service}.yaml"]))
    assert ("dsn",) in compose_config  # Compose has it in the file; the charts take the Secret
    expected = {k: v for k, v in compose_config.items() if k != ("dsn",)}
    expected.update(CHART_ADDED[service])

    values = helm_values.values(topology, service)
    objects = helm.manifests(service, values, tmp_path)
    maps = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ConfigMap"}
    for name in CONFIG_MAPS[service]:
        data = maps[name]["data"]
        rendered = flatten(yaml.safe_load(data[f"{service}.yaml"]))
        for key, value in flatten(values[service]["config"]).items():
            assert rendered.get(key) == value, f"{name} drops {service}.config.{'.'.join(key)}"
        assert sorted(rendered, key=str) == sorted(expected, key=str), name
        for key, value in expected.items():
            assert rendered[key] == value, f"{name}: {'.'.join(key)}"
        if service == "kratos":
            schema = data["identity.default.schema.json"]
            assert schema == files["ory/identity.default.schema.json"]
            assert json.loads(schema)["title"] == "Person"


def pod_specs(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        f"{o['kind']}/{o['metadata']['name']}": o["spec"]["template"]["spec"]
        for o in objects
        if o["kind"] in ("Deployment", "Job")
    }


@pytest.mark.parametrize("service", SERVICES)
def test_migration_job_is_limited_and_no_pod_gets_an_api_token(
    service: str, topology: Topology, tmp_path: Path
) -> None:
    specs = pod_specs(helm.manifests(service, helm_values.values(topology, service), tmp_path))
    assert sorted(specs) == [f"Deployment/{service}", f"Job/{service}-automigrate"]
    job = specs[f"Job/{service}-automigrate"]["containers"][0]
    assert job["resources"] == {"limits": {"memory": "96Mi"}, "requests": {"memory": "96Mi"}}
    for name, spec in specs.items():
        assert spec["automountServiceAccountToken"] is False, name
