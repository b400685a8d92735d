"""The component catalog and the engine seam: what the rest of the sandbox derives from them.

Every expected value is written out: the maps below used to be spelled out by hand in seven
places, and now each is derived; these tests hold the derivations to the old hand-written
values.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from pydantic import SecretStr

from sandbox.ci.ports import port_block
from sandbox.cli.endpoint_flags import with_endpoint_flags
from sandbox.cli.load import URL_KEYS_BY_SERVICE
from sandbox.config.settings import Settings
from sandbox.model.catalog import DATABASES, URL_VARS
from sandbox.model.topology import Topology
from sandbox.render.helm_values import port_forwards
from sandbox.render.ory import dsn, public_urls
from sandbox.runtime.compose_docker import port_owners


def topology(**settings: object) -> Topology:
    return Topology(Settings.model_validate(settings))


def test_url_variables_and_databases() -> None:
    assert URL_VARS == (
        "HYDRA_PUBLIC_URL",
        "HYDRA_ADMIN_URL",
        "KRATOS_PUBLIC_URL",
        "KRATOS_ADMIN_URL",
        "KETO_READ_REMOTE",
        "KETO_WRITE_REMOTE",
        "KRATOS_UI_URL",
    )
    assert DATABASES == ("hydra", "kratos", "keto")
    assert URL_KEYS_BY_SERVICE == {
        "hydra": ("HYDRA_PUBLIC_URL", "HYDRA_ADMIN_URL"),
        "kratos": ("KRATOS_PUBLIC_URL", "KRATOS_ADMIN_URL"),
        "keto": ("KETO_READ_REMOTE", "KETO_WRITE_REMOTE"),
        "ui": ("KRATOS_UI_URL",),
    }


def test_each_endpoint_flag_lands_on_its_own_variable() -> None:
    seen: list[dict[str, str | None]] = []

    @with_endpoint_flags
    def command(other: int, endpoints: dict[str, str | None]) -> None:
        seen.append({"other": str(other), **endpoints})

    names = list(inspect.signature(command).parameters)
    assert names == [
        "other",
        "hydra_public_url",
        "hydra_admin_url",
        "kratos_public_url",
        "kratos_admin_url",
        "keto_read_url",
        "keto_write_url",
        "ui_http_url",
    ]
    command(1, hydra_public_url="hp", kratos_admin_url="ka", keto_write_url="kw")
    assert seen == [
        {
            "other": "1",
            "HYDRA_PUBLIC_URL": "hp",
            "HYDRA_ADMIN_URL": None,
            "KRATOS_PUBLIC_URL": None,
            "KRATOS_ADMIN_URL": "ka",
            "KETO_READ_REMOTE": None,
            "KETO_WRITE_REMOTE": "kw",
            "KRATOS_UI_URL": None,
        }
    ]


def test_public_urls_use_the_host_port_settings() -> None:
    t = topology(ports={"hydra_public": 5444, "keto_write": 5467})
    assert public_urls(t) == {
        "HYDRA_PUBLIC_URL": "http://127.0.0.1:5444",
        "HYDRA_ADMIN_URL": "http://127.0.0.1:4445",
        "KRATOS_PUBLIC_URL": "http://127.0.0.1:4433",
        "KRATOS_ADMIN_URL": "http://127.0.0.1:4434",
        "KETO_READ_REMOTE": "http://127.0.0.1:4466",
        "KETO_WRITE_REMOTE": "http://127.0.0.1:5467",
        "KRATOS_UI_URL": "http://127.0.0.1:4455",
    }


def test_every_published_port_names_its_setting_and_service() -> None:
    assert port_owners(topology()) == [
        ("ports.sql", 26257, "crdb"),
        ("ports.node_sql[0]", 26258, "crdb-1"),
        ("ports.node_http[0]", 8080, "crdb-1"),
        ("ports.node_sql[1]", 26259, "crdb-2"),
        ("ports.node_http[1]", 8081, "crdb-2"),
        ("ports.node_sql[2]", 26260, "crdb-3"),
        ("ports.node_http[2]", 8082, "crdb-3"),
        ("ports.hydra_public", 4444, "hydra"),
        ("ports.hydra_admin", 4445, "hydra"),
        ("ports.kratos_public", 4433, "kratos"),
        ("ports.kratos_admin", 4434, "kratos"),
        ("ports.keto_read", 4466, "keto"),
        ("ports.keto_write", 4467, "keto"),
        ("ports.ui", 4455, "ui"),
    ]


def test_port_forwards_reach_the_same_host_ports_as_compose() -> None:
    assert port_forwards(topology()) == [
        ("svc/hydra-public", 4444, 4444),
        ("svc/hydra-admin", 4445, 4445),
        ("svc/kratos-public", 4433, 4433),
        ("svc/kratos-admin", 4434, 4434),
        ("svc/keto-read", 4466, 4466),
        ("svc/keto-write", 4467, 4467),
        ("svc/ui", 4455, 3000),
        ("svc/crdb", 26257, 26257),
        ("pod/crdb-1-0", 26258, 26257),
        ("pod/crdb-1-0", 8080, 8080),
        ("pod/crdb-2-0", 26259, 26257),
        ("pod/crdb-2-0", 8081, 8080),
        ("pod/crdb-3-0", 26260, 26257),
        ("pod/crdb-3-0", 8082, 8080),
    ]


def test_a_ci_port_block_keeps_each_defaults_last_three_digits() -> None:
    assert port_block(21000) == {
        "sql": 21257,
        "node_sql": [21258, 21259, 21260],
        "node_http": [21080, 21081, 21082],
        "hydra_public": 21444,
        "hydra_admin": 21445,
        "kratos_public": 21433,
        "kratos_admin": 21434,
        "keto_read": 21466,
        "keto_write": 21467,
        "ui": 21455,
    }


def test_images_and_the_settings_that_choose_them() -> None:
    assert topology(images={"hydra": "mirror.example/hydra:v26.2.0"}).image_settings() == [
        ("images.cockroach", "cockroachdb/cockroach:v25.4.11"),
        ("images.haproxy", "haproxy:3.0.24-alpine"),
        ("images.hydra", "mirror.example/hydra:v26.2.0"),
        ("images.kratos", "oryd/kratos:v26.2.0"),
        ("images.keto", "oryd/keto:v26.2.0"),
        ("images.ui", "oryd/kratos-selfservice-ui-node:v26.2.0"),
    ]


def test_the_engine_gives_the_dsn_scheme_and_port() -> None:
    url = dsn(topology(), "kratos", "p@ss")
    assert url == (
        "cockroach://ory:p%40ss@crdb:26257/kratos?sslmode=verify-full"
        "&sslrootcert=/etc/sandbox/ca.crt&max_conns=16&max_idle_conns=16"
    )


def test_the_engine_one_shots_sql_shell_and_warnings() -> None:
    t = topology()
    engine = t.engine
    shots = engine.one_shots(t)
    assert [(s.name, s.title, s.secret_env, s.nodes_ready_after) for s in shots] == [
        ("crdb-init", "cluster initialised", (), True),
        ("crdb-bootstrap", "bootstrap done", ("ORY_PASSWORD", "COCKROACH_LICENSE_KEY"), False),
    ]
    assert shots[0].env == {"INIT_HOST": "crdb-1:26357"}
    assert shots[1].env == {"SQL_HOST": "crdb:26257", "COCKROACH_DIAGNOSTICS": "false"}
    assert engine.sql_shell(user="ory", certs_dir="/c/ory", statement="SELECT 1") == [
        "/cockroach/cockroach",
        "sql",
        "--certs-dir=/c/ory",
        "--user=ory",
        "--host=localhost:26257",
        "-e",
        "SELECT 1",
    ]
    assert (engine.health_path(ready=True), engine.health_path(ready=False)) == (
        "/health?ready=1",
        "/health",
    )
    assert engine.one_shot_secrets(t, "pw") == {"ORY_PASSWORD": "pw"}
    assert len(engine.warnings(t)) == 1 and "license" in engine.warnings(t)[0]
    licensed = Topology(t.settings.model_copy(update={"cockroach": _licensed()}))
    assert [w.split(":")[0] for w in engine.warnings(licensed)] == [
        "cockroach.license_key is set with cockroach.diagnostics off",
        "cockroach.license_key is set without cockroach.organization",
    ]
    assert engine.one_shot_secrets(licensed, "pw") == {
        "ORY_PASSWORD": "pw",
        "COCKROACH_LICENSE_KEY": "crl-0-abcdefgh",
    }


def _licensed() -> object:
    from sandbox.config.settings import Cockroach

    return Cockroach(license_key=SecretStr("crl-0-abcdefgh"))


def test_a_new_stateless_component_is_one_entry_and_its_config_builder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The walk the catalog exists for: an entry, its builder and its settings fields (made
    here as the settings file would declare them), and the Compose project has its server,
    published port, gate and env file; no migration, no database."""
    from pydantic import create_model

    from sandbox.config import settings as schema
    from sandbox.model.components import Component, PortSpec
    from sandbox.render import ory
    from sandbox.render.compose import compose_model, render_project
    from sandbox.state import OrySecrets

    def with_proxy(model: type[Any], value: object, kind: object) -> type[Any]:
        return create_model(model.__name__, __base__=model, proxy=(kind, value))

    images = with_proxy(schema.Images, None, str | None)
    versions = with_proxy(schema.Versions, "v1.0.0", str)
    memory = with_proxy(schema.Memory, 64, int)
    # 4455 is the login UI's host port (`ports.ui`), and the settings refuse a port twice:
    # the proxy's host port differs from its container port.
    ports = with_proxy(schema.Ports, 4456, int)
    settings = create_model(
        "Settings",
        __base__=schema.Settings,
        images=(images, images()),
        versions=(versions, versions()),
        memory=(memory, memory()),
        ports=(ports, ports()),
    )
    proxy = Component(
        name="proxy",
        repository="example/proxy",
        ports=(PortSpec("proxy", 4455, "proxy", "public", "PROXY_URL"),),
        serve=("serve", "--config", "/etc/config/proxy.yaml"),
        config="proxy.yaml",
    )
    monkeypatch.setitem(ory.BUILDERS, "proxy", lambda topology: {"serve": {"port": 4455}})
    t = Topology(settings())
    t.__dict__["components"] = (*t.components, proxy)
    service = compose_model(t)["services"]["proxy"]
    assert service["image"] == "example/proxy:v1.0.0"
    assert service["command"] == ["serve", "--config", "/etc/config/proxy.yaml"]
    assert service["ports"] == ["127.0.0.1:4456:4455"]
    assert service["mem_limit"] == "64m"
    assert service["depends_on"] == {
        "crdb-bootstrap": {"condition": "service_completed_successfully"}
    }
    assert "proxy-migrate" not in compose_model(t)["services"]
    secrets = OrySecrets(
        "a" * 16, "b" * 16, "c" * 16, "d" * 16, "e" * 32, "f" * 16, "g" * 16, "h" * 16, "i" * 16
    )
    project = render_project(t, secrets)
    assert project.secret["secrets/proxy.env"] == ""
    assert project.public["ory/proxy.yaml"] == "serve:\n  port: 4455\n"
    assert public_urls(t)["PROXY_URL"] == "http://127.0.0.1:4456"
