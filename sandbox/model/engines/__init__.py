"""The database engines the sandbox can run, by their `database.engine` name."""

from __future__ import annotations

from collections.abc import Callable

from sandbox.model.engines.base import DatabaseEngine
from sandbox.model.engines.cockroach import CockroachEngine
from sandbox.model.engines.postgres import PostgresEngine

ENGINES: dict[str, Callable[[], DatabaseEngine]] = {
    CockroachEngine.name: CockroachEngine,
    PostgresEngine.name: PostgresEngine,
}


def engine_for(name: str) -> DatabaseEngine:
    return ENGINES[name]()
