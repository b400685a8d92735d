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

PortRole = Literal["public", "admin"]

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
    """`admin` ports are never exposed beyond the cluster, whatever the target."""
    url_var: str
    """The environment variable that carries its URL (`sandbox env`, `verify`, `load`)."""
    health: str = "/health/ready"


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
    """Arguments of the server (the image's entrypoint is the component's binary)."""
    config: str
    """The config file name, mounted under the component's config folder."""
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
    image_volumes: tuple[str, ...] = ()
    """Paths its official image declares as `VOLUME`. Docker gives every container of such an
    image an anonymous, unlabelled volume at each, which `down` (without `--volumes`) would
    leave behind on every cycle; Compose mounts an empty tmpfs there instead (the sandbox keeps
    nothing in them)."""

    @property
    def migration(self) -> str | None:
        """The one-shot that migrates its database, or None when it has nothing to migrate."""
        return f"{self.name}-migrate" if self.migrate else None

    @property
    def memory_key(self) -> str:
        """The `memory.*` settings field of its cap."""
        return self.name

    def port(self, name: str) -> PortSpec:
        for spec in self.ports:
            if spec.name == name:
                return spec
        raise KeyError(f"{self.name} has no port {name!r}")
