"""The rendered project through the real Compose v2 parser (`docker compose config`)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sandbox.config.settings import Settings
from sandbox.model.topology import Topology
from sandbox.plan.status import Status
from sandbox.runtime.base import DriverContext
from sandbox.runtime.compose import ComposeDriver
from sandbox.state import StateDir
from tests.support.docker import compose_command

pytestmark = pytest.mark.skipif(
    compose_command() is None, reason="no Compose v2 (docker compose or docker-compose)"
)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("render")
    ctx = DriverContext(Topology(Settings()), StateDir(tmp / "state"), Status(quiet=True))
    out = tmp / "out"
    ComposeDriver(ctx).render(out)
    cmd = compose_command()
    assert cmd is not None
    done = subprocess.run(
        [*cmd, "-f", str(out / "compose.yaml"), "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out, json.loads(done.stdout)


def test_compose_accepts_the_project(rendered: tuple[Path, dict[str, Any]]) -> None:
    _, config = rendered
    assert config["name"] == "iam-sandbox"
    assert set(config["services"]) == {
        "crdb-1",
        "crdb-2",
        "crdb-3",
        "crdb",
        "crdb-init",
        "crdb-bootstrap",
        "hydra-migrate",
        "kratos-migrate",
        "keto-migrate",
        "hydra",
        "kratos",
        "keto",
        "ui",
    }


def test_every_published_port_is_loopback(rendered: tuple[Path, dict[str, Any]]) -> None:
    _, config = rendered
    ports = [p for s in config["services"].values() for p in s.get("ports", [])]
    assert len(ports) == 14
    assert {p["host_ip"] for p in ports} == {"127.0.0.1"}


def test_every_mount_exists_and_no_key_leaks(rendered: tuple[Path, dict[str, Any]]) -> None:
    out, config = rendered
    for name, service in config["services"].items():
        for mount in service.get("volumes", []):
            if mount["type"] != "bind":
                continue
            source = Path(mount["source"])
            assert source.exists(), f"{name}: {source}"
            assert source.resolve().is_relative_to(out.resolve()), "relative to the project"
            keys = [source] if source.is_file() else list(source.rglob("*.key"))
            keys = [k for k in keys if k.suffix == ".key"]
            if name.startswith(("hydra", "kratos", "keto")) or name == "crdb":
                assert keys == [], f"{name} gets a private key"
            assert not any(k.name == "ca.key" for k in keys), f"{name} gets the CA key"
    assert not (out / "certs" / "ca" / "ca.key").exists()


def test_secrets_reach_the_environment_not_the_files(rendered: tuple[Path, dict[str, Any]]) -> None:
    out, config = rendered
    env = config["services"]["kratos"]["environment"]
    assert env["DSN"].startswith("cockroach://ory:") and "sslmode=verify-full" in env["DSN"]
    assert len(env["SECRETS_CIPHER"]) == 32
    for path in (out / "secrets").iterdir():
        assert path.stat().st_mode & 0o777 == 0o600
    public = "".join(
        p.read_text()
        for p in out.rglob("*")
        if p.is_file() and "secrets" not in p.parts and "certs" not in p.parts
    )
    assert env["SECRETS_CIPHER"] not in public


def test_gating_survives_normalisation(rendered: tuple[Path, dict[str, Any]]) -> None:
    _, config = rendered
    hydra = config["services"]["hydra"]["depends_on"]
    assert hydra["hydra-migrate"]["condition"] == "service_completed_successfully"
    assert config["services"]["crdb-1"]["mem_limit"]


def test_zones_security_and_pins_after_normalisation(
    rendered: tuple[Path, dict[str, Any]],
) -> None:
    _, config = rendered
    services = config["services"]
    zones = {}
    for i in (1, 2, 3):
        node = services[f"crdb-{i}"]
        command = node["command"]
        assert node["entrypoint"] == ["/cockroach/cockroach"] and command[0] == "start"
        assert "--certs-dir=/certs" in command and not any("insecure" in a for a in command)
        zones[f"crdb-{i}"] = next(a for a in command if a.startswith("--locality="))
        assert node["labels"]["io.iam-sandbox.zone"] == zones[f"crdb-{i}"].rsplit("=", 1)[1]
    assert sorted(zones.values()) == [
        f"--locality=region=us-east-1,zone=us-east-1{z}" for z in "abc"
    ]
    for name, service in services.items():
        image = service["image"]
        assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), name
    chain = {name: sorted(s.get("depends_on", {})) for name, s in services.items()}
    assert chain["crdb-bootstrap"] == ["crdb", "crdb-init"]
    assert chain["kratos-migrate"] == ["crdb-bootstrap"]
