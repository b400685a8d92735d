"""The Compose model, checked as data: topology, security, gating, labels, secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sandbox import labels
from sandbox.config.settings import Settings
from sandbox.model.topology import Topology
from sandbox.render.compose import compose_model, render_project
from sandbox.render.ory import OrySecrets

SECRETS = OrySecrets(
    "dbpass0123456789abcd",
    "hydra-system-0123456789abcdef",
    "kratos-default-0123456789abcdef",
    "kratos-cookie-0123456789abcdef",
    "cipher-0123456789abcdef012345678",
    "superuser-0123456789abcdef",
    "replication-0123456789abcdef",
    "ui-cookie-0123456789abcdef",
    "ui-csrf-0123456789abcdef",
)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def model(topology: Topology) -> dict[str, Any]:
    return compose_model(topology)


def test_three_nodes_in_three_zones(model: dict[str, Any]) -> None:
    localities = {
        name: next(a for a in svc["command"] if a.startswith("--locality="))
        for name, svc in model["services"].items()
        if name.startswith("crdb-") and name[-1].isdigit()
    }
    assert localities == {
        "crdb-1": "--locality=region=us-east-1,zone=us-east-1a",
        "crdb-2": "--locality=region=us-east-1,zone=us-east-1b",
        "crdb-3": "--locality=region=us-east-1,zone=us-east-1c",
    }


def test_nodes_are_secure_and_joined(model: dict[str, Any]) -> None:
    for i in (1, 2, 3):
        cmd = model["services"][f"crdb-{i}"]["command"]
        assert cmd[0] == "start"
        assert "--certs-dir=/certs" in cmd
        assert not any("insecure" in a for a in cmd)
        assert f"--advertise-addr=crdb-{i}:26357" in cmd
        assert "--join=crdb-1:26357,crdb-2:26357,crdb-3:26357" in cmd
        assert {"--cache=160MiB", "--max-sql-memory=160MiB"} <= set(cmd)


def test_gating_chain(model: dict[str, Any]) -> None:
    deps = {name: svc.get("depends_on", {}) for name, svc in model["services"].items()}
    done = {"condition": "service_completed_successfully"}
    assert deps["crdb-bootstrap"]["crdb-init"] == done
    for svc in ("hydra", "kratos", "keto"):
        assert deps[f"{svc}-migrate"] == {"crdb-bootstrap": done}
        assert deps[svc] == {f"{svc}-migrate": done}
    assert set(deps["crdb-init"]) == {"crdb-1", "crdb-2", "crdb-3"}


def test_ports_only_on_loopback(model: dict[str, Any]) -> None:
    published = [p for svc in model["services"].values() for p in svc.get("ports", [])]
    assert len(published) == 1 + 6 + 6 + 1
    assert all(p.startswith("127.0.0.1:") for p in published)
    assert "127.0.0.1:26257:26257" in model["services"]["crdb"]["ports"]
    assert model["services"]["kratos"]["ports"] == ["127.0.0.1:4433:4433", "127.0.0.1:4434:4434"]
    assert model["services"]["ui"]["ports"] == ["127.0.0.1:4455:3000"]


def test_images_pinned(model: dict[str, Any]) -> None:
    images = {svc["image"] for svc in model["services"].values()}
    assert images == {
        "cockroachdb/cockroach:v25.4.11",
        "haproxy:3.0.24-alpine",
        "oryd/hydra:v26.2.0",
        "oryd/kratos:v26.2.0",
        "oryd/keto:v26.2.0",
        "oryd/kratos-selfservice-ui-node:v26.2.0",
    }


def test_private_keys_only_where_needed(model: dict[str, Any]) -> None:
    for name, svc in model["services"].items():
        sources = [m["source"] for m in svc["volumes"] if m["type"] == "bind"]
        assert all(m.get("read_only") for m in svc["volumes"] if m["type"] == "bind")
        assert not any("certs/ca" in s and not s.endswith("ca/ca.crt") for s in sources), name
        if name in (
            "hydra",
            "kratos",
            "keto",
            "hydra-migrate",
            "kratos-migrate",
            "keto-migrate",
            "crdb",
        ):
            # Ory and HAProxy get the CA certificate file alone: no key, no folder.
            assert [s for s in sources if s.startswith("certs")] == ["certs/ca/ca.crt"], name
    node_sources = [m["source"] for m in model["services"]["crdb-2"]["volumes"]]
    assert "certs/nodes/crdb-2" in node_sources
    assert not any("nodes/crdb-1" in s or "nodes/crdb-3" in s for s in node_sources)


def test_everything_is_labelled(model: dict[str, Any]) -> None:
    for name, svc in model["services"].items():
        assert svc["labels"][labels.PROJECT] == "iam-sandbox"
        assert svc["labels"][labels.SERVICE] == name
        assert svc["container_name"] == f"iam-sandbox-{name}"
    assert model["networks"]["default"]["labels"] == {labels.PROJECT: "iam-sandbox"}
    assert all(v["labels"] == {labels.PROJECT: "iam-sandbox"} for v in model["volumes"].values())
    assert model["services"]["crdb-3"]["labels"][f"{labels.PREFIX}.zone"] == "us-east-1c"


def test_every_service_has_its_laptop_memory_limit(model: dict[str, Any]) -> None:
    assert {name: svc["mem_limit"] for name, svc in model["services"].items()} == {
        "crdb-1": "640m",
        "crdb-2": "640m",
        "crdb-3": "640m",
        "crdb": "48m",
        "crdb-init": "256m",
        "crdb-bootstrap": "256m",
        "hydra-migrate": "96m",
        "hydra": "160m",
        "kratos-migrate": "96m",
        "kratos": "160m",
        "keto-migrate": "96m",
        "keto": "128m",
        "ui": "128m",
    }


def test_secrets_only_in_secret_files(topology: Topology) -> None:
    project = render_project(topology, SECRETS)
    public = "".join(project.public.values())
    for value in vars(SECRETS).values():
        assert value not in public
    assert "dbpass0123456789abcd" in project.secret["secrets/hydra.env"]
    assert project.secret["secrets/bootstrap.env"] == "ORY_PASSWORD='dbpass0123456789abcd'\n"


def test_license_key_goes_to_bootstrap_env_only() -> None:
    t = Topology(Settings.model_validate({"cockroach": {"license_key": "crl-0-ABCDEFGH"}}))
    project = render_project(t, SECRETS)
    assert "COCKROACH_LICENSE_KEY='crl-0-ABCDEFGH'" in project.secret["secrets/bootstrap.env"]
    assert "crl-0-ABCDEFGH" not in "".join(project.public.values())


def test_committed_render_matches_the_renderer(topology: Topology) -> None:
    """compose/ in the repository is the default render, for readers: keep it current."""
    project = render_project(topology, SECRETS)
    for rel, text in project.public.items():
        committed = REPO / "compose" / rel
        assert committed.is_file(), f"compose/{rel} missing: run scripts/render-defaults.sh"
        assert committed.read_text() == text, (
            f"compose/{rel} is stale: run scripts/render-defaults.sh"
        )
