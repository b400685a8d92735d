from __future__ import annotations

from sandbox.config.settings import Settings
from sandbox.model.topology import Topology


def test_one_node_per_zone(topology: Topology) -> None:
    assert [(n.name, n.zone) for n in topology.nodes] == [
        ("crdb-1", "us-east-1a"),
        ("crdb-2", "us-east-1b"),
        ("crdb-3", "us-east-1c"),
    ]
    assert topology.nodes[1].locality == "region=us-east-1,zone=us-east-1b"


def test_images_are_pinned_to_versions(topology: Topology) -> None:
    assert topology.image("cockroach") == "cockroachdb/cockroach:v25.4.11"
    assert topology.image("hydra") == "oryd/hydra:v26.2.0"
    assert topology.image("haproxy") == "haproxy:3.0.24-alpine"


def test_node_names_cover_every_target(topology: Topology) -> None:
    names = topology.node_dns_names(topology.nodes[0])
    for expected in (
        "crdb-1",
        "crdb",
        "localhost",
        "crdb.iam-sandbox",
        "crdb.iam-sandbox.svc.cluster.local",
        "crdb-internal.iam-sandbox",
        "crdb-1-0.crdb-internal",
        "crdb-1-0.crdb-internal.iam-sandbox.svc.cluster.local",
    ):
        assert expected in names
    assert "crdb-2" not in names
    assert len(names) == len(set(names))


def test_namespace_flows_into_names() -> None:
    t = Topology(Settings.model_validate({"kubernetes": {"namespace": "auth"}}))
    assert "crdb.auth.svc.cluster.local" in t.node_dns_names(t.nodes[2])


def test_the_laptop_profile_caps_every_service(topology: Topology) -> None:
    """The default (laptop) caps in MiB, per Compose service. At most 3056 are in use at once
    (the CockroachDB one-shots and the Ory migrations never overlap), under the 3072 MiB budget
    (the settings refuse caps over it: tests/unit/test_settings.py)."""
    assert topology.memory_caps() == {
        "crdb-1": 640,
        "crdb-2": 640,
        "crdb-3": 640,
        "crdb": 48,
        "crdb-init": 256,
        "crdb-bootstrap": 256,
        "hydra-migrate": 96,
        "hydra": 160,
        "kratos-migrate": 96,
        "kratos": 160,
        "keto-migrate": 96,
        "keto": 128,
        "ui": 128,
    }
    # 3 x 640 + 48 + 160 + 160 + 128 + 128 running, plus the larger one-shot group (2 x 256)
    assert topology.peak_memory() == 3056
