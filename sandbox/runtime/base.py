"""The contract between the CLI and a target (`sandbox.targets` lists them).

A driver renders its artifacts with the pure renderers, then applies them. Everything it
needs arrives in a `DriverContext`; it never reads settings files or the environment itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sandbox.errors import BadInput
from sandbox.model.topology import LOOPBACK, Topology
from sandbox.pki.layout import CertLayout
from sandbox.plan.status import Status
from sandbox.probes import port_is_free
from sandbox.state import StateDir


def require_free_ports(wanted: Iterable[tuple[str, int, str]], ours: set[int]) -> None:
    """Bad input unless every (setting, port, wanted by) is free or already this sandbox's."""
    for setting, port, owner in wanted:
        if port not in ours and not port_is_free(port):
            raise BadInput(
                f"port {port} on {LOOPBACK} is already in use: {setting} (wanted by {owner}); "
                f"free it or change {setting}"
            )


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
    started: float | None = None
    """`time.monotonic()` when the command started: `timeout` counts from there."""
    wait: bool = True
    """Kubernetes targets: False applies every object without waiting for pods, Jobs or
    rollouts (an API server without kubelets); Helm still waits for its migration hooks."""
    kube_context: str | None = None
    """`--target k8s`: the kubeconfig context of the existing cluster (default: current)."""
    kubeconfig: Path | None = None
    """`--target k8s`: the kubeconfig file (default: kubectl's own lookup)."""
    public: bool = False
    """aws: the public APIs behind internet-facing NLBs (needs `yes`)."""
    from_snapshot: Path | None = None
    """Compose: restore this snapshot's volumes, certificates and secrets before starting."""
    force: bool = False
    """With `from_snapshot`: replace the data volumes this sandbox already has."""


@dataclass(frozen=True)
class DownOptions:
    volumes: bool = False
    dry_run: bool = False
    yes: bool = False
    wait: bool = True
    kube_context: str | None = None
    kubeconfig: Path | None = None


@dataclass
class ServiceStatus:
    """One row of `sandbox status`."""

    name: str
    state: str  # running, exited, missing, ...
    health: str = ""  # healthy, unhealthy, starting, completed, ""
    zone: str = ""
    endpoint: str = ""
    detail: dict[str, str] = field(default_factory=dict)

    def problem(self) -> str | None:
        """Why this service is not healthy, or None when it is: a one-shot must have completed,
        any other must be running with its own health check (if any) passing."""
        if self.health == "completed":
            return None
        if self.state != "running":
            return self.health if self.health.startswith("failed") else self.state or "unknown"
        return None if self.health in ("", "healthy") else self.health


class Driver(Protocol):
    target: str

    @property
    def topology(self) -> Topology:
        """The topology it was given (never replaced: a runtime does not change the model)."""
        ...

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
