"""Ory Hydra, Kratos and Keto configuration, identical on every target.

Config files carry no secrets, so they can be mounted world-readable into non-root containers,
moved and committed. The database password and the service secrets travel as environment
variables (`DSN`, `SECRETS_*`), which Ory reads over the file, from a 0600 env file on Compose
and from a Secret on Kubernetes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sandbox.config.topology import LOOPBACK, ORY_USER, SQL_PORT, Topology

CONFIG_DIR = "/etc/config"
"""Where configs are mounted in Ory containers: the Ory Helm charts use the same folder."""
CA_PATH = "/etc/sandbox/ca.crt"
"""The CockroachDB CA inside Ory containers: the only certificate material they get."""
IDENTITY_SCHEMA_URL = f"file://{CONFIG_DIR}/identity.default.schema.json"
RETURN_URL = f"http://{LOOPBACK}:4455/"
"""Where Kratos sends browsers after a flow; the sandbox ships no UI, so nothing listens."""
KETO_NAMESPACES = ("documents", "users", "default_namespace")
SERVER_ENV = {"SQA_OPT_OUT": "true"}
"""Plain environment of every Ory server: no usage reports leave a sandbox. Kratos takes this
only as a flag or variable, not from its config file, so all three get it the same way."""


@dataclass(frozen=True)
class OrySecrets:
    """Generated once per sandbox and kept in its state directory (see `StateDir.secret`)."""

    db_password: str
    hydra_system: str
    kratos_default: str
    kratos_cookie: str
    kratos_cipher: str  # exactly 32 characters


def dsn(
    topology: Topology,
    database: str,
    password: str | None = None,
    *,
    host: str | None = None,
    port: int = SQL_PORT,
    ca_path: str = CA_PATH,
    scheme: str = "cockroach",
    pool: bool = True,
) -> str:
    """`cockroach://ory[:password]@crdb:26257/<db>?sslmode=verify-full&sslrootcert=...&max_conns=16&...`.

    The pool parameters (settings `db_pool`) are read by Ory itself and refused by libpq:
    `pool=False` leaves them out for a libpq URL.
    """
    auth = ORY_USER if password is None else f"{ORY_USER}:{quote(password, safe='')}"
    extra = "".join(f"&{k}={v}" for k, v in topology.settings.db_pool.params()) if pool else ""
    return (
        f"{scheme}://{auth}@{host or topology.load_balancer}:{port}/{database}"
        f"?sslmode=verify-full&sslrootcert={quote(ca_path, safe='/')}{extra}"
    )


def public_urls(topology: Topology) -> dict[str, str]:
    """Where the host reaches each API: the seeds' variable names, on 127.0.0.1."""
    p = topology.settings.ports
    url = f"http://{LOOPBACK}:{{}}"
    return {
        "HYDRA_PUBLIC_URL": url.format(p.hydra_public),
        "HYDRA_ADMIN_URL": url.format(p.hydra_admin),
        "KRATOS_PUBLIC_URL": url.format(p.kratos_public),
        "KRATOS_ADMIN_URL": url.format(p.kratos_admin),
        "KETO_READ_REMOTE": url.format(p.keto_read),
        "KETO_WRITE_REMOTE": url.format(p.keto_write),
    }


def _log() -> dict[str, Any]:
    return {"level": "info", "format": "json", "leak_sensitive_values": False}


def hydra_config(topology: Topology) -> dict[str, Any]:
    p = topology.settings.ports
    issuer = f"http://{LOOPBACK}:{p.hydra_public}/"
    return {
        "dsn": dsn(topology, "hydra"),
        "dev": True,  # plain-HTTP issuer on localhost
        "log": _log(),
        "serve": {"public": {"port": 4444}, "admin": {"port": 4445}},
        "urls": {
            "self": {"issuer": issuer, "public": issuer},
            "login": f"{RETURN_URL}login",
            "consent": f"{RETURN_URL}consent",
            "logout": f"{RETURN_URL}logout",
        },
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
        "selfservice": {
            "default_browser_return_url": RETURN_URL,
            "allowed_return_urls": [RETURN_URL],
            # The haveibeenpwned lookup calls out to the internet for every new password; on
            # an offline machine each registration then stalls for about 15 seconds.
            "methods": {"password": {"enabled": True, "config": {"haveibeenpwned_enabled": False}}},
            "flows": {
                # The session hook makes API registration return a session token.
                "registration": {"after": {"password": {"hooks": [{"hook": "session"}]}}},
            },
        },
    }


def keto_config(topology: Topology) -> dict[str, Any]:
    return {
        "dsn": dsn(topology, "keto"),
        "log": _log(),
        "serve": {"read": {"port": 4466}, "write": {"port": 4467}},
        "namespaces": [{"name": name} for name in KETO_NAMESPACES],
    }


def identity_schema() -> dict[str, Any]:
    """The seeds' identity: an email (the password identifier) and a first and last name."""
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


def configs(topology: Topology) -> dict[str, dict[str, Any]]:
    return {
        "hydra": hydra_config(topology),
        "kratos": kratos_config(topology),
        "keto": keto_config(topology),
    }


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
    }
