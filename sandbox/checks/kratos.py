"""Kratos: native (API) registration and login, whoami, logout, and whoami refused after it."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from sandbox.checks.http import CheckFailed, describe, expect, field, json_object
from sandbox.checks.run import Run

if TYPE_CHECKING:
    import httpx

SERVICE = "kratos"


def traits(run: Run) -> dict[str, Any]:
    return {"email": run.email, "name": {"first": "Verify", "last": f"Run-{run.run_id}"}}


def _flow(run: Run, kind: str) -> str:
    resp = run.http.get(run.url("KRATOS_PUBLIC_URL", f"/self-service/{kind}/api"))
    flow_id = field(json_object(expect(resp, 200)), "id", f"{kind} flow")
    if not isinstance(flow_id, str):
        raise CheckFailed(f"{kind} flow: the response's 'id' is not a string")
    return flow_id


def _identity(data: dict[str, Any], what: str) -> dict[str, Any]:
    identity = data.get("identity")
    if not isinstance(identity, dict):
        session = data.get("session")
        identity = session.get("identity") if isinstance(session, dict) else None
    if not isinstance(identity, dict) or not identity.get("id"):
        raise CheckFailed(f"{what}: the response has no identity")
    return identity


def register(run: Run) -> str:
    # Long, random, and unlike the email: passes Kratos's password policy.
    password = run.secret(f"{secrets.token_urlsafe(18)}-Vx9!")
    run.facts["password"] = password
    flow = _flow(run, "registration")
    resp = run.http.post(
        run.url("KRATOS_PUBLIC_URL", "/self-service/registration"),
        params={"flow": flow},
        json={"method": "password", "password": password, "traits": traits(run)},
    )
    data = json_object(expect(resp, 200))
    identity = _identity(data, "registration")
    if identity.get("traits") != traits(run):
        raise CheckFailed("registration returned other traits than were sent")
    run.facts["identity_id"] = identity["id"]
    return f"identity {identity['id']}"


def login(run: Run) -> str:
    flow = _flow(run, "login")
    resp = run.http.post(
        run.url("KRATOS_PUBLIC_URL", "/self-service/login"),
        params={"flow": flow},
        json={"method": "password", "identifier": run.email, "password": run.facts["password"]},
    )
    data = json_object(expect(resp, 200))
    token = run.secret(field(data, "session_token", "login"))
    identity = _identity(data, "login")
    if identity["id"] != run.facts["identity_id"]:
        raise CheckFailed(f"login returned identity {identity['id']}, not the registered one")
    run.facts["session_token"] = token
    return "session token issued"


def _whoami(run: Run, token: str) -> httpx.Response:
    return run.http.get(
        run.url("KRATOS_PUBLIC_URL", "/sessions/whoami"), headers={"X-Session-Token": token}
    )


def whoami(run: Run) -> str:
    data = json_object(expect(_whoami(run, run.facts["session_token"]), 200))
    identity = _identity(data, "whoami")
    if identity["id"] != run.facts["identity_id"]:
        raise CheckFailed(f"whoami returned identity {identity['id']}, not the registered one")
    if identity.get("traits") != traits(run):
        raise CheckFailed("whoami returned other traits than were registered")
    if data.get("active") is not True:
        raise CheckFailed("whoami: the session is not active")
    return "same identity and traits"


def logout(run: Run) -> str:
    resp = run.http.request(
        "DELETE",
        run.url("KRATOS_PUBLIC_URL", "/self-service/logout/api"),
        json={"session_token": run.facts["session_token"]},
    )
    expect(resp, 204)
    return "HTTP 204"


def whoami_refused_after_logout(run: Run) -> str:
    resp = _whoami(run, run.facts["session_token"])
    if resp.status_code == 200:
        raise CheckFailed("HTTP 200 from GET /sessions/whoami: the old session still works")
    if resp.status_code not in (401, 403):
        raise CheckFailed(f"{describe(resp)} (expected 401)")
    return f"HTTP {resp.status_code}"
