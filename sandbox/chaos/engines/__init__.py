"""Each database engine's recovery probe for `sandbox chaos`, by `database.engine` name."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sandbox.chaos.engines.cockroach import CockroachProbe
from sandbox.chaos.engines.postgres import PostgresProbe

if TYPE_CHECKING:
    from sandbox.chaos.cluster import RecoveryProbe
    from sandbox.model.topology import Topology

PROBES: dict[str, Callable[[Topology], RecoveryProbe]] = {
    "cockroachdb": lambda topology: CockroachProbe(),
    "postgres": PostgresProbe,
}


def probe_for(topology: Topology) -> RecoveryProbe:
    return PROBES[topology.engine.name](topology)
