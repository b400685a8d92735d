"""What a test gets from the `iam_sandbox` fixture: every endpoint, and helpers for the usual
needs (a Hydra client with a token, a Kratos identity with a session, Keto tuples, SQL).

Built from the integration guide's variables (`HYDRA_ADMIN_URL`, ..., `*_DATABASE_URL`), so
it serves a sandbox of any target or a stack deployed by hand. Secrets stay out of reprs, so
a failing assertion never prints them.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from sandbox.checks.http import expect, json_object
from sandbox.checks.http import field as required
from sandbox.checks.targets import DATABASES, ENV_KEYS, db_key, resolve

if TYPE_CHECKING:
    import httpx
    import psycopg


@dataclass(frozen=True)
class HydraClient:
    """An OAuth2 client (client_credentials) and a token Hydra issued to it."""

    client_id: str
    access_token: str = field(repr=False)
    client_secret: str = field(repr=False)
    scope: str = ""


@dataclass(frozen=True)
class KratosIdentity:
    """A registered identity, logged in through the API flow."""

    id: str
    email: str
    traits: dict[str, Any]
    password: str = field(repr=False)
    session_token: str = field(repr=False)


@dataclass(frozen=True)
class Keto:
    """Relation tuples in Keto's notation: `subject` is `user:alice` or a subject set
    `documents:doc-1#owner`."""

    read_url: str
    write_url: str
    timeout: float = 30.0

    @staticmethod
    def tuple(namespace: str, obj: str, relation: str, subject: str) -> dict[str, Any]:
        out: dict[str, Any] = {"namespace": namespace, "object": obj, "relation": relation}
        if "#" in subject:
            ref, rel = subject.rsplit("#", 1)
            ns, _, target = ref.partition(":")
            out["subject_set"] = {"namespace": ns, "object": target, "relation": rel}
        else:
            out["subject_id"] = subject
        return out

    def write(self, namespace: str, obj: str, relation: str, subject: str) -> None:
        body = self.tuple(namespace, obj, relation, subject)
        with _http(self.timeout) as http:
            expect(http.put(f"{self.write_url}/admin/relation-tuples", json=body), 201)

    def delete(self, namespace: str, obj: str, relation: str, subject: str) -> None:
        params = _flat(self.tuple(namespace, obj, relation, subject))
        with _http(self.timeout) as http:
            expect(http.delete(f"{self.write_url}/admin/relation-tuples", params=params), 204)

    def check(self, namespace: str, obj: str, relation: str, subject: str) -> bool:
        """Keto's answer: allowed (HTTP 200) or denied (HTTP 403)."""
        params = _flat(self.tuple(namespace, obj, relation, subject))
        with _http(self.timeout) as http:
            resp = expect(
                http.get(f"{self.read_url}/relation-tuples/check", params=params), 200, 403
            )
        return json_object(resp).get("allowed") is True


@dataclass(frozen=True)
class IamSandbox:
    """Every endpoint of a running IAM stack, and helpers that use them."""

    urls: dict[str, str]
    """The integration guide's variables: HYDRA_PUBLIC_URL, HYDRA_ADMIN_URL, KRATOS_PUBLIC_URL,
    KRATOS_ADMIN_URL, KETO_READ_REMOTE, KETO_WRITE_REMOTE."""
    database_urls: dict[str, str] = field(repr=False)
    """hydra, kratos, keto: libpq URLs as user ory with sslmode=verify-full (password included)."""
    ca_path: Path | None = None
    """The CA certificate the database URLs verify against."""
    project: str | None = None
    state_dir: Path | None = None
    timeout: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str], **kwargs: Any) -> IamSandbox:
        """From the integration guide's variables and DATABASE_URL or
        HYDRA_/KRATOS_/KETO_DATABASE_URL."""
        targets = resolve([("env", {k: env[k] for k in ENV_KEYS if env.get(k)})])
        ca = None
        if targets.database_urls:
            query = parse_qs(urlsplit(next(iter(targets.database_urls.values()))).query)
            ca = Path(query["sslrootcert"][0]) if query.get("sslrootcert") else None
        return cls(targets.urls, targets.database_urls, ca, **kwargs)

    @property
    def env(self) -> dict[str, str]:
        """The integration guide's variables plus HYDRA_DATABASE_URL, ... (with the password)."""
        return {**self.urls, **{db_key(db): u for db, u in self.database_urls.items()}}

    def url(self, key: str) -> str:
        try:
            return self.urls[key]
        except KeyError:
            raise KeyError(f"{key} is not known for this sandbox") from None

    @property
    def hydra_public_url(self) -> str:
        return self.url("HYDRA_PUBLIC_URL")

    @property
    def hydra_admin_url(self) -> str:
        return self.url("HYDRA_ADMIN_URL")

    @property
    def kratos_public_url(self) -> str:
        return self.url("KRATOS_PUBLIC_URL")

    @property
    def kratos_admin_url(self) -> str:
        return self.url("KRATOS_ADMIN_URL")

    @property
    def keto_read_remote(self) -> str:
        return self.url("KETO_READ_REMOTE")

    @property
    def keto_write_remote(self) -> str:
        return self.url("KETO_WRITE_REMOTE")

    @property
    def keto(self) -> Keto:
        return Keto(self.keto_read_remote, self.keto_write_remote, self.timeout)

    def hydra_client(self, scope: str = "", name: str | None = None) -> HydraClient:
        """Create a client_credentials client (admin API) and get it a token (public API)."""
        body: dict[str, Any] = {
            "client_name": name or f"pytest-{secrets.token_hex(4)}",
            "grant_types": ["client_credentials"],
            "response_types": ["token"],
            "token_endpoint_auth_method": "client_secret_basic",
        }
        if scope:
            body["scope"] = scope
        with _http(self.timeout) as http:
            created = json_object(
                expect(http.post(f"{self.hydra_admin_url}/admin/clients", json=body), 201)
            )
            client_id = required(created, "client_id", "client create")
            secret = required(created, "client_secret", "client create")
            form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
            token = json_object(
                expect(
                    http.post(
                        f"{self.hydra_public_url}/oauth2/token", data=form, auth=(client_id, secret)
                    ),
                    200,
                )
            )
        return HydraClient(
            client_id, required(token, "access_token", "token"), secret, token.get("scope", "")
        )

    def kratos_identity(
        self,
        email: str | None = None,
        password: str | None = None,
        traits: dict[str, Any] | None = None,
    ) -> KratosIdentity:
        """Register through the API flow, then log in for a session token."""
        tag = secrets.token_hex(4)
        email = email or f"pytest-{tag}@example.org"
        password = password or f"{secrets.token_urlsafe(18)}-Px7!"
        traits = traits or {"email": email, "name": {"first": "Test", "last": f"User-{tag}"}}
        public = self.kratos_public_url
        with _http(self.timeout) as http:
            flow = _flow_id(http, f"{public}/self-service/registration/api")
            registered = json_object(
                expect(
                    http.post(
                        f"{public}/self-service/registration",
                        params={"flow": flow},
                        json={"method": "password", "password": password, "traits": traits},
                    ),
                    200,
                )
            )
            identity = required(registered, "identity", "registration")
            flow = _flow_id(http, f"{public}/self-service/login/api")
            session = json_object(
                expect(
                    http.post(
                        f"{public}/self-service/login",
                        params={"flow": flow},
                        json={"method": "password", "identifier": email, "password": password},
                    ),
                    200,
                )
            )
        token = required(session, "session_token", "login")
        return KratosIdentity(
            identity["id"], email, identity.get("traits", traits), password, token
        )

    def connect(self, database: str = "hydra") -> psycopg.Connection[Any]:
        """A psycopg connection as `ory` to one database, over TLS with sslmode=verify-full."""
        import psycopg

        if database not in DATABASES:
            raise ValueError(f"database must be one of {', '.join(DATABASES)}, not {database!r}")
        url = self.database_urls.get(database)
        if not url:
            raise KeyError(f"no database URL for {database} ({db_key(database)})")
        if parse_qs(urlsplit(url).query).get("sslmode") != ["verify-full"]:
            raise ValueError(f"{db_key(database)} must use sslmode=verify-full")
        return psycopg.connect(url, connect_timeout=max(1, int(self.timeout)), autocommit=True)


def _http(timeout: float) -> httpx.Client:
    import httpx

    return httpx.Client(timeout=timeout, follow_redirects=False)


def _flow_id(http: httpx.Client, url: str) -> str:
    return str(required(json_object(expect(http.get(url), 200)), "id", "self-service flow"))


def _flat(t: dict[str, Any]) -> dict[str, str]:
    """A tuple as Keto's query parameters (`subject_set.namespace`, ...)."""
    out = {k: v for k, v in t.items() if k != "subject_set"}
    for key, value in t.get("subject_set", {}).items():
        out[f"subject_set.{key}"] = value
    return out
