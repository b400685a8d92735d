"""Hydra: an OAuth2 client, a client_credentials token, introspection, and two refusals."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from sandbox.checks.http import CheckFailed, describe, expect, field, json_object
from sandbox.checks.run import Run

if TYPE_CHECKING:
    import httpx

SERVICE = "hydra"
GRANT = "client_credentials"


def create_client(run: Run) -> str:
    resp = run.http.post(
        run.url("HYDRA_ADMIN_URL", "/admin/clients"),
        json={
            "client_name": run.client_name,
            "grant_types": [GRANT],
            "response_types": ["token"],
            "token_endpoint_auth_method": "client_secret_basic",
        },
    )
    data = json_object(expect(resp, 201))
    client_id = field(data, "client_id", "client create")
    run.facts["client_secret"] = run.secret(field(data, "client_secret", "client create"))
    run.facts["client_id"] = client_id
    if data.get("grant_types") != [GRANT]:
        raise CheckFailed(f"client created with grant types {data.get('grant_types')}")
    return f"client {client_id}"


def _token(run: Run, secret: str) -> httpx.Response:
    return run.http.post(
        run.url("HYDRA_PUBLIC_URL", "/oauth2/token"),
        data={"grant_type": GRANT},
        auth=(run.facts["client_id"], secret),
    )


def issue_token(run: Run) -> str:
    data = json_object(expect(_token(run, run.facts["client_secret"]), 200))
    token = run.secret(field(data, "access_token", "token"))
    if str(data.get("token_type", "")).lower() != "bearer":
        raise CheckFailed(f"token_type is {data.get('token_type')!r}, expected bearer")
    run.facts["access_token"] = token
    return f"bearer token, expires in {data.get('expires_in')}s"


def _introspect(run: Run, token: str) -> dict[str, Any]:
    resp = run.http.post(
        run.url("HYDRA_ADMIN_URL", "/admin/oauth2/introspect"), data={"token": token}
    )
    return json_object(expect(resp, 200))


def introspect(run: Run) -> str:
    data = _introspect(run, run.facts["access_token"])
    if data.get("active") is not True:
        raise CheckFailed(f"introspection says active={data.get('active')!r}, expected true")
    if data.get("client_id") != run.facts["client_id"]:
        raise CheckFailed(
            f"introspection client_id {data.get('client_id')!r} != {run.facts['client_id']!r}"
        )
    return "active, same client_id"


def wrong_secret_refused(run: Run) -> str:
    wrong = run.secret(secrets.token_urlsafe(24))
    resp = _token(run, wrong)
    if resp.status_code == 200:
        raise CheckFailed("HTTP 200 from POST /oauth2/token: a wrong client secret got a token")
    if resp.status_code not in (400, 401):
        raise CheckFailed(f"{describe(resp)} (expected 401 invalid_client)")
    error = json_object(resp).get("error")
    if error != "invalid_client":
        raise CheckFailed(f"{describe(resp)} (expected error invalid_client, got {error!r})")
    return f"HTTP {resp.status_code} invalid_client"


def unknown_token_inactive(run: Run) -> str:
    made_up = f"ory_at_{secrets.token_urlsafe(32)}.{secrets.token_urlsafe(32)}"
    data = _introspect(run, made_up)
    if data.get("active") is not False:
        raise CheckFailed(f"an unknown token introspects as active={data.get('active')!r}")
    return "active=false"
