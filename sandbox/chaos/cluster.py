"""SQL through the load balancer for `sandbox chaos`, and the wait for the cluster to recover.

What "recovered" means is the engine's to say: each engine has a `RecoveryProbe`
(`sandbox.chaos.engines`); this module connects, asks it, and polls with the one poll loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sandbox.chaos.watchdog import Watchdog
from sandbox.plan.wait import Deadline, poll_until

if TYPE_CHECKING:
    import psycopg

    from sandbox.chaos.report import Failover


class RecoveryProbe(Protocol):
    """How an engine judges its cluster, over one SQL connection as the engine's superuser."""

    def waiting_for(self, conn: psycopg.Connection[Any], nodes: int) -> str | None:
        """Why the cluster of `nodes` members has not recovered yet, or None once it has."""
        ...

    def zone_member(self, conn: psycopg.Connection[Any], zone: str) -> str:
        """The member serving `zone` (`n2`), for the report."""
        ...

    def placement(self, conn: psycopg.Connection[Any]) -> str:
        """Where the work sits before the fault (leases, the leader), for the report."""
        ...

    def failover(self, access: SqlAccess, fault_at: float) -> Failover | None:
        """The leader change since `fault_at` (a `time.time()`), or None where the engine
        has no single leader."""
        ...


@dataclass(frozen=True)
class SqlAccess:
    """Where and as whom: a host port and a client certificate folder (ca.crt, client.*)."""

    host: str
    port: int
    certs: Path
    user: str = "root"
    database: str = "defaultdb"
    """The database a connection opens when it names none (the engine's `admin_database`)."""

    def conninfo(self, dbname: str | None = None, connect_timeout: int = 5) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "dbname": dbname or self.database,
            "user": self.user,
            "sslmode": "verify-full",
            "sslrootcert": str(self.certs / "ca.crt"),
            "sslcert": str(self.certs / f"client.{self.user}.crt"),
            "sslkey": str(self.certs / f"client.{self.user}.key"),
            "connect_timeout": max(2, connect_timeout),
            "application_name": "sandbox-chaos",
        }

    def connect(self, dbname: str | None = None, timeout: int = 5) -> psycopg.Connection[Any]:
        import psycopg

        return psycopg.connect(**self.conninfo(dbname, timeout), autocommit=True)


def zone_member(access: SqlAccess, probe: RecoveryProbe, zone: str) -> str:
    with access.connect() as conn:
        return probe.zone_member(conn, zone)


def placement(access: SqlAccess, probe: RecoveryProbe) -> str:
    with access.connect(timeout=10) as conn:
        return probe.placement(conn)


def wait_recovered(
    access: SqlAccess,
    probe: RecoveryProbe,
    nodes: int,
    timeout: float,
    interval: float = 0.5,
    on_change: Callable[[str], None] | None = None,
) -> tuple[bool, str]:
    """Poll until the probe finds nothing to wait for; (ok, the last reason). One connection
    is kept across looks and opened again after an error."""
    import psycopg

    held: list[psycopg.Connection[Any]] = []
    watchdog = Watchdog()

    def check() -> dict[str, str]:
        try:
            if not held or held[0].closed:
                held[:] = [access.connect(timeout=3)]
            # A look at a frozen server would never end: its socket is shut after 5 s.
            watchdog.arm(id(held[0]), held[0].pgconn.socket, 5.0)
            try:
                reason = probe.waiting_for(held[0], nodes)
            finally:
                watchdog.disarm(id(held[0]))
        except psycopg.Error as exc:
            reason = f"SQL: {type(exc).__name__}"
            for conn in held:
                conn.close()
            held.clear()
        return {"cluster": reason} if reason else {}

    def changed(waiting: dict[str, str]) -> None:
        if waiting and on_change is not None:
            on_change(waiting["cluster"])

    try:
        waiting = poll_until(check, Deadline.after(timeout), interval, changed)
    finally:
        watchdog.close()
        for conn in held:
            conn.close()
    return not waiting, waiting.get("cluster", "")
