from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.config.settings import Settings
from sandbox.errors import BadInput
from sandbox.model.load import load_settings
from sandbox.model.topology import Topology


def load(tmp_path: Path, text: str | None = None, env: dict[str, str] | None = None) -> Settings:
    if text is not None:
        (tmp_path / "sandbox.yaml").write_text(text)
    settings, _ = load_settings(cwd=tmp_path, environ=env or {})
    return settings


def error(tmp_path: Path, text: str | None = None, env: dict[str, str] | None = None) -> str:
    with pytest.raises(BadInput) as exc:
        load(tmp_path, text, env)
    assert exc.value.exit_code == 2
    assert "\n" not in exc.value.message
    return exc.value.message


def test_embedded_defaults_need_no_file(tmp_path: Path) -> None:
    s = load(tmp_path)
    assert s.region == "us-east-1"
    assert s.zones == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert s.node_names() == ["crdb-1", "crdb-2", "crdb-3"]
    assert s.load_balancer == "crdb"
    assert s.versions.cockroach == "v25.4.11"
    assert {s.versions.hydra, s.versions.kratos, s.versions.keto} == {"v26.2.0"}
    assert (s.ports.kratos_public, s.ports.kratos_admin) == (4433, 4434)
    assert s.cockroach.license_key is None


def test_file_overrides_defaults(tmp_path: Path) -> None:
    s = load(tmp_path, "project: demo\nports:\n  sql: 36257\nkubernetes:\n  namespace: iam\n")
    assert (s.project, s.ports.sql, s.kubernetes.namespace) == ("demo", 36257, "iam")
    assert s.ports.hydra_public == 4444


def test_environment_overrides_file(tmp_path: Path) -> None:
    env = {
        "SANDBOX_PORTS__SQL": "36300",
        "SANDBOX_PROJECT": "ci",
        "SANDBOX_PORTS__NODE_SQL": "[36301, 36302, 36303]",
        "SANDBOX_STATE_DIR": "/x",
    }
    s = load(tmp_path, "ports:\n  sql: 36257\n", env)
    assert (s.ports.sql, s.project, s.ports.node_sql) == (36300, "ci", [36301, 36302, 36303])


def test_explicit_config_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="config file not found"):
        load_settings(config=tmp_path / "nope.yaml", cwd=tmp_path, environ={})


def test_wrong_type_names_file_and_field(tmp_path: Path) -> None:
    msg = error(tmp_path, "ports:\n  hydra_public: lots\n")
    assert msg.startswith(str(tmp_path / "sandbox.yaml") + ": ports.hydra_public:")
    assert "'lots'" in msg


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    msg = error(tmp_path, "ports:\n  hydra_publik: 4444\n")
    assert "ports.hydra_publik: unknown setting" in msg


def test_unparsable_yaml_gives_position(tmp_path: Path) -> None:
    msg = error(tmp_path, "ports: [1, 2\nproject: x\n")
    assert "sandbox.yaml: line" in msg


def test_top_level_must_be_mapping(tmp_path: Path) -> None:
    assert "expected a mapping" in error(tmp_path, "- a\n- b\n")


def test_env_error_names_the_variable(tmp_path: Path) -> None:
    msg = error(tmp_path, None, {"SANDBOX_PORTS__KETO_READ": "99999"})
    assert msg.startswith("SANDBOX_PORTS__KETO_READ: ports.keto_read:")


def test_duplicate_ports_are_refused(tmp_path: Path) -> None:
    msg = error(tmp_path, "ports:\n  keto_read: 4444\n")
    assert "port 4444 is already used by ports.hydra_public" in msg


def test_zone_count_is_checked(tmp_path: Path) -> None:
    assert "exactly 3 zones" in error(tmp_path, "zones: [us-east-1a, us-east-1b]\n")


def test_floating_image_is_refused(tmp_path: Path) -> None:
    assert "images.hydra" in error(tmp_path, "images:\n  hydra: oryd/hydra:latest\n")
    assert "images.keto" in error(tmp_path, "images:\n  keto: oryd/keto\n")
    s = load(tmp_path, "images:\n  keto: registry.local:5000/keto@sha256:abc\n")
    assert Topology(s).image("keto") == "registry.local:5000/keto@sha256:abc"


def test_engine_memory_must_fit_node(tmp_path: Path) -> None:
    msg = error(tmp_path, "memory:\n  cockroach_node: 256\n")
    assert "memory:" in msg and "75%" in msg


def test_license_key_is_secret(tmp_path: Path) -> None:
    s = load(tmp_path, None, {"SANDBOX_COCKROACH__LICENSE_KEY": "crl-0-secret"})
    assert s.cockroach.license_key is not None
    assert s.cockroach.license_key.get_secret_value() == "crl-0-secret"
    assert "crl-0-secret" not in s.model_dump_json()
    assert "crl-0-secret" not in repr(s)


def test_memory_budget_is_enforced(tmp_path: Path) -> None:
    msg = error(tmp_path, "memory:\n  hydra: 900\n")
    assert "over memory.budget (3072 MiB)" in msg
