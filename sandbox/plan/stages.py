"""The order of `up`, written once: nodes, the engine's one-shots, migrations, servers.

Every runtime carries out the same stages with the same titles, so `up` reads alike on
Compose and Kubernetes; the Compose `depends_on` gates are derived from the same data, so a
plain `docker compose up` of a rendered project follows the same chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from sandbox.model.topology import Topology
    from sandbox.plan.status import Status
    from sandbox.plan.wait import Deadline

StageKind = Literal["nodes", "one-shot", "migrations", "servers"]
TimeoutKey = Literal["nodes_ready", "migrations", "services_ready"]

NODES = "nodes started"
MIGRATIONS = "migrations done"
SERVERS = "services ready"


@dataclass(frozen=True)
class Stage:
    """One step of `up`: start `services`, then wait for them within `timeouts.<timeout>`."""

    title: str
    kind: StageKind
    services: tuple[str, ...]
    timeout: TimeoutKey
    nodes_ready_after: bool = False
    """One-shot stages: afterwards every node must answer its readiness probe."""


def up_stages(topology: Topology) -> tuple[Stage, ...]:
    """The chain of `up` for this topology."""
    members = tuple(m.name for m in topology.engine.members(topology))
    stages = [Stage(NODES, "nodes", (*members, topology.load_balancer), "nodes_ready")]
    for shot in topology.engine.one_shots(topology):
        stages.append(
            Stage(shot.title, "one-shot", (shot.name,), "nodes_ready", shot.nodes_ready_after)
        )
    migrations = tuple(c.migration for c in topology.components if c.migration)
    if migrations:
        stages.append(Stage(MIGRATIONS, "migrations", migrations, "migrations"))
    servers = tuple(c.name for c in topology.components)
    stages.append(Stage(SERVERS, "servers", servers, "services_ready"))
    return tuple(stages)


Gate = Literal["service_started", "service_completed_successfully"]


def gates(topology: Topology) -> dict[str, dict[str, Gate]]:
    """What each service waits for before it starts (Compose `depends_on`), from the chain:
    the load balancer waits for the nodes, the first one-shot for every member of the engine
    (nodes and the store they agree through); each one-shot for the one
    before it (and the load balancer when it goes through it); each migration for the last
    one-shot; each server for its own migration, or for the last one-shot when it has none."""
    nodes = [n.name for n in topology.nodes]
    members = [m.name for m in topology.engine.members(topology)]
    started: Gate = "service_started"
    completed: Gate = "service_completed_successfully"
    out: dict[str, dict[str, Gate]] = {topology.load_balancer: dict.fromkeys(nodes, started)}
    previous: str | None = None
    for shot in topology.engine.one_shots(topology):
        wait: dict[str, Gate] = (
            {previous: completed} if previous else dict.fromkeys(members, started)
        )
        if shot.needs_load_balancer:
            wait[topology.load_balancer] = started
        out[shot.name] = wait
        previous = shot.name
    ready: dict[str, Gate] = {previous: completed} if previous else {}
    for component in topology.components:
        if component.migration:
            out[component.migration] = dict(ready)
            out[component.name] = {component.migration: completed}
        elif component.calls:
            out[component.name] = dict.fromkeys(component.calls, started)
        else:
            out[component.name] = dict(ready)
    return out


class StageExecutor(Protocol):
    """What a runtime does for one stage: start its services, then wait until they are done
    (one-shots completed, nodes or servers answering). Raises StageFailed on failure."""

    def start(self, stage: Stage, deadline: Deadline) -> None: ...

    def wait(self, stage: Stage, deadline: Deadline) -> None: ...


def carry_out(
    topology: Topology, executor: StageExecutor, status: Status, deadline: Deadline
) -> None:
    """Walk the chain of `up` with one status line per stage; each wait is bounded by its own
    `timeouts.<stage.timeout>` as well as by the overall deadline."""
    timeouts = topology.settings.timeouts
    for stage in up_stages(topology):
        with status.step(stage.title):
            deadline.require(stage.title, list(stage.services))
            executor.start(stage, deadline)
            executor.wait(stage, deadline.sooner(getattr(timeouts, stage.timeout)))
