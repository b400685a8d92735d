from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from sandbox.model.topology import Topology
from sandbox.render import ory
from sandbox.state import StateDir, ory_secrets
from tests.support.schemas import needs_ory_schemas, ory_errors


@needs_ory_schemas
@pytest.mark.parametrize("service", ["hydra", "kratos", "keto"])
def test_configs_validate_against_upstream_schema(topology: Topology, service: str) -> None:
    assert ory_errors(service, ory.configs(topology)[service]) == []


@needs_ory_schemas
def test_schema_check_can_fail(topology: Topology) -> None:
    broken = ory.keto_config(topology) | {"serve": {"read": {"port": "4466"}}}
    assert ory_errors("keto", broken)
    assert ory_errors(
        "kratos", {k: v for k, v in ory.kratos_config(topology).items() if k != "identity"}
    )


def test_configs_hold_no_secrets(topology: Topology, tmp_path: Path) -> None:
    secrets = ory_secrets(StateDir(tmp_path))
    rendered = repr(ory.configs(topology))
    for value in vars(secrets).values():
        assert value not in rendered


def test_dsn_is_verify_full_through_the_load_balancer(topology: Topology) -> None:
    url = urlsplit(ory.dsn(topology, "kratos", "p@ss/w:rd?&"))
    assert (url.scheme, url.hostname, url.port, url.path) == ("cockroach", "crdb", 26257, "/kratos")
    assert (url.username, unquote(url.password or "")) == ("ory", "p@ss/w:rd?&")
    query = parse_qs(url.query)
    assert query == {
        "sslmode": ["verify-full"],
        "sslrootcert": [ory.CA_PATH],
        "max_conns": ["16"],
        "max_idle_conns": ["16"],
    }


def test_secret_env_completes_each_service(topology: Topology, tmp_path: Path) -> None:
    secrets = ory_secrets(StateDir(tmp_path))
    env = ory.secret_env(topology, secrets)
    assert set(env) == {"hydra", "kratos", "keto", "ui"}
    assert all(secrets.db_password in env[name]["DSN"] for name in ("hydra", "kratos", "keto"))
    # the login UI has no database: its two cookie secrets alone
    assert env["ui"] == {"COOKIE_SECRET": secrets.ui_cookie, "CSRF_COOKIE_SECRET": secrets.ui_csrf}
    assert len(env["ui"]["COOKIE_SECRET"]) == 32 and len(env["ui"]["CSRF_COOKIE_SECRET"]) == 32
    assert len(env["kratos"]["SECRETS_CIPHER"]) == 32
    assert len(env["hydra"]["SECRETS_SYSTEM"]) >= 16


def test_secrets_are_stable_and_private(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "s")
    first, second = ory_secrets(state), ory_secrets(state)
    assert first == second
    assert len({first.hydra_system, first.kratos_cookie, first.kratos_default}) == 3
    for path in state.secrets_dir.iterdir():
        assert path.stat().st_mode & 0o777 == 0o600


def test_public_urls_are_loopback(topology: Topology) -> None:
    urls = ory.public_urls(topology)
    assert urls["KRATOS_PUBLIC_URL"] == "http://127.0.0.1:4433"
    assert urls["KETO_WRITE_REMOTE"] == "http://127.0.0.1:4467"
    assert all(u.startswith("http://127.0.0.1:") for u in urls.values())
