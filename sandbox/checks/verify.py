"""The plan of `sandbox verify`: which checks, in which order, and what each one needs.

A check whose prerequisite did not pass is skipped with the reason, never run against missing
data. The run passes only when every check passes.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from sandbox.checks import hydra, keto, kratos, oidc, sql
from sandbox.checks.http import CheckFailed
from sandbox.checks.report import Check, Report, Result
from sandbox.checks.run import Run, new_run_id
from sandbox.checks.targets import URL_KEYS, Targets, db_key, mask_password
from sandbox.errors import SandboxError
from sandbox.model.catalog import CATALOG

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class Step:
    name: str
    service: str
    fn: Callable[[Run], str]
    needs: tuple[str, ...] = ()


CORE_PLAN: tuple[Step, ...] = (
    Step("hydra.client.create", "hydra", hydra.create_client),
    Step("hydra.token.issue", "hydra", hydra.issue_token, ("hydra.client.create",)),
    Step("hydra.token.introspect", "hydra", hydra.introspect, ("hydra.token.issue",)),
    Step(
        "hydra.secret.wrong-refused", "hydra", hydra.wrong_secret_refused, ("hydra.client.create",)
    ),
    Step("hydra.token.unknown-inactive", "hydra", hydra.unknown_token_inactive),
    Step("kratos.register", "kratos", kratos.register),
    Step("kratos.login", "kratos", kratos.login, ("kratos.register",)),
    Step("kratos.whoami", "kratos", kratos.whoami, ("kratos.login",)),
    Step("kratos.logout", "kratos", kratos.logout, ("kratos.login",)),
    Step(
        "kratos.whoami.refused-after-logout",
        "kratos",
        kratos.whoami_refused_after_logout,
        ("kratos.logout",),
    ),
    Step("keto.tuples.write", "keto", keto.write),
    Step("keto.check.allowed", "keto", keto.alice_allowed, ("keto.tuples.write",)),
    Step("keto.check.denied", "keto", keto.bob_denied, ("keto.tuples.write",)),
    Step("keto.check.subject-set", "keto", keto.maureen_via_owner, ("keto.tuples.write",)),
    Step("keto.expand", "keto", keto.expand, ("keto.tuples.write",)),
    Step("sql.hydra_client", "sql", sql.hydra_client, ("hydra.client.create",)),
    Step("sql.hydra_oauth2_access", "sql", sql.hydra_access, ("hydra.token.issue",)),
    Step("sql.identities", "sql", sql.kratos_identity, ("kratos.register",)),
    Step("sql.keto_relation_tuples", "sql", sql.keto_tuples, ("keto.tuples.write",)),
)
"""Every API's own checks: machines (client credentials), API clients, relations, storage."""

_CLIENTS = "oidc.clients.create"
_LOGIN = "oidc.login.trusted"
OIDC_PLAN: tuple[Step, ...] = (
    Step(_CLIENTS, "oidc", oidc.register_clients),
    Step(_LOGIN, "oidc", oidc.trusted_login, (_CLIENTS, "kratos.register")),
    Step("oidc.consent.granted", "oidc", oidc.granted_consent, (_LOGIN,)),
    Step("oidc.userinfo", "oidc", oidc.userinfo, (_LOGIN,)),
    Step("oidc.refresh.rotated", "oidc", oidc.refresh_rotates, (_LOGIN,)),
    Step("oidc.pkce.wrong-verifier-refused", "oidc", oidc.wrong_verifier_refused, (_LOGIN,)),
    Step("oidc.code.replay-refused", "oidc", oidc.replayed_code_refused, (_LOGIN,)),
    Step(
        "oidc.redirect.unregistered-refused",
        "oidc",
        oidc.unregistered_redirect_refused,
        (_CLIENTS,),
    ),
    Step("oidc.pkce.required", "oidc", oidc.pkce_required, (_LOGIN,)),
    # Last: it ends the sessions the other OIDC checks sign in with.
    Step("oidc.logout.both-sessions", "oidc", oidc.logout_ends_both_sessions, (_LOGIN,)),
)
"""A person's login: authorization code + PKCE through Hydra, Kratos as the login page."""

PLAN: tuple[Step, ...] = (*CORE_PLAN, *OIDC_PLAN)


def explain(exc: Exception, timeout: float) -> str:
    """One line for an unexpected error: transport and database errors named plainly."""
    module = type(exc).__module__
    if module.startswith("httpx"):
        request = getattr(exc, "_request", None)
        where = f" {request.method} {request.url.copy_with(query=None)}" if request else ""
        kind = type(exc).__name__
        if "Timeout" in kind:
            return f"timed out after {timeout:g}s:{where}"
        if kind == "ConnectError":
            return f"cannot connect:{where} ({exc})"
        return f"{kind}:{where} {exc}".rstrip()
    if module.startswith("psycopg"):
        state = getattr(exc, "sqlstate", None)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"SQL error{f' {state}' if state else ''}: {first}"
    return f"{type(exc).__name__}: {exc}"


def run_plan(
    run: Run,
    plan: Sequence[Step] = PLAN,
    clock: Callable[[], float] = time.perf_counter,
    *,
    parallel: bool = False,
) -> Report:
    """Run the plan; the report lists the checks in plan order either way.

    `parallel` runs each service's checks in a thread of its own, in plan order, each check
    waiting for what it `needs` from other services. The services' waits then overlap (most
    of a run is Kratos hashing passwords, three times, about 0.3 s each with its production
    bcrypt cost); checks of one service never overlap, since later ones read what earlier ones
    leave in `run.facts`."""
    done = {step.name: threading.Event() for step in plan}
    checks: dict[str, Check] = {}

    def one(step: Step) -> None:
        for need in step.needs:
            if need in done:
                done[need].wait()
        checks[step.name] = _check(run, step, checks, clock)
        done[step.name].set()

    if parallel:
        groups: dict[str, list[Step]] = {}
        for step in plan:
            groups.setdefault(step.service, []).append(step)

        def walk(steps: list[Step]) -> None:
            for step in steps:
                one(step)

        threads = [threading.Thread(target=walk, args=(g,), daemon=True) for g in groups.values()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:
        for step in plan:
            one(step)
    report = Report(run_id=run.run_id)
    report.checks.extend(checks[step.name] for step in plan)
    return report


def _check(run: Run, step: Step, earlier: dict[str, Check], clock: Callable[[], float]) -> Check:
    blocked = [n for n in step.needs if n not in earlier or earlier[n].result is not Result.passed]
    if blocked:
        return Check(step.name, step.service, Result.skipped, 0.0, f"needs {', '.join(blocked)}")
    before = len(run.statements())
    start = clock()
    try:
        result, reason = Result.passed, step.fn(run)
    except CheckFailed as exc:
        result, reason = Result.failed, str(exc)
    except Exception as exc:  # any other failure of one check must not stop the rest
        result, reason = Result.failed, explain(exc, run.timeout)
    elapsed = (clock() - start) * 1000
    statements = run.statements()[before:]
    return Check(
        step.name,
        step.service,
        result,
        elapsed,
        run.redact(reason) if reason else None,
        run.redact("\n".join(f"{s};" for s in statements)) or None,
    )


class Databases:
    """`run.query` over psycopg: one connection per database, verified TLS or nothing."""

    def __init__(self, urls: dict[str, str], timeout: float) -> None:
        self.urls = urls
        self.timeout = timeout
        self._conns: dict[str, Any] = {}

    def _connect(self, database: str) -> Any:
        import psycopg
        from psycopg.rows import dict_row

        url = self.urls.get(database)
        if not url:
            raise CheckFailed(
                f"no database URL for {database}: give --database-url, DATABASE_URL or "
                f"{db_key(database)}, or run against a sandbox state directory"
            )
        sslmode = parse_qs(urlsplit(url).query).get("sslmode", [""])[0]
        if sslmode != "verify-full":
            raise CheckFailed(
                f"{db_key(database)} must use sslmode=verify-full, not {sslmode or 'the default'}"
            )
        conn = psycopg.connect(
            url,
            connect_timeout=max(1, math.ceil(self.timeout)),
            autocommit=True,
            row_factory=dict_row,
        )
        if not conn.info.pgconn.ssl_in_use:  # pragma: no cover - libpq enforces verify-full
            conn.close()
            raise CheckFailed(f"{mask_password(url)}: connected without TLS")
        return conn

    def __call__(self, database: str, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        if database not in self._conns:
            self._conns[database] = self._connect(database)
        return list(self._conns[database].execute(query, params).fetchall())

    def close(self) -> None:
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()


def needed_urls(plan: Sequence[Step]) -> list[str]:
    """The URL variables of the components the plan checks (not the login UI: the OIDC checks
    act as the UI themselves, so `verify` needs no browser-facing page)."""
    services = {step.service for step in plan}
    return [p.url_var for c in CATALOG if c.name in services for p in c.ports]


def preflight(targets: Targets, http: httpx.Client, timeout: float) -> None:
    """Fail in seconds, on one line, when no Ory service answers at all."""
    import httpx

    probe = min(timeout, 3.0)
    for key in URL_KEYS:
        if key not in targets.urls:
            continue
        try:
            http.get(targets.url(key, "/health/alive"), timeout=probe)
            return
        except httpx.HTTPError:
            continue
    shown = ", ".join(f"{k}={targets.urls[k]}" for k in URL_KEYS[:1] if k in targets.urls)
    raise SandboxError(
        f"no Ory service answers ({shown}, ...): is the stack up? "
        "Point verify at it with the state directory, the HYDRA_*/KRATOS_*/KETO_* variables "
        "or flags"
    )


def verify(
    targets: Targets,
    *,
    timeout: float = 10.0,
    transport: httpx.BaseTransport | None = None,
    query: Callable[[str, str, dict[str, Any]], list[dict[str, Any]]] | None = None,
    run_id: str | None = None,
    plan: Sequence[Step] = PLAN,
    check_reachable: bool = True,
    parallel: bool = True,
) -> Report:
    """Run every check once against `targets`; data is unique to this run."""
    import httpx

    missing = [k for k in needed_urls(plan) if k not in targets.urls]
    if missing:
        raise SandboxError(f"no URL for {', '.join(missing)}")
    databases: Databases | None = None
    if query is None:
        query = databases = Databases(targets.database_urls, timeout)
    with httpx.Client(timeout=timeout, transport=transport, follow_redirects=False) as http:
        if check_reachable:
            preflight(targets, http, timeout)
        run = Run(
            run_id=run_id or new_run_id(),
            targets=targets,
            http=http,
            query=query,
            timeout=timeout,
        )
        try:
            return run_plan(run, plan, parallel=parallel)
        finally:
            for closer in run.facts.get("closers", []):
                closer.close()
            if databases is not None:
                databases.close()
