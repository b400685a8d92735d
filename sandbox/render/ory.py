"""Ory Hydra, Kratos and Keto configuration (and the login UI's environment), identical on
every target.

Config files carry no secrets, so they can be mounted world-readable into non-root containers,
moved and committed. The database password and the service secrets travel as environment
variables (`DSN`, `SECRETS_*`), which Ory reads over the file, from a 0600 env file on Compose
and from a Secret on Kubernetes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from sandbox.model.catalog import CONFIG_DIR, IDENTITY_SCHEMA
from sandbox.model.components import APP_USER
from sandbox.model.topology import LOOPBACK, Topology
from sandbox.render import login, yaml_text
from sandbox.state import OrySecrets

__all__ = ["CONFIG_DIR", "IDENTITY_SCHEMA_URL", "OrySecrets"]
CA_PATH = "/etc/sandbox/ca.crt"
"""The database CA inside Ory containers: the only certificate material they get."""
IDENTITY_SCHEMA_URL = f"file://{CONFIG_DIR}/{IDENTITY_SCHEMA}"
KETO_NAMESPACES = ("documents", "users", "default_namespace")
SERVER_ENV = {"SQA_OPT_OUT": "true"}
"""Plain environment of every Ory server: no usage reports leave a sandbox. Kratos takes this
only as a flag or variable, not from its config file, so all three get it the same way."""


def dsn(
    topology: Topology,
    database: str,
    password: str | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
    ca_path: str = CA_PATH,
    scheme: str | None = None,
    pool: bool = True,
) -> str:
    """`cockroach://ory[:password]@crdb:26257/<db>?sslmode=verify-full&sslrootcert=...&max_conns=16&...`.

    The pool parameters (settings `db_pool`) are read by Ory itself and refused by libpq:
    `pool=False` leaves them out for a libpq URL.
    """
    engine = topology.engine
    scheme = scheme or engine.scheme
    port = engine.sql_port if port is None else port
    auth = APP_USER if password is None else f"{APP_USER}:{quote(password, safe='')}"
    extra = "".join(f"&{k}={v}" for k, v in topology.settings.db_pool.params()) if pool else ""
    return (
        f"{scheme}://{auth}@{host or topology.load_balancer}:{port}/{database}"
        f"?sslmode=verify-full&sslrootcert={quote(ca_path, safe='/')}{extra}"
    )


def public_urls(topology: Topology) -> dict[str, str]:
    """Where the host reaches each API: the integration guide's variable names, on 127.0.0.1."""
    p = topology.settings.ports
    return {
        spec.url_var: f"http://{LOOPBACK}:{getattr(p, spec.host_setting)}"
        for component in topology.components
        for spec in component.ports
    }


def _log() -> dict[str, Any]:
    return {"level": "info", "format": "json", "leak_sensitive_values": False}


def hydra_config(topology: Topology) -> dict[str, Any]:
    return {
        "dsn": dsn(topology, "hydra"),
        "dev": True,  # plain-HTTP issuer on localhost
        "log": _log(),
        "serve": {
            "public": {"port": 4444},
            "admin": {"port": 4445},
            # Lax: the login and consent redirects are top-level navigations between ports of
            # 127.0.0.1, and Hydra's default (None) needs Secure cookies, which http lacks.
            "cookies": {"same_site_mode": "Lax"},
        },
        "urls": login.hydra_urls(topology),
        # A public client (a browser or CLI app, no secret) must prove its code with PKCE.
        "oauth2": {"pkce": {"enforced_for_public_clients": True}},
        "oidc": {"subject_identifiers": {"supported_types": ["public"]}},
        "strategies": {"access_token": "opaque"},
    }


def kratos_config(topology: Topology) -> dict[str, Any]:
    p = topology.settings.ports
    return {
        "dsn": dsn(topology, "kratos"),
        "log": _log(),
        "serve": {
            "public": {"port": 4433, "base_url": f"http://{LOOPBACK}:{p.kratos_public}/"},
            "admin": {"port": 4434, "base_url": f"http://{LOOPBACK}:{p.kratos_admin}/"},
        },
        "identity": {
            "default_schema_id": "default",
            "schemas": [{"id": "default", "url": IDENTITY_SCHEMA_URL}],
        },
        "selfservice": login.kratos_selfservice(topology),
        "oauth2_provider": login.kratos_oauth2_provider(),
    }


def keto_config(topology: Topology) -> dict[str, Any]:
    return {
        "dsn": dsn(topology, "keto"),
        "log": _log(),
        "serve": {"read": {"port": 4466}, "write": {"port": 4467}},
        "namespaces": [{"name": name} for name in KETO_NAMESPACES],
    }


def identity_schema() -> dict[str, Any]:
    """The integration guide's identity: an email (the password identifier), a first and a last
    name."""
    return {
        "$id": "https://schemas.iam-sandbox.local/identity.default.schema.json",
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Person",
        "type": "object",
        "properties": {
            "traits": {
                "type": "object",
                "properties": {
                    "email": {
                        "type": "string",
                        "format": "email",
                        "title": "E-Mail",
                        "ory.sh/kratos": {"credentials": {"password": {"identifier": True}}},
                    },
                    "name": {
                        "type": "object",
                        "properties": {
                            "first": {"type": "string", "title": "First name"},
                            "last": {"type": "string", "title": "Last name"},
                        },
                    },
                },
                "required": ["email"],
                "additionalProperties": False,
            }
        },
    }


BUILDERS: dict[str, Callable[[Topology], dict[str, Any]]] = {
    "hydra": hydra_config,
    "kratos": kratos_config,
    "keto": keto_config,
}
"""Each catalog component's config, by name."""


def configs(topology: Topology) -> dict[str, dict[str, Any]]:
    """Each config file's content, by component (components configured by environment only,
    the login UI, have none)."""
    return {c.name: BUILDERS[c.name](topology) for c in topology.components if c.config}


def plain_env(topology: Topology) -> dict[str, dict[str, str]]:
    """Each component's environment without secrets: Ory's servers opt out of usage reports;
    the login UI is configured by environment alone."""
    return {
        c.name: ENV_BUILDERS[c.name](topology) if c.name in ENV_BUILDERS else dict(SERVER_ENV)
        for c in topology.components
    }


ENV_BUILDERS: dict[str, Callable[[Topology], dict[str, str]]] = {"ui": login.ui_environment}
"""Components configured by environment rather than a file, by name."""


def files(topology: Topology) -> dict[str, str]:
    """The components' mounted files, under `ory/` of a rendered project: the identity schema
    and every config (no secrets in any of them)."""
    out = {f"ory/{IDENTITY_SCHEMA}": json.dumps(identity_schema(), indent=2) + "\n"}
    for name, config in configs(topology).items():
        out[f"ory/{name}.yaml"] = yaml_text.dump(config)
    return out


def secret_env(topology: Topology, secrets: OrySecrets) -> dict[str, dict[str, str]]:
    """Per-service environment that completes the configs: the DSN with password, secrets."""

    def full(db: str) -> str:
        return dsn(topology, db, secrets.db_password)

    return {
        "hydra": {"DSN": full("hydra"), "SECRETS_SYSTEM": secrets.hydra_system},
        "kratos": {
            "DSN": full("kratos"),
            "SECRETS_DEFAULT": secrets.kratos_default,
            "SECRETS_COOKIE": secrets.kratos_cookie,
            "SECRETS_CIPHER": secrets.kratos_cipher,
        },
        "keto": {"DSN": full("keto")},
        "ui": login.ui_secret_env(secrets),
    }
