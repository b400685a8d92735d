"""The SQL workload: writers and a reader through the load balancer, into the drill's database.

Each write is one explicit transaction inserting a row whose id the client made up
(`<run>-<writer>-<seq>`), so the audit can look for every write by id afterwards. How each
outcome is classified:

    COMMIT returned                      ok
    40001 (transaction retry error)      rolled back and retried with backoff, as CockroachDB's
                                         client documentation says; `retry` in the history
    40003 (result is ambiguous)          info: resolved at audit
    connection lost or deadline during COMMIT   info: the commit may have happened
    anything before COMMIT was sent      fail: the transaction cannot have committed

A server-side timeout cannot help when the gateway itself is frozen, so a watchdog thread
enforces a client-side deadline by shutting the operation's socket down. The reader fetches
keys already acknowledged: a miss is a stale read.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.chaos.checker import Audit, audit
from sandbox.chaos.cluster import SqlAccess
from sandbox.chaos.history import Event, History, Pending, Type
from sandbox.chaos.watchdog import Watchdog

if TYPE_CHECKING:
    import psycopg

WORKLOAD = "sql"
DATABASE = "sandbox_chaos"
TABLE = "writes"
DATABASE_EXISTS = "SELECT 1 FROM pg_database WHERE datname = %s"
"""Both engines have `pg_database`; PostgreSQL has no `CREATE DATABASE IF NOT EXISTS`."""
CREATE_DATABASE = f"CREATE DATABASE {DATABASE}"
CREATE_TABLE = (
    # Forms CockroachDB v20.1 and later accept (and PostgreSQL too).
    f"CREATE TABLE IF NOT EXISTS {TABLE} (id TEXT PRIMARY KEY, run TEXT NOT NULL, "
    "writer INT NOT NULL, seq INT NOT NULL, at TIMESTAMPTZ NOT NULL DEFAULT now())",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_run ON {TABLE} (run)",
)
INSERT = f"INSERT INTO {TABLE} (id, run, writer, seq) VALUES (%s, %s, %s, %s)"
READ = f"SELECT id FROM {TABLE} WHERE id = %s"
AUDIT = f"SELECT id, count(*) FROM {TABLE} WHERE run = %s GROUP BY id"
COUNT = f"SELECT count(*) FROM {TABLE} WHERE run = %s"
MAX_RETRIES = 10


@dataclass(frozen=True)
class SqlWorkloadConfig:
    writers: int = 2
    interval: float = 0.02
    """Seconds between one writer's writes (it never bursts to catch up)."""
    read_interval: float = 0.1
    deadline: float = 3.0
    """Client-side limit on one statement, enforced by closing the socket."""


def classify(exc: BaseException, stage: str, deadline_fired: bool) -> tuple[Type, str]:
    """The outcome of a write that raised `exc` in `stage` (connect, write or commit)."""
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate == "40003":
        return Type.info, "40003 result is ambiguous"
    if sqlstate:
        return (Type.info if stage == "commit" else Type.fail), sqlstate
    if stage == "connect":
        return Type.fail, "connect failed"
    reason = "deadline" if deadline_fired else "connection lost"
    if stage == "commit":
        return Type.info, f"{reason} during commit"
    return Type.fail, reason


class SqlWorkload:
    name = WORKLOAD
    parts = (WORKLOAD,)

    def __init__(
        self,
        access: SqlAccess,
        run_id: str,
        config: SqlWorkloadConfig | None = None,
    ) -> None:
        self.access = access
        self.history = History()
        self.run_id = run_id
        self.config = config or SqlWorkloadConfig()
        self.acknowledged: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.watchdog: Watchdog | None = None

    # ---- setup and audit -----------------------------------------------------------------

    def setup(self) -> None:
        with self.access.connect(timeout=10) as conn:
            if conn.execute(DATABASE_EXISTS, (DATABASE,)).fetchone() is None:
                conn.execute(CREATE_DATABASE)
        self.create_table()

    def create_table(self) -> None:
        with self.access.connect(DATABASE, timeout=10) as conn:
            for statement in CREATE_TABLE:
                conn.execute(statement)

    def found(self, attempts: int = 30) -> Mapping[str, int]:
        """key -> rows with that id, for this run (read once the cluster has recovered; a
        leader that was cut off may still be stepping down, so a lost connection is retried
        for about a minute)."""
        import psycopg

        for attempt in range(attempts):
            try:
                with self.access.connect(DATABASE, timeout=10) as conn:
                    rows = conn.execute(AUDIT, (self.run_id,)).fetchall()
                return {str(k): int(n) for k, n in rows}
            except psycopg.OperationalError:
                if attempt == attempts - 1:
                    raise
                time.sleep(2)
        raise AssertionError("unreachable")

    def audits(self, events: list[Event]) -> list[Audit]:
        return [audit(events, WORKLOAD, self.found(), source="sql")]

    # ---- the load ------------------------------------------------------------------------

    def start(self, history: History) -> None:
        self.history = history
        self.watchdog = Watchdog()
        for i in range(self.config.writers):
            self._spawn(f"sql-{i}", self._writer, i)
        self._spawn("sql-reader", self._reader)

    def _spawn(self, name: str, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=(name, *args), name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.config.deadline + 5)
        if self.watchdog is not None:
            self.watchdog.close()

    def _connect(self) -> psycopg.Connection[Any]:
        return self.access.connect(DATABASE, timeout=int(self.config.deadline + 0.999))

    def _paced(self, interval: float) -> Any:
        """Yield at a steady pace until stopped; a late loop does not burst to catch up."""
        due = time.monotonic()
        while not self._stop.is_set():
            yield
            due += interval
            wait = due - time.monotonic()
            if wait < 0:
                due = time.monotonic()
            elif self._stop.wait(wait):
                return

    def _writer(self, process: str, index: int) -> None:
        conn: psycopg.Connection[Any] | None = None
        for seq, _ in enumerate(self._paced(self.config.interval)):
            key = f"{self.run_id}-{index}-{seq}"
            op = self.history.invoke(process, WORKLOAD, "write", key)
            conn = self._write(op, conn, index, seq)
        if conn is not None:
            conn.close()

    def _write(
        self, op: Pending, conn: psycopg.Connection[Any] | None, writer: int, seq: int
    ) -> psycopg.Connection[Any] | None:
        """One write to its end (ok, fail or info); returns the connection to reuse, if any."""
        import psycopg

        assert self.watchdog is not None
        owner = threading.get_ident()
        backoff = 0.01
        for attempt in range(MAX_RETRIES + 1):
            stage = "connect"
            fired_before = self.watchdog.fired
            try:
                if conn is None or conn.closed:
                    conn = self._connect()
                stage = "write"
                self.watchdog.arm(owner, conn.pgconn.socket, self.config.deadline)
                conn.execute("BEGIN")
                conn.execute(INSERT, (op.key, self.run_id, writer, seq))
                stage = "commit"
                conn.execute("COMMIT")
                self.watchdog.disarm(owner)
                self.history.complete(op, Type.ok)
                with self._lock:
                    self.acknowledged.append(op.key)
                return conn
            except psycopg.Error as exc:
                self.watchdog.disarm(owner)
                fired = self.watchdog.fired != fired_before
                if getattr(exc, "sqlstate", None) == "40001" and attempt < MAX_RETRIES:
                    self.history.retry(op, "40001")
                    conn = _rollback(conn)
                    time.sleep(backoff * (1 + random.random()))
                    backoff = min(backoff * 2, 1.0)
                    continue
                kind, error = classify(exc, stage, fired)
                self.history.complete(op, kind, error=error)
                return _rollback(conn)
        return conn

    def _reader(self, process: str) -> None:
        import psycopg

        assert self.watchdog is not None
        owner = threading.get_ident()
        conn: psycopg.Connection[Any] | None = None
        for _ in self._paced(self.config.read_interval):
            with self._lock:
                if not self.acknowledged:
                    continue
                key = random.choice(self.acknowledged)
            op = self.history.invoke(process, WORKLOAD, "read", key)
            fired_before = self.watchdog.fired
            try:
                if conn is None or conn.closed:
                    conn = self._connect()
                self.watchdog.arm(owner, conn.pgconn.socket, self.config.deadline)
                row = conn.execute(READ, (key,)).fetchone()
                self.watchdog.disarm(owner)
                self.history.complete(op, Type.ok, value="found" if row else "missing")
            except psycopg.Error as exc:
                self.watchdog.disarm(owner)
                fired = self.watchdog.fired != fired_before
                _, error = classify(exc, "read" if conn is not None else "connect", fired)
                self.history.complete(op, Type.fail, error=error)
                conn = _rollback(conn)
        if conn is not None:
            conn.close()


def _rollback(conn: psycopg.Connection[Any] | None) -> psycopg.Connection[Any] | None:
    """Keep a healthy connection (rolled back); drop a broken one."""
    import psycopg

    if conn is None or conn.closed or conn.broken:
        if conn is not None:
            conn.close()
        return None
    try:
        conn.execute("ROLLBACK")
        return conn
    except psycopg.Error:
        conn.close()
        return None
