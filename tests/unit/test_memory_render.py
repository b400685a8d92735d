"""`memory.profile` picks one consistent set of caps, and every renderer uses that set.

The expected numbers are written out here, per profile, for each place a cap lands: the
Compose `mem_limit`s, the CockroachDB flags on Compose and Kubernetes, the StatefulSet limits
and the Ory chart values (servers and migration Jobs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sandbox.config.settings import Settings
from sandbox.errors import BadInput
from sandbox.model.load import load_settings
from sandbox.model.topology import Topology
from sandbox.render import compose, helm_values, k8s

EXPECTED: dict[str, dict[str, Any]] = {
    # profile: node limit, cache, sql memory, tsdb memory, load balancer, CockroachDB one-shots,
    # Ory migrations, hydra, kratos, keto
    "laptop": {
        "node": 640,
        "cache": 160,
        "sql": 160,
        "tsdb": 64,
        "lb": 48,
        "crdb_one": 256,
        "one": 96,
        "ory": (160, 160, 128),
    },
    "ci": {
        "node": 1024,
        "cache": 256,
        "sql": 256,
        "tsdb": 64,
        "lb": 64,
        "crdb_one": 256,
        "one": 128,
        "ory": (256, 256, 192),
    },
    "roomy": {
        "node": 4096,
        "cache": 1024,
        "sql": 1024,
        "tsdb": 64,
        "lb": 128,
        "crdb_one": 384,
        "one": 256,
        "ory": (512, 512, 384),
    },
}
BUDGETS = {"laptop": 3072, "ci": 5120, "roomy": 16384}


def load(tmp_path: Path, text: str) -> Settings:
    (tmp_path / "sandbox.yaml").write_text(text)
    settings, _ = load_settings(cwd=tmp_path, environ={})
    return settings


def bad(tmp_path: Path, text: str) -> str:
    with pytest.raises(BadInput) as exc:
        load(tmp_path, text)
    assert exc.value.exit_code == 2 and "\n" not in exc.value.message
    return exc.value.message


def test_no_profile_is_the_laptop_set(tmp_path: Path) -> None:
    memory = load(tmp_path, "project: p\n").memory
    assert memory.profile == "laptop"
    assert (memory.cockroach_node, memory.cockroach_cache, memory.cockroach_sql) == (640, 160, 160)
    assert memory.budget == 3072


@pytest.mark.parametrize("profile", sorted(EXPECTED))
def test_profile_reaches_every_render(profile: str, tmp_path: Path) -> None:
    want = EXPECTED[profile]
    topology = Topology(load(tmp_path, f"memory:\n  profile: {profile}\n"))
    assert topology.settings.memory.budget == BUDGETS[profile]

    services = compose.compose_model(topology)["services"]
    flags = [
        f"--cache={want['cache']}MiB",
        f"--max-sql-memory={want['sql']}MiB",
        f"--max-tsdb-memory={want['tsdb']}MiB",
    ]
    for node in ("crdb-1", "crdb-2", "crdb-3"):
        assert services[node]["mem_limit"] == f"{want['node']}m"
        assert all(flag in services[node]["command"] for flag in flags)
    assert services["crdb"]["mem_limit"] == f"{want['lb']}m"
    for one_shot in ("crdb-init", "crdb-bootstrap"):
        assert services[one_shot]["mem_limit"] == f"{want['crdb_one']}m"
    for one_shot in ("hydra-migrate", "kratos-migrate", "keto-migrate"):
        assert services[one_shot]["mem_limit"] == f"{want['one']}m"
    for svc, cap in zip(("hydra", "kratos", "keto"), want["ory"], strict=True):
        assert services[svc]["mem_limit"] == f"{cap}m"

    node = f"{want['node']}Mi"
    for obj in k8s.manifests(topology)["20-crdb-2.yaml"]:
        container = obj["spec"]["template"]["spec"]["containers"][0]
        assert container["resources"]["limits"] == {"memory": node}
        assert all(flag in container["args"] for flag in flags)
    job = k8s.manifests(topology)["40-crdb-init.yaml"][0]["spec"]["template"]["spec"]
    assert job["containers"][0]["resources"]["limits"] == {"memory": f"{want['crdb_one']}Mi"}

    for svc, cap in zip(("hydra", "kratos", "keto"), want["ory"], strict=True):
        values = helm_values.values(topology, svc)
        assert values["deployment"]["resources"]["limits"] == {"memory": f"{cap}Mi"}
        assert values["job"]["resources"]["limits"] == {"memory": f"{want['one']}Mi"}


def test_a_cap_set_explicitly_overrides_its_profile(tmp_path: Path) -> None:
    memory = load(tmp_path, "memory:\n  profile: ci\n  hydra: 300\n").memory
    assert (memory.hydra, memory.kratos, memory.cockroach_node) == (300, 256, 1024)


def test_validators_still_hold_within_a_profile(tmp_path: Path) -> None:
    msg = bad(tmp_path, "memory:\n  profile: ci\n  cockroach_node: 600\n")
    assert (
        "memory: cockroach_cache + cockroach_sql + cockroach_tsdb (576 MiB) must stay under 75%"
        in msg
    )
    # tsdb counts: 160 + 160 + 160 = 480 MiB is exactly 75% of 640, 161 is over
    assert load(tmp_path, "memory:\n  cockroach_tsdb: 160\n").memory.cockroach_tsdb == 160
    msg = bad(tmp_path, "memory:\n  cockroach_tsdb: 161\n")
    assert "cockroach_cache + cockroach_sql + cockroach_tsdb (481 MiB)" in msg
    msg = bad(tmp_path, "memory:\n  profile: roomy\n  budget: 8192\n")
    assert "over memory.budget (8192 MiB)" in msg


def test_unknown_profile_names_the_field(tmp_path: Path) -> None:
    msg = bad(tmp_path, "memory:\n  profile: huge\n")
    assert "memory.profile" in msg and "'laptop', 'ci' or 'roomy'" in msg
