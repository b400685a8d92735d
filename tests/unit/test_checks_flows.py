"""Every check against an in-memory fake of the Ory APIs (httpx.MockTransport) and a fake
database: the whole plan passes on a faithful fake, and each fault makes the right check fail
with a clear reason, its dependents skip, and no secret leaks into the report."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from sandbox.checks import sql
from sandbox.checks.report import Report, Result
from sandbox.checks.targets import resolve
from sandbox.checks.verify import CORE_PLAN, verify
from sandbox.errors import SandboxError

URLS = {
    "HYDRA_PUBLIC_URL": "http://hydra-public.test",
    "HYDRA_ADMIN_URL": "http://hydra-admin.test",
    "KRATOS_PUBLIC_URL": "http://kratos-public.test",
    "KRATOS_ADMIN_URL": "http://kratos-admin.test",
    "KETO_READ_REMOTE": "http://keto-read.test",
    "KETO_WRITE_REMOTE": "http://keto-write.test",
}
DB = "postgresql://ory:pw@db.test:26257/x?sslmode=verify-full&sslrootcert=/ca.crt"


def _json(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, json=body)


class FakeOry:
    """Just enough of Hydra, Kratos and Keto; `faults` breaks one behaviour at a time."""

    def __init__(self, *faults: str) -> None:
        self.faults = set(faults)
        self.clients: dict[str, str] = {}
        self.tokens: dict[str, str] = {}  # token -> client id
        self.identities: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, str] = {}  # session token -> identity id
        self.tuples: list[dict[str, Any]] = []
        self.requests: list[httpx.Request] = []

    # -- hydra --
    def create_client(self, body: dict[str, Any]) -> httpx.Response:
        if "client-500" in self.faults:
            return _json(500, {"error": {"message": "database is locked"}})
        cid, secret = str(uuid.uuid4()), uuid.uuid4().hex
        self.clients[cid] = secret
        grants = ["authorization_code"] if "grant-mismatch" in self.faults else body["grant_types"]
        return _json(201, {"client_id": cid, "client_secret": secret, "grant_types": grants})

    def token(self, request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("authorization", "")
        cid, _, secret = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
        ok = self.clients.get(cid) == secret or "wrong-secret-accepted" in self.faults
        if not ok:
            return _json(401, {"error": "invalid_client", "error_description": "auth failed"})
        token = f"ory_at_{uuid.uuid4().hex}.{uuid.uuid4().hex}"
        self.tokens[token] = cid
        return _json(200, {"access_token": token, "token_type": "bearer", "expires_in": 3599})

    def introspect(self, request: httpx.Request) -> httpx.Response:
        token = parse_qs(request.content.decode())["token"][0]
        if token in self.tokens and "introspect-inactive" not in self.faults:
            cid = "someone-else" if "introspect-other-client" in self.faults else self.tokens[token]
            return _json(200, {"active": True, "client_id": cid})
        return _json(200, {"active": "unknown-active" in self.faults})

    # -- kratos --
    def register(self, body: dict[str, Any]) -> httpx.Response:
        if "register-400" in self.faults:
            ui = {"messages": [{"text": "The password can not be used because it is too short."}]}
            return _json(400, {"id": "flow", "ui": ui})
        iid = str(uuid.uuid4())
        self.identities[iid] = {"traits": body["traits"], "password": body["password"]}
        return _json(200, {"identity": {"id": iid, "traits": body["traits"]}})

    def login(self, body: dict[str, Any]) -> httpx.Response:
        for iid, ident in self.identities.items():
            if ident["traits"]["email"] == body["identifier"]:
                if ident["password"] != body["password"]:
                    break
                token = f"ory_st_{uuid.uuid4().hex}"
                self.sessions[token] = iid
                return _json(200, {"session_token": token, "session": {"identity": {"id": iid}}})
        return _json(400, {"error": {"message": "credentials invalid"}})

    def whoami(self, request: httpx.Request) -> httpx.Response:
        iid = self.sessions.get(request.headers.get("x-session-token", ""))
        if iid is None:
            return _json(401, {"error": {"code": 401, "message": "No valid session"}})
        traits = dict(self.identities[iid]["traits"])
        if "whoami-other-traits" in self.faults:
            traits["email"] = "someone@else.test"
        return _json(200, {"active": True, "identity": {"id": iid, "traits": traits}})

    def logout(self, body: dict[str, Any]) -> httpx.Response:
        if "logout-noop" not in self.faults:
            self.sessions.pop(body["session_token"], None)
        return httpx.Response(204)

    # -- keto --
    def allowed(self, obj: str, relation: str, subject: str, depth: int = 3) -> bool:
        for t in self.tuples:
            if (t["object"], t["relation"]) != (obj, relation) or depth == 0:
                continue
            if t.get("subject_id") == subject:
                return True
            s = t.get("subject_set")
            if s and self.allowed(s["object"], s["relation"], subject, depth - 1):
                return True
        return False

    def expand(self, obj: str, relation: str) -> dict[str, Any]:
        children = []
        for t in self.tuples:
            if (t["object"], t["relation"]) != (obj, relation):
                continue
            if "subject_id" in t:
                children.append({"type": "leaf", "tuple": {"subject_id": t["subject_id"]}})
            elif "expand-no-subject-set" not in self.faults:
                s = t["subject_set"]
                node = self.expand(s["object"], s["relation"])
                children.append({**node, "tuple": {"subject_set": s}})
        return {"type": "union", "children": children}

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        host, path, method = request.url.host, request.url.path, request.method
        body = json.loads(request.content) if request.content.startswith(b"{") else {}
        if path == "/health/alive":
            return httpx.Response(200)
        routes = {
            ("hydra-admin.test", "POST", "/admin/clients"): lambda: self.create_client(body),
            ("hydra-public.test", "POST", "/oauth2/token"): lambda: self.token(request),
            ("hydra-admin.test", "POST", "/admin/oauth2/introspect"): lambda: self.introspect(
                request
            ),
            ("kratos-public.test", "GET", "/self-service/registration/api"): lambda: _json(
                200, {"id": "reg"}
            ),
            ("kratos-public.test", "POST", "/self-service/registration"): lambda: self.register(
                body
            ),
            ("kratos-public.test", "GET", "/self-service/login/api"): lambda: _json(
                200, {"id": "login"}
            ),
            ("kratos-public.test", "POST", "/self-service/login"): lambda: self.login(body),
            ("kratos-public.test", "GET", "/sessions/whoami"): lambda: self.whoami(request),
            ("kratos-public.test", "DELETE", "/self-service/logout/api"): lambda: self.logout(body),
        }
        if (host, method, path) in routes:
            return routes[(host, method, path)]()
        if (host, method, path) == ("keto-write.test", "PUT", "/admin/relation-tuples"):
            if "keto-namespace-404" in self.faults:
                return _json(404, {"error": {"message": "Unknown namespace with name documents"}})
            self.tuples.append(body)
            return _json(201, body)
        q = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
        if (host, path) == ("keto-read.test", "/relation-tuples/check"):
            allowed = self.allowed(q["object"], q["relation"], q["subject_id"])
            if "bob-granted" in self.faults and q["subject_id"] == "user:bob":
                allowed = True
            if "check-500" in self.faults:
                return _json(500, {"error": {"message": "boom"}})
            return _json(200 if allowed else 403, {"allowed": allowed})
        if (host, path) == ("keto-read.test", "/relation-tuples/expand"):
            tree = self.expand(q["object"], q["relation"])
            return _json(200, tree)
        return _json(404, {"error": {"message": f"no route {method} {path}"}})

    # -- the database behind it --
    def query(self, database: str, statement: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        if "sql-error" in self.faults:
            raise RuntimeError("relation does not exist")
        if statement == sql.HYDRA_CLIENT and "client-row-deleted" not in self.faults:
            cid = params["client_id"]
            stored = (
                self.clients[cid] if "secret-plain" in self.faults else "$pbkdf2-sha256$i=1$s$h"
            )
            grants = ["client_credentials"]
            return [{"id": cid, "client_secret": stored, "grant_types": grants}]
        if statement == sql.HYDRA_ACCESS:
            rows = []
            for token, cid in self.tokens.items():
                hashed, _ = sql.token_signatures(token)
                if hashed == params["signature"] and "access-row-deleted" not in self.faults:
                    active = "access-inactive" not in self.faults
                    rows.append({"request_id": "req-1", "client_id": cid, "active": active})
            return rows
        if statement == sql.KRATOS_IDENTITY:
            ident = self.identities.get(params["identity_id"])
            if ident is None:
                return []
            config = {"hashed_password": "$2a$12$abcdefghijklmnopqrstuv"}
            if "password-plain" in self.faults:
                config = {"hashed_password": ident["password"]}
            return [
                {
                    "id": params["identity_id"],
                    "traits": json.dumps(ident["traits"]),  # a TEXT column in some schemas
                    "credential_type": "password",
                    "identifier": ident["traits"]["email"],
                    "credential_config": config,
                }
            ]
        if statement == sql.KETO_OBJECT_TYPE:
            return [{"data_type": "uuid"}]
        if statement == sql.KETO_TUPLES_MAPPED:
            rows = []
            for t in self.tuples:
                if t["object"] != params["object"]:
                    continue
                s = t.get("subject_set") or {}
                rows.append(
                    {
                        "namespace": t["namespace"],
                        "object": t["object"],
                        "relation": t["relation"],
                        "subject_id": t.get("subject_id"),
                        "subject_set_namespace": s.get("namespace"),
                        "subject_set_object": s.get("object"),
                        "subject_set_relation": s.get("relation"),
                    }
                )
            return rows[1:] if "tuple-row-deleted" in self.faults else rows
        return []


def run_fake(*faults: str) -> tuple[Report, FakeOry]:
    fake = FakeOry(*faults)
    targets = resolve([("flag", {**URLS, "DATABASE_URL": DB})])
    report = verify(
        targets, transport=httpx.MockTransport(fake.handler), query=fake.query, plan=CORE_PLAN
    )
    return report, fake


def by_name(report: Report) -> dict[str, Any]:
    return {c.name: c for c in report.checks}


def secrets_of(fake: FakeOry) -> list[str]:
    found = list(fake.clients.values()) + list(fake.tokens) + list(fake.sessions)
    found += [i["password"] for i in fake.identities.values()]
    return [s for s in found if s]


def test_everything_passes_against_a_faithful_fake() -> None:
    report, fake = run_fake()
    failed = [(c.name, c.reason) for c in report.checks if c.result is not Result.passed]
    assert failed == []
    assert report.ok and report.exit_code == 0
    assert {c.service for c in report.checks} == {"hydra", "kratos", "keto", "sql"}
    assert len(report.checks) == 19
    dumped = json.dumps(report.as_dict())
    for secret in secrets_of(fake):
        assert secret not in dumped


def test_run_data_is_unique_per_run() -> None:
    first, fake1 = run_fake()
    second, fake2 = run_fake()
    assert first.run_id != second.run_id
    emails = [next(iter(f.identities.values()))["traits"]["email"] for f in (fake1, fake2)]
    assert emails[0] != emails[1]
    assert fake1.tuples[0]["object"] != fake2.tuples[0]["object"]


FAULTS = [
    ("client-500", "hydra.client.create", "HTTP 500 from POST /admin/clients: database is locked"),
    ("grant-mismatch", "hydra.client.create", "grant types ['authorization_code']"),
    ("introspect-inactive", "hydra.token.introspect", "active=False"),
    ("introspect-other-client", "hydra.token.introspect", "'someone-else'"),
    ("wrong-secret-accepted", "hydra.secret.wrong-refused", "a wrong client secret got a token"),
    ("unknown-active", "hydra.token.unknown-inactive", "introspects as active=True"),
    ("register-400", "kratos.register", "HTTP 400 from POST /self-service/registration: The pass"),
    ("whoami-other-traits", "kratos.whoami", "other traits"),
    ("logout-noop", "kratos.whoami.refused-after-logout", "the old session still works"),
    ("keto-namespace-404", "keto.tuples.write", "HTTP 404 from PUT /admin/relation-tuples"),
    ("bob-granted", "keto.check.denied", "user:bob is ALLOWED"),
    ("check-500", "keto.check.allowed", "HTTP 500 from GET /relation-tuples/check"),
    ("expand-no-subject-set", "keto.expand", "lacks user:maureen via #owner"),
    ("client-row-deleted", "sql.hydra_client", "0 rows for client"),
    ("secret-plain", "sql.hydra_client", "stored in plain text"),
    ("access-row-deleted", "sql.hydra_oauth2_access", "0 rows for the token"),
    ("access-inactive", "sql.hydra_oauth2_access", "active is False"),
    ("password-plain", "sql.identities", "the plain password is stored"),
    ("tuple-row-deleted", "sql.keto_relation_tuples", "missing ['documents:doc-"),
    ("sql-error", "sql.hydra_client", "RuntimeError: relation does not exist"),
]


@pytest.mark.parametrize(("fault", "check", "reason"), FAULTS, ids=[f[0] for f in FAULTS])
def test_each_fault_fails_its_check_with_a_reason(fault: str, check: str, reason: str) -> None:
    report, fake = run_fake(fault)
    result = by_name(report)[check]
    assert result.result is Result.failed, result
    assert reason in (result.reason or "")
    assert not report.ok and report.exit_code == 1
    dumped = json.dumps(report.as_dict())
    for secret in secrets_of(fake):
        assert secret not in dumped


def test_dependents_of_a_failed_check_are_skipped_not_run() -> None:
    report, fake = run_fake("client-500")
    checks = by_name(report)
    for name in ("hydra.token.issue", "hydra.secret.wrong-refused", "sql.hydra_client"):
        assert checks[name].result is Result.skipped
        assert checks[name].reason == "needs hydra.client.create"
    assert checks["hydra.token.introspect"].reason == "needs hydra.token.issue"
    assert checks["hydra.token.unknown-inactive"].result is Result.passed  # independent
    assert not any(r.url.path == "/oauth2/token" for r in fake.requests)


def test_keto_denial_is_a_pass_for_the_deny_check_only() -> None:
    report, _ = run_fake()
    checks = by_name(report)
    assert checks["keto.check.denied"].result is Result.passed
    assert "403" in (checks["keto.check.denied"].reason or "")


def test_sql_checks_record_the_exact_statements() -> None:
    report, fake = run_fake()
    client_id = next(iter(fake.clients))
    sql_text = by_name(report)["sql.hydra_client"].sql or ""
    assert sql_text == sql.render(sql.HYDRA_CLIENT, {"client_id": client_id}) + ";"
    keto_sql = by_name(report)["sql.keto_relation_tuples"].sql or ""
    assert "keto_uuid_mappings" in keto_sql and "information_schema.columns" in keto_sql


def test_unreachable_stack_fails_fast_with_one_line() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    targets = resolve([("flag", URLS)])
    with pytest.raises(SandboxError, match="no Ory service answers") as info:
        verify(targets, transport=httpx.MockTransport(refuse), query=lambda *a: [], plan=CORE_PLAN)
    assert "\n" not in info.value.message


def test_transport_errors_become_reasons_naming_the_request() -> None:
    def flaky(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/health/alive":
            return httpx.Response(200)
        if request.url.host == "kratos-public.test":
            raise httpx.ReadTimeout("timed out", request=request)
        raise httpx.ConnectError("connection refused", request=request)

    targets = resolve([("flag", URLS)])
    report = verify(
        targets,
        transport=httpx.MockTransport(flaky),
        query=lambda *a: [],
        timeout=2,
        plan=CORE_PLAN,
    )
    checks = by_name(report)
    assert checks["kratos.register"].reason == (
        "timed out after 2s: GET http://kratos-public.test/self-service/registration/api"
    )
    assert (checks["hydra.client.create"].reason or "").startswith(
        "cannot connect: POST http://hydra-admin.test/admin/clients"
    )
