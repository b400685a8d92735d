"""The contract between the CLI and a target (compose, kind, aws).

A driver renders its artifacts with the pure renderers, then applies them. Everything it
needs arrives in a `DriverContext`; it never reads settings files or the environment itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sandbox.config.topology import Topology
from sandbox.pipeline.status import Status
from sandbox.pki.layout import CertLayout
from sandbox.state import StateDir


@dataclass(frozen=True)
class DriverContext:
    topology: Topology
    state: StateDir
    status: Status

    @property
    def certs(self) -> CertLayout:
        return CertLayout(self.state.certs)


@dataclass(frozen=True)
class UpOptions:
    timeout: float | None = None
    """Overall deadline in seconds; None: the settings' `timeouts.up`."""
    dry_run: bool = False
    """Print every command and write every artifact, but change nothing outside the state dir."""
    yes: bool = False
    """Confirmed (for targets that cost money)."""


@dataclass(frozen=True)
class DownOptions:
    volumes: bool = False
    dry_run: bool = False
    yes: bool = False


@dataclass
class ServiceStatus:
    """One row of `sandbox status`."""

    name: str
    state: str  # running, exited, missing, ...
    health: str = ""  # healthy, unhealthy, starting, completed, ""
    zone: str = ""
    endpoint: str = ""
    detail: dict[str, str] = field(default_factory=dict)


class Driver(Protocol):
    target: str

    def render(self, out: Path) -> list[Path]:
        """Write every artifact of this target into `out`; return the files written."""
        ...

    def up(self, options: UpOptions) -> None: ...

    def down(self, options: DownOptions) -> None: ...

    def status(self) -> list[ServiceStatus]: ...

    def logs(self, service: str | None, follow: bool, tail: int | None) -> None: ...

    def sql(self, user: str, statement: str | None) -> int:
        """Run `cockroach sql` as `user` inside a node; interactive when statement is None."""
        ...
