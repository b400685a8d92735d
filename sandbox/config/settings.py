"""The on-disk settings model (`sandbox.yaml`, apiVersion sandbox/v1).

Every field has an embedded default, so the sandbox runs with no file at all. Unknown keys are
refused, so a typo in `sandbox.yaml` is an error rather than a silently ignored setting.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from sandbox.config.aws import Aws
from sandbox.config.base import VERSION_PATTERN, Model
from sandbox.config.profiles import MEMORY_PROFILES
from sandbox.config.tools import Tools

API_VERSION: Literal["sandbox/v1"] = "sandbox/v1"

Port = Annotated[int, Field(ge=1, le=65535)]
MiB = Annotated[int, Field(ge=16)]
Seconds = Annotated[float, Field(gt=0)]

_PG_VERSION = re.compile(r"^\d+\.\d+$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_PROJECT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_LICENSE = re.compile(r"^[A-Za-z0-9+/=._-]{8,}$")
_ORGANIZATION = re.compile(r"^[^'\"\\\x00-\x1f]{1,200}$")


class Versions(Model):
    """Pinned upstream versions. Ory v26.2.0 is tested upstream against CockroachDB v25.4."""

    cockroach: str = "v25.4.11"
    hydra: str = "v26.2.0"
    kratos: str = "v26.2.0"
    keto: str = "v26.2.0"
    ui: str = "v26.2.0"
    """Ory's login UI (`oryd/kratos-selfservice-ui-node`), released with Kratos."""
    haproxy: str = "3.0.24"
    """The 3.0 LTS line (maintained to 2029). 3.0.5 was its fifth patch (2024-09); 3.0.24 is
    the newest patch with a published fix record (Chainguard's haproxy-3.0 advisories, July
    2026; haproxy.org lists every 3.0 release on its `bugs-3.0.*.html` pages). Newer 3.0
    patches are drop-in."""
    postgres: str = "17.6"
    """`database.engine: postgres`: the official image's tag (PostgreSQL numbers its releases
    major.minor)."""
    patroni: str = "4.1.5"
    """Installed from PyPI into the PostgreSQL image that `up` builds (the official image has
    no Patroni)."""
    etcd: str = "v3.5.21"

    @field_validator("postgres")
    @classmethod
    def _postgres_release(cls, value: str) -> str:
        if not _PG_VERSION.match(value):
            raise ValueError(f"expected a PostgreSQL release such as 17.6, got {value!r}")
        return value

    @field_validator("cockroach", "hydra", "kratos", "keto", "ui", "haproxy", "patroni", "etcd")
    @classmethod
    def _pinned(cls, value: str) -> str:
        if not VERSION_PATTERN.match(value):
            raise ValueError(f"expected a pinned release such as v25.4.11, got {value!r}")
        return value


class Images(Model):
    """Image overrides; empty means the official image at the pinned version."""

    cockroach: str | None = None
    haproxy: str | None = None
    hydra: str | None = None
    kratos: str | None = None
    keto: str | None = None
    ui: str | None = None
    postgres: str | None = None
    """A PostgreSQL image with Patroni in it; unset, `up` builds one from the official image."""
    etcd: str | None = None

    @field_validator("*")
    @classmethod
    def _not_floating(cls, value: str | None) -> str | None:
        if value is None:
            return value
        name, _, digest = value.partition("@")
        tag = name.rsplit("/", 1)[-1].partition(":")[2]
        if not digest and (not tag or tag == "latest"):
            raise ValueError(
                f"image {value!r} must be pinned to a tag other than latest or a digest"
            )
        return value


class Ports(Model):
    """Host ports, all published on 127.0.0.1 only."""

    sql: Port = 26257
    node_sql: list[Port] = Field(default_factory=lambda: [26258, 26259, 26260])
    node_http: list[Port] = Field(default_factory=lambda: [8080, 8081, 8082])
    hydra_public: Port = 4444
    hydra_admin: Port = 4445
    kratos_public: Port = 4433
    kratos_admin: Port = 4434
    keto_read: Port = 4466
    keto_write: Port = 4467
    ui: Port = 4455
    """The login UI, where a person's browser goes (Ory's quickstarts use 4455 too)."""

    def named(self) -> list[tuple[str, int]]:
        """Every host port with the dotted field name that sets it."""
        out: list[tuple[str, int]] = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, list):
                out.extend((f"ports.{name}[{i}]", port) for i, port in enumerate(value))
            else:
                out.append((f"ports.{name}", value))
        return out

    @model_validator(mode="after")
    def _distinct(self) -> Ports:
        seen: dict[int, str] = {}
        for name, port in self.named():
            if port in seen:
                raise ValueError(f"{name}: port {port} is already used by {seen[port]}")
            seen[port] = name
        return self


MemoryProfile = Literal["laptop", "ci", "roomy"]


class Memory(Model):
    """Memory caps in MiB. `profile` picks a consistent set (`MEMORY_PROFILES`); a cap set
    explicitly overrides its profile's value. The default, `laptop`, keeps the whole stack
    under 3 GiB."""

    profile: MemoryProfile = "laptop"
    cockroach_node: MiB = 640
    cockroach_cache: MiB = 160
    cockroach_sql: MiB = 160
    cockroach_tsdb: MiB = 64
    cockroach_one_shot: MiB = 256
    load_balancer: MiB = 48
    one_shot: MiB = 96
    hydra: MiB = 160
    kratos: MiB = 160
    keto: MiB = 128
    ui: MiB = 128
    postgres_node: MiB = 320
    etcd: MiB = 64
    budget: MiB = 3072

    @model_validator(mode="before")
    @classmethod
    def _profile_defaults(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        chosen = MEMORY_PROFILES.get(data.get("profile", "laptop"))
        return data if chosen is None else {**chosen, **data}  # None: the Literal says why

    @model_validator(mode="after")
    def _fits(self) -> Memory:
        engine = self.cockroach_cache + self.cockroach_sql + self.cockroach_tsdb
        if engine * 4 > self.cockroach_node * 3:
            raise ValueError(
                f"cockroach_cache + cockroach_sql + cockroach_tsdb ({engine} MiB) must stay "
                f"under 75% of cockroach_node ({self.cockroach_node} MiB)"
            )
        return self


class Timeouts(Model):
    """Seconds to wait for each stage of `up`; CockroachDB migrations can be slow."""

    up: Seconds = 900
    nodes_ready: Seconds = 180
    migrations: Seconds = 600
    services_ready: Seconds = 180
    poll_interval: Seconds = 1.0


class Cockroach(Model):
    license_key: SecretStr | None = None
    """Set as `enterprise.license`; without one a multi-node cluster is throttled after 7 days.
    Since v24.3 a Free or Trial key also needs `diagnostics: true` (see `diagnostics`)."""
    organization: str | None = None
    """Set as `cluster.organization` with the key: enterprise features compare it with the
    organization the license was issued to."""
    diagnostics: bool = False
    """Send CockroachDB's diagnostics reports to Cockroach Labs. Off by default, so nothing
    leaves a sandbox; but since v24.3 Free and Trial licenses require the reports, and a
    cluster holding one that has sent none for 7 days is throttled as if unlicensed
    (`pkg/server/license/enforcer.go`). Enterprise licenses work with it off."""

    @field_validator("license_key")
    @classmethod
    def _license_charset(cls, value: SecretStr | None) -> SecretStr | None:
        # The key is written into a SQL statement: allow only what license keys contain.
        if value is not None and not _LICENSE.match(value.get_secret_value()):
            raise ValueError("expected a CockroachDB license key (letters, digits, + / = . _ -)")
        return value

    @field_validator("organization")
    @classmethod
    def _organization_charset(cls, value: str | None) -> str | None:
        # Written into a SQL string literal: no quote, no backslash, no control character.
        if value is not None and not _ORGANIZATION.match(value):
            raise ValueError("expected an organization name without quotes or backslashes")
        return value


class Database(Model):
    """Which database engine runs under Ory (see `sandbox.model.engines`)."""

    engine: Literal["cockroachdb", "postgres"] = "cockroachdb"


class Kubernetes(Model):
    namespace: str = "iam-sandbox"
    storage_size: str = "10Gi"
    storage_class: str | None = None
    """`--target k8s` only: the StorageClass of the CockroachDB volumes; unset: the cluster's
    default class (kind and aws bring their own)."""
    spread: Literal["zone", "hostname"] = "zone"
    """One CockroachDB node per `topology.kubernetes.io/zone`; `hostname` for clusters without
    three zones (`--target k8s` falls back to it by itself, and says so)."""

    @field_validator("namespace")
    @classmethod
    def _dns_label(cls, value: str) -> str:
        if not _DNS_LABEL.match(value):
            raise ValueError(f"{value!r} is not a valid Kubernetes namespace (a DNS label)")
        return value


class Certs(Model):
    """Lifetimes follow `cockroach cert`: CA 10 years, leaves 5, backdated a day."""

    key_type: Literal["ecdsa-p256", "rsa-2048"] = "ecdsa-p256"
    ca_days: Annotated[int, Field(ge=2)] = 3650
    leaf_days: Annotated[int, Field(ge=1)] = 1825
    backdate_hours: Annotated[int, Field(ge=0, le=168)] = 24
    warn_days: Annotated[int, Field(ge=0)] = 30


_GO_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$")


class DbPool(Model):
    """Each Ory service's database pool, as DSN query parameters (`max_conns=...`).

    Unset, Ory keeps at most 4 connections with 2 idle on a 2-core machine and opens a new
    one for almost every request under load: `benchmarks/load.py` measures the difference.
    `null` leaves a parameter out of the DSN (Ory's own default).
    """

    max_conns: Annotated[int, Field(ge=1)] | None = 16
    max_idle_conns: Annotated[int, Field(ge=0)] | None = 16
    max_conn_lifetime: str | None = None
    """A Go duration such as `30m`: recycles connections, e.g. to rebalance over the nodes."""
    max_conn_idle_time: str | None = None

    @field_validator("max_conn_lifetime", "max_conn_idle_time")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None and not _GO_DURATION.match(value):
            raise ValueError(f"expected a duration such as 30s, 5m or 1h, got {value!r}")
        return value

    @model_validator(mode="after")
    def _idle_within_max(self) -> DbPool:
        if (
            self.max_conns is not None
            and self.max_idle_conns is not None
            and self.max_idle_conns > self.max_conns
        ):
            raise ValueError(
                f"max_idle_conns ({self.max_idle_conns}) exceeds max_conns ({self.max_conns})"
            )
        return self

    def params(self) -> list[tuple[str, str]]:
        """The DSN query parameters, in a fixed order, without the unset ones."""
        fields = ("max_conns", "max_idle_conns", "max_conn_lifetime", "max_conn_idle_time")
        return [(f, str(getattr(self, f))) for f in fields if getattr(self, f) is not None]


Profile = Literal["login"]
"""Optional parts of the stack (`profiles:`); each component names the one that turns it on."""
DEFAULT_PROFILES: list[Profile] = ["login"]

ENGINE_NAMES = {"cockroachdb": "crdb", "postgres": "pg"}
"""The default name of each engine's nodes and load balancer."""


class Settings(Model):
    """The whole sandbox, as a user may write it in `sandbox.yaml`."""

    api_version: Literal["sandbox/v1"] = Field(default=API_VERSION, alias="apiVersion")
    project: str = "iam-sandbox"
    region: str = "us-east-1"
    zones: list[str] = Field(default_factory=lambda: ["us-east-1a", "us-east-1b", "us-east-1c"])
    node_prefix: str = "crdb"
    load_balancer: str = "crdb"
    profiles: list[Profile] = Field(default_factory=lambda: list(DEFAULT_PROFILES))
    """`login`: Ory's login UI, for a person's login through Hydra and Kratos (on by default;
    `profiles: []` leaves it out and saves its memory)."""
    versions: Versions = Field(default_factory=Versions)
    images: Images = Field(default_factory=Images)
    ports: Ports = Field(default_factory=Ports)
    memory: Memory = Field(default_factory=Memory)
    timeouts: Timeouts = Field(default_factory=Timeouts)
    database: Database = Field(default_factory=Database)
    cockroach: Cockroach = Field(default_factory=Cockroach)
    kubernetes: Kubernetes = Field(default_factory=Kubernetes)
    certs: Certs = Field(default_factory=Certs)
    tools: Tools = Field(default_factory=Tools)
    db_pool: DbPool = Field(default_factory=DbPool)
    aws: Aws = Field(default_factory=Aws)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("project")
    @classmethod
    def _project_name(cls, value: str) -> str:
        if not _PROJECT.match(value):
            raise ValueError(
                f"{value!r} must be lowercase letters, digits, '-' or '_', starting alphanumeric"
            )
        return value

    @model_validator(mode="before")
    @classmethod
    def _engine_names(cls, data: object) -> object:
        """Node and load-balancer names default to the engine's short name (`crdb-1`, `pg-1`)."""
        if not isinstance(data, dict):
            return data
        database = data.get("database")
        engine = database.get("engine") if isinstance(database, dict) else None
        short = ENGINE_NAMES.get(engine) if isinstance(engine, str) else None
        if short is None:
            return data
        return {"node_prefix": short, "load_balancer": short, **data}

    @field_validator("node_prefix", "load_balancer", "region")
    @classmethod
    def _label(cls, value: str) -> str:
        if not _DNS_LABEL.match(value):
            raise ValueError(f"{value!r} is not a valid DNS label")
        return value

    @field_validator("zones")
    @classmethod
    def _three_zones(cls, value: list[str]) -> list[str]:
        if len(value) != 3:
            raise ValueError(
                f"expected exactly 3 zones (one CockroachDB node per zone), got {len(value)}"
            )
        if len(set(value)) != 3:
            raise ValueError("zones must be distinct")
        for zone in value:
            if not _DNS_LABEL.match(zone):
                raise ValueError(f"{zone!r} is not a valid zone name")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        for field in ("node_sql", "node_http"):
            count = len(getattr(self.ports, field))
            if count != len(self.zones):
                raise ValueError(f"ports.{field}: expected one port per zone (3), got {count}")
        if self.load_balancer in self.node_names():
            raise ValueError(f"load_balancer: {self.load_balancer!r} collides with a node name")
        return self

    def node_names(self) -> list[str]:
        return [f"{self.node_prefix}-{i}" for i in range(1, len(self.zones) + 1)]
