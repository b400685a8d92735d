"""The Ory workload: Keto tuple writes and Kratos identity creations through the admin APIs.

Each write carries a key the client made up (the tuple's object, the identity's email), so it
can be looked for afterwards through the APIs (Keto's list of tuples, Kratos's list of
identities) and in SQL (Keto's and Kratos's own tables), and each source is audited on its
own. A request whose reply never came (a timeout after it was sent) or a 5xx (the service may
have committed before its database call failed) is indeterminate; a refused connection or a
4xx is a definite failure.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.chaos.checker import Audit, audit
from sandbox.chaos.history import Event, History, Pending, Type

if TYPE_CHECKING:
    import httpx

NAMESPACE = "documents"
RELATION = "viewer"
PAGE = 500

Query = Callable[[str, str, tuple[Any, ...]], list[tuple[Any, ...]]]
"""query(database, sql, params) -> rows: how the audit reads Keto's and Kratos's tables."""

KETO_OBJECT_TYPE = """\
SELECT data_type FROM information_schema.columns
WHERE table_name = 'keto_relation_tuples' AND column_name = 'object'"""
KETO_MAPPED = """\
SELECT o.string_representation, count(*)
FROM keto_relation_tuples t JOIN keto_uuid_mappings o ON o.id = t.object
WHERE t.namespace = %s AND o.string_representation LIKE %s
GROUP BY o.string_representation"""
KETO_PLAIN = """\
SELECT t.object, count(*) FROM keto_relation_tuples t
WHERE t.namespace = %s AND t.object LIKE %s GROUP BY t.object"""
KRATOS_IDENTITIES = """\
SELECT traits->>'email', count(*) FROM identities
WHERE traits->>'email' LIKE %s GROUP BY traits->>'email'"""


@dataclass(frozen=True)
class OryUrls:
    keto_read: str
    keto_write: str
    kratos_admin: str


def http_outcome(status: int | None, exc: BaseException | None) -> tuple[Type, str]:
    """ok / fail / info for one admin API write (see the module docstring)."""
    import httpx

    if exc is not None:
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return Type.fail, "connect failed"
        if isinstance(exc, httpx.TimeoutException):
            return Type.info, "timeout after sending"
        return Type.info, f"connection lost ({type(exc).__name__})"
    assert status is not None
    if 200 <= status < 300:
        return Type.ok, ""
    if status >= 500:
        return Type.info, f"HTTP {status}"
    return Type.fail, f"HTTP {status}"


class OryWorkload:
    name = "ory"
    parts = ("keto", "kratos")

    def __init__(
        self,
        urls: OryUrls,
        query: Query,
        run_id: str,
        interval: float = 0.2,
        deadline: float = 5.0,
    ) -> None:
        self.urls = urls
        self.query = query
        self.run_id = run_id
        self.interval = interval
        self.deadline = deadline
        self.history = History()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def keto_key(self, seq: int) -> str:
        return f"chaos-{self.run_id}-{seq}"

    def kratos_key(self, seq: int) -> str:
        return f"chaos-{self.run_id}-{seq}@example.org"

    @property
    def subject(self) -> str:
        return f"chaos:{self.run_id}"

    def _client(self) -> httpx.Client:
        import httpx

        return httpx.Client(timeout=httpx.Timeout(self.deadline), trust_env=False)

    def unavailable(self) -> str | None:
        """Why this workload cannot run here (no real Keto or Kratos answering), or None."""
        import httpx

        checks = (
            (f"{self.urls.keto_read}/relation-tuples", {"namespace": NAMESPACE}, "relation_tuples"),
            (f"{self.urls.kratos_admin}/admin/identities", {"per_page": 1}, None),
        )
        with self._client() as http:
            for url, params, field in checks:
                try:
                    resp = http.get(url, params=params)
                    if resp.status_code != 200:
                        return f"{url} does not answer like Ory (HTTP {resp.status_code})"
                    data = resp.json()
                except (httpx.HTTPError, ValueError) as exc:
                    return f"{url} does not answer like Ory ({type(exc).__name__})"
                if not (isinstance(data, list) if field is None else field in data):
                    return f"{url} does not answer like Ory (unexpected JSON)"
        return None

    # ---- the load ------------------------------------------------------------------------

    def setup(self) -> None:
        problem = self.unavailable()
        if problem is not None:
            from sandbox.errors import SandboxError

            raise SandboxError(f"ory workload: {problem}")

    def start(self, history: History) -> None:
        self.history = history
        for name, target in (("keto", self._keto), ("kratos", self._kratos)):
            thread = threading.Thread(target=target, name=f"{name}-0", daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.deadline + 5)

    def _keto(self) -> None:
        self._run("keto", self._keto_write)

    def _kratos(self) -> None:
        self._run("kratos", self._kratos_write)

    def _run(self, workload: str, write: Callable[[httpx.Client, Pending, int], int]) -> None:
        import httpx

        key_of = self.keto_key if workload == "keto" else self.kratos_key
        with self._client() as http:
            seq = 0
            while not self._stop.is_set():
                op = self.history.invoke(f"{workload}-0", workload, "write", key_of(seq))
                try:
                    status = write(http, op, seq)
                    kind, error = http_outcome(status, None)
                except httpx.HTTPError as exc:
                    kind, error = http_outcome(None, exc)
                self.history.complete(op, kind, error=error)
                seq += 1
                self._stop.wait(self.interval)

    def _keto_write(self, http: httpx.Client, op: Pending, seq: int) -> int:
        body = {
            "namespace": NAMESPACE,
            "object": op.key,
            "relation": RELATION,
            "subject_id": self.subject,
        }
        return http.put(f"{self.urls.keto_write}/admin/relation-tuples", json=body).status_code

    def _kratos_write(self, http: httpx.Client, op: Pending, seq: int) -> int:
        body = {
            "schema_id": "default",
            "traits": {"email": op.key, "name": {"first": "Zone", "last": f"Drill {seq}"}},
        }
        return http.post(f"{self.urls.kratos_admin}/admin/identities", json=body).status_code

    # ---- reading back --------------------------------------------------------------------

    def keto_api(self) -> Counter[str]:
        found: Counter[str] = Counter()
        params: dict[str, Any] = {
            "namespace": NAMESPACE,
            "subject_id": self.subject,
            "page_size": PAGE,
        }
        with self._client() as http:
            while True:
                resp = http.get(f"{self.urls.keto_read}/relation-tuples", params=params)
                resp.raise_for_status()
                data = resp.json()
                found.update(str(t["object"]) for t in data.get("relation_tuples") or [])
                token = data.get("next_page_token")
                if not token:
                    return found
                params["page_token"] = token

    def kratos_api(self) -> Counter[str]:
        found: Counter[str] = Counter()
        marker = f"chaos-{self.run_id}-"
        url: str | None = f"{self.urls.kratos_admin}/admin/identities"
        params: dict[str, Any] | None = {"per_page": PAGE, "page_size": PAGE}
        with self._client() as http:
            while url is not None:
                resp = http.get(url, params=params)
                resp.raise_for_status()
                for identity in resp.json():
                    email = str((identity.get("traits") or {}).get("email", ""))
                    if email.startswith(marker):
                        found[email] += 1
                nxt = resp.links.get("next", {}).get("url")
                url, params = (str(resp.url.join(nxt)), None) if nxt else (None, None)
        return found

    def keto_sql(self) -> dict[str, int]:
        kind = self.query("keto", KETO_OBJECT_TYPE, ())
        mapped = bool(kind) and str(kind[0][0]).lower() == "uuid"
        sql = KETO_MAPPED if mapped else KETO_PLAIN
        rows = self.query("keto", sql, (NAMESPACE, f"chaos-{self.run_id}-%"))
        return {str(k): int(n) for k, n in rows}

    def kratos_sql(self) -> dict[str, int]:
        rows = self.query("kratos", KRATOS_IDENTITIES, (f"chaos-{self.run_id}-%",))
        return {str(k): int(n) for k, n in rows}

    def audits(self, events: list[Event]) -> list[Audit]:
        sources: list[tuple[str, str, Mapping[str, int]]] = [
            ("keto", "api", self.keto_api()),
            ("keto", "sql", self.keto_sql()),
            ("kratos", "api", self.kratos_api()),
            ("kratos", "sql", self.kratos_sql()),
        ]
        return [audit(events, w, found, source=src) for w, src, found in sources]
