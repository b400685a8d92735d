"""What a component of the stack is, as data: the one shape every renderer and runtime reads.

A component is a long-running service next to the database (Hydra, Kratos, Keto, ...). Its
entry says everything the rest of the sandbox derives: its image, its ports (the container
port, the host-port setting that publishes it, its role and health path, the variable that
names its URL), its memory cap, the database it needs, how it migrates and serves, and the
files it mounts. Nothing downstream asks "is this Kratos?": it reads the entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PortRole = Literal["public", "admin", "browser"]
"""`public` APIs may go behind a load balancer (aws `--public`); `admin` APIs never leave the
cluster; `browser` pages (the login UI) stay on 127.0.0.1 too: a public login would need every
browser-facing URL (Hydra's `urls.login`, the UI's Kratos URL) to follow them."""

APP_USER = "ory"
"""The SQL user every component connects as, on every engine (password over TLS)."""


@dataclass(frozen=True)
class PortSpec:
    """One port a component serves, and how the host reaches it."""

    name: str
    """Short name (`public`, `admin`, `read`, `write`): Kubernetes Service `<component>-<name>`."""
    container: int
    """The port inside the container (and in the component's own config)."""
    host_setting: str
    """The `ports.*` settings field that publishes it on 127.0.0.1."""
    role: PortRole
    """Only `public` ports are exposed beyond the cluster (aws `--public`); see `PortRole`."""
    url_var: str
    """The environment variable that carries its URL (`sandbox env`, `verify`, `load`)."""
    health: str = "/health/ready"
    service: str = ""
    """Its Kubernetes Service name when the chart does not call it `<component>-<name>` (the
    UI's chart names its one Service after the release)."""


@dataclass(frozen=True)
class ConfigFile:
    """A file the component mounts read-only: `name` in the rendered project, at `target`."""

    name: str
    target: str


@dataclass(frozen=True)
class Component:
    """One service of the stack; see the module docstring."""

    name: str
    repository: str
    """The official image repository; the tag is `versions.<name>`, `images.<name>` overrides."""
    ports: tuple[PortSpec, ...]
    serve: tuple[str, ...]
    """Arguments of the server (the image's entrypoint is the component's binary); empty: the
    image's own command."""
    config: str | None
    """The config file name, mounted under the component's config folder; None: configured by
    environment variables only (the login UI)."""
    database: str | None = None
    """The database it needs on the sandbox's engine, or None for a stateless service."""
    migrate: tuple[str, ...] = ()
    """Arguments of its one-shot migration; empty: nothing to migrate."""
    secret_env: tuple[str, ...] = ()
    """Variables it reads from its secret env file / Secret (the DSN and its own secrets)."""
    files: tuple[ConfigFile, ...] = ()
    """Extra read-only files besides its config and the CA certificate."""
    chart: str | None = None
    """Its ory/k8s Helm chart on Kubernetes targets; None: not deployable there yet."""
    profile: str | None = None
    """The `profiles` entry that turns it on; None: always part of the stack."""
    calls: tuple[str, ...] = ()
    """Components it calls; without a database of its own, it starts after them."""
    image_volumes: tuple[str, ...] = ()
    """Paths its official image declares as `VOLUME`. Docker gives every container of such an
    image an anonymous, unlabelled volume at each, which `down` (without `--volumes`) would
    leave behind on every cycle; Compose mounts an empty tmpfs there instead (the sandbox keeps
    nothing in them)."""

    @property
    def migration(self) -> str | None:
        """The one-shot that migrates its database, or None when it has nothing to migrate."""
        return f"{self.name}-migrate" if self.migrate else None

    def internal_url(self, port: str) -> str:
        """How another service of the stack reaches `port`: its Service name on every target.
        No trailing slash: Ory's API clients append `/admin/...` to it as it is."""
        spec = self.port(port)
        return f"http://{self.service_name(port)}:{spec.container}"

    def service_name(self, port: str) -> str:
        """The Kubernetes Service of `port`; on Compose, a network alias of the container."""
        return self.port(port).service or f"{self.name}-{port}"

    @property
    def network_names(self) -> tuple[str, ...]:
        """The names Compose gives the container besides its service name: each port's
        Kubernetes Service name (`hydra-admin`), so a URL one service gives another (Kratos's
        `oauth2_provider.url`, the UI's `HYDRA_ADMIN_URL`) is the same on every target."""
        names = (self.service_name(spec.name) for spec in self.ports)
        return tuple(name for name in names if name != self.name)

    @property
    def memory_key(self) -> str:
        """The `memory.*` settings field of its cap."""
        return self.name

    def port(self, name: str) -> PortSpec:
        for spec in self.ports:
            if spec.name == name:
                return spec
        raise KeyError(f"{self.name} has no port {name!r}")
