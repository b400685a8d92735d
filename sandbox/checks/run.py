"""What one verification run carries from check to check: targets, HTTP client, learned facts."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox.checks.targets import Targets

if TYPE_CHECKING:
    import httpx


def new_run_id() -> str:
    """Short, unique per run, and safe in an email local part, a client name and an object."""
    return secrets.token_hex(5)


@dataclass
class Run:
    run_id: str
    targets: Targets
    http: httpx.Client
    query: Callable[[str, str, dict[str, Any]], list[dict[str, Any]]] = field(repr=False)
    """(database, sql, params) -> rows as dicts; see `sandbox.checks.verify.Databases`."""
    timeout: float = 10.0
    facts: dict[str, Any] = field(default_factory=dict)
    """What earlier checks learned (client id, identity id, ...), read by later ones."""
    _secrets: set[str] = field(default_factory=set, repr=False)
    _local: threading.local = field(default_factory=threading.local, repr=False)

    def record_sql(self, statement: str) -> None:
        """Keep a statement a check ran, to print it with that check."""
        self.statements().append(statement)

    def statements(self) -> list[str]:
        """The statements recorded in this thread (each service's checks run in one thread,
        so a check's statements are those recorded while it ran)."""
        if not hasattr(self._local, "sql"):
            self._local.sql = []
        found: list[str] = self._local.sql
        return found

    def secret(self, value: str) -> str:
        """Remember a value that must never appear in a reason; returns it."""
        if value:
            self._secrets.add(value)
        return value

    def redact(self, text: str) -> str:
        for value in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(value, "***")
        return text

    def url(self, key: str, path: str) -> str:
        return self.targets.url(key, path)

    @property
    def email(self) -> str:
        return f"verify-{self.run_id}@example.org"

    @property
    def client_name(self) -> str:
        return f"sandbox-verify-{self.run_id}"

    @property
    def document(self) -> str:
        return f"doc-{self.run_id}"
