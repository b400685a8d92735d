"""Where `sandbox verify` finds the services: defaults < sandbox state < environment < flags.

Every layer is a plain mapping of the integration guide's variable names (`HYDRA_ADMIN_URL`, ...,
`KETO_WRITE_REMOTE`) plus database URLs: `DATABASE_URL` for all three databases (its database
name is replaced by hydra, kratos and keto), or `HYDRA_DATABASE_URL`, `KRATOS_DATABASE_URL`,
`KETO_DATABASE_URL` one by one (what `sandbox env` prints). Later layers win.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sandbox.model.catalog import DATABASES, URL_VARS

__all__ = ["DATABASES", "URL_KEYS"]

URL_KEYS = URL_VARS
"""Every API URL variable, from the component catalog."""
DATABASE_KEY = "DATABASE_URL"
ORY_ONLY_PARAMS = frozenset(
    {"max_conns", "max_idle_conns", "max_conn_lifetime", "max_conn_idle_time"}
)
"""DSN parameters Ory's pool reads and libpq would refuse."""


def db_key(database: str) -> str:
    return f"{database.upper()}_DATABASE_URL"


ENV_KEYS = (*URL_KEYS, DATABASE_KEY, *(db_key(db) for db in DATABASES))


@dataclass(frozen=True)
class Targets:
    urls: dict[str, str]
    database_urls: dict[str, str]
    sources: dict[str, str] = field(default_factory=dict)
    """Which layer each value came from (defaults, state, env, flag)."""

    def url(self, key: str, path: str) -> str:
        return self.urls[key].rstrip("/") + path

    def public(self) -> dict[str, str]:
        """Everything, with database passwords masked: safe to print."""
        out = dict(self.urls)
        out.update({db_key(db): mask_password(u) for db, u in self.database_urls.items()})
        return out


def libpq_url(url: str) -> str:
    """An Ory DSN or libpq URL as a libpq URL: `cockroach://` and Ory's pool options dropped."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("postgres", "postgresql", "cockroach", "cockroachdb"):
        raise ValueError(f"not a PostgreSQL or CockroachDB URL: {mask_password(url)}")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    query = [(k, v) for k, v in query if k not in ORY_ONLY_PARAMS]
    return urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(query, safe="/"), ""))


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def mask_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def resolve(layers: Sequence[tuple[str, Mapping[str, str]]]) -> Targets:
    """Merge the layers in order (later wins); empty values are ignored.

    Within one layer a per-database URL beats that layer's `DATABASE_URL`.
    Raises ValueError for a database URL that is not PostgreSQL/CockroachDB.
    """
    urls: dict[str, str] = {}
    dbs: dict[str, str] = {}
    sources: dict[str, str] = {}
    for source, values in layers:
        for key in URL_KEYS:
            if values.get(key):
                urls[key] = values[key].rstrip("/")
                sources[key] = source
        if values.get(DATABASE_KEY):
            base = libpq_url(values[DATABASE_KEY])
            for db in DATABASES:
                dbs[db] = with_database(base, db)
                sources[db_key(db)] = source
        for db in DATABASES:
            if values.get(db_key(db)):
                dbs[db] = libpq_url(values[db_key(db)])
                sources[db_key(db)] = source
    return Targets(urls=urls, database_urls=dbs, sources=sources)
