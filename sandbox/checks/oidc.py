"""OIDC for people: the authorization-code flow with PKCE through Hydra, logging in with Kratos.

Two public clients (no secret, PKCE S256 enforced) are registered per run: a trusted one
(`skip_consent`) and an untrusted one whose consent is granted explicitly. The person is the
identity `kratos.register` created; the login runs Kratos's browser flow for Hydra's login
challenge with a cookie jar and its CSRF token, as the UI does (`sandbox.oidc.browser`). The ID
token is verified against Hydra's JWKS. The refusals are checked too: a wrong PKCE verifier,
a replayed code (whose tokens Hydra then revokes), an unregistered redirect URI, and a public
client without PKCE.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.checks.http import CheckFailed, expect, json_object
from sandbox.checks.run import Run
from sandbox.oidc.browser import Browser, Journey
from sandbox.oidc.client import (
    Authorization,
    OidcError,
    Provider,
    PublicClient,
    Tokens,
    id_token_claims,
    signing_key_id,
)

SERVICE = "oidc"
SCOPE = "openid offline_access email"
REDIRECT_URI = "http://127.0.0.1/sandbox-verify/callback"
"""Registered for the run's clients; never requested (the browser stops at it)."""
UNREGISTERED_URI = "http://127.0.0.1/sandbox-verify/not-registered"


@dataclass
class Flow:
    """What the OIDC checks share within one run."""

    provider: Provider
    jwks: dict[str, Any]
    browser: Browser
    clients: dict[str, PublicClient] = field(default_factory=dict)
    tokens: Tokens | None = None
    subject: str = ""

    def close(self) -> None:
        self.browser.close()
        for client in self.clients.values():
            client.close()


def _flow(run: Run) -> Flow:
    flow = run.facts.get("oidc")
    if not isinstance(flow, Flow):
        raise CheckFailed("no OIDC clients were registered")
    return flow


def _register(run: Run, name: str, trusted: bool) -> str:
    body = {
        "client_name": f"{run.client_name}-{name}",
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": SCOPE,
        "redirect_uris": [REDIRECT_URI],
        "post_logout_redirect_uris": [REDIRECT_URI],
        "skip_consent": trusted,
    }
    resp = run.http.post(run.url("HYDRA_ADMIN_URL", "/admin/clients"), json=body)
    client_id = json_object(expect(resp, 201)).get("client_id")
    if not isinstance(client_id, str):
        raise CheckFailed("Hydra created a client without a client_id")
    return client_id


def register_clients(run: Run) -> str:
    provider = Provider.discover(run.http, run.url("HYDRA_PUBLIC_URL", "/"))
    jwks = json_object(expect(run.http.get(provider.jwks_uri), 200))
    browser = Browser(
        hydra_admin=run.url("HYDRA_ADMIN_URL", "/"),
        kratos_public=run.url("KRATOS_PUBLIC_URL", "/"),
        timeout=run.timeout,
    )
    flow = Flow(provider=provider, jwks=jwks, browser=browser)
    run.facts["oidc"] = flow
    run.facts.setdefault("closers", []).append(flow)
    for name, trusted in (("trusted", True), ("untrusted", False)):
        client_id = _register(run, name, trusted)
        flow.clients[name] = PublicClient(
            provider, client_id, REDIRECT_URI, SCOPE, timeout=run.timeout
        )
    return f"public clients {flow.clients['trusted'].client_id} (trusted), " + (
        f"{flow.clients['untrusted'].client_id}; issuer {provider.issuer}"
    )


def _login(run: Run, flow: Flow, auth: Authorization) -> tuple[Journey, int]:
    """Walk the flow as the person and the UI would; returns the journey and how many consent
    pages the UI had to show (none for a trusted client or a remembered consent)."""
    email, password = run.email, str(run.facts.get("password", ""))
    pages = 0

    def consent(challenge: str) -> str:
        nonlocal pages
        request = flow.browser.consent_request(challenge)
        client = request.get("client") or {}
        if not (request.get("skip") or client.get("skip_consent")):
            pages += 1  # the person reads the page and clicks "Allow"
        return flow.browser.accept_consent(challenge, {"email": email})

    journey = flow.browser.walk(
        auth.url,
        REDIRECT_URI,
        login=lambda challenge: flow.browser.kratos_login(challenge, email, password),
        consent=consent,
    )
    return journey, pages


def _through_login(
    run: Run, name: str, *, pkce: bool = True
) -> tuple[Flow, PublicClient, Authorization, Journey, int]:
    """A new authorization request of client `name`, walked to its redirect URI."""
    flow = _flow(run)
    client = flow.clients[name]
    auth = client.begin(pkce=pkce)
    journey, pages = _login(run, flow, auth)
    return flow, client, auth, journey, pages


def _verified(
    run: Run, flow: Flow, client: PublicClient, auth: Authorization, tokens: Tokens
) -> dict[str, Any]:
    try:
        return id_token_claims(
            tokens.id_token,
            flow.jwks,
            issuer=flow.provider.issuer,
            client_id=client.client_id,
            nonce=auth.nonce,
            subject=str(run.facts.get("identity_id", "")),
        )
    except OidcError as exc:
        raise CheckFailed(str(exc)) from None


def trusted_login(run: Run) -> str:
    flow, client, auth, journey, pages = _through_login(run, "trusted")
    if journey.login_challenges != 1:
        raise CheckFailed(f"Hydra asked for a login {journey.login_challenges} times, not once")
    if pages:
        raise CheckFailed("the consent page would be shown to a client with skip_consent")
    tokens = client.exchange(journey.callback, auth)
    run.secret(tokens.access_token)
    run.secret(tokens.id_token)
    run.secret(tokens.refresh_token or "")
    claims = _verified(run, flow, client, auth, tokens)
    flow.tokens, flow.subject = tokens, str(claims["sub"])
    run.facts["oidc_id_token"] = tokens.id_token
    return (
        f"sub {claims['sub']} (the Kratos identity), consent skipped, ID token "
        f"{signing_key_id(tokens.id_token)} verified against the JWKS"
    )


def granted_consent(run: Run) -> str:
    logins = _flow(run).browser.password_logins
    flow, client, auth, journey, pages = _through_login(run, "untrusted")
    if pages != 1:
        raise CheckFailed("Hydra did not ask an untrusted client's user for consent")
    tokens = client.exchange(journey.callback, auth)
    run.secret(tokens.access_token)
    claims = _verified(run, flow, client, auth, tokens)
    if claims.get("email") != run.email:
        raise CheckFailed(
            f"the ID token carries email {claims.get('email')!r}, not the granted one"
        )
    how = "the Kratos session" if flow.browser.password_logins == logins else "a password"
    return f"consent granted for {tokens.scope!r}; signed in again by {how}; email claim present"


def userinfo(run: Run) -> str:
    flow = _flow(run)
    if flow.tokens is None:
        raise CheckFailed("no tokens")
    resp = run.http.get(
        flow.provider.userinfo_endpoint,
        headers={"Authorization": f"Bearer {flow.tokens.access_token}"},
    )
    sub = json_object(expect(resp, 200)).get("sub")
    if sub != flow.subject:
        raise CheckFailed(f"/userinfo names sub {sub!r}, not {flow.subject!r}")
    return f"sub {sub}"


def refresh_rotates(run: Run) -> str:
    flow = _flow(run)
    client = flow.clients["trusted"]
    if flow.tokens is None or not flow.tokens.refresh_token:
        raise CheckFailed("no refresh token was issued for offline_access")
    old = flow.tokens.refresh_token
    fresh = client.refresh(old)
    run.secret(fresh.access_token)
    run.secret(fresh.refresh_token or "")
    if not fresh.refresh_token or fresh.refresh_token == old:
        raise CheckFailed("the refresh did not rotate the refresh token")
    flow.tokens = fresh
    return "a new access and refresh token; the old refresh token is spent"


def wrong_verifier_refused(run: Run) -> str:
    _, client, auth, journey, _ = _through_login(run, "trusted")
    try:
        client.exchange(journey.callback, auth, verifier=tampered(auth.verifier))
    except OidcError as exc:
        return f"refused: {exc}"
    raise CheckFailed("Hydra exchanged a code for a wrong PKCE verifier")


def tampered(verifier: str) -> str:
    """Another verifier of the same shape (the last character changed)."""
    return verifier[:-1] + ("A" if verifier[-1] != "A" else "B")


def replayed_code_refused(run: Run) -> str:
    flow, client, auth, journey, _ = _through_login(run, "trusted")
    first = client.exchange(journey.callback, auth)
    run.secret(first.access_token)
    try:
        client.exchange(journey.callback, auth)
    except OidcError as exc:
        refused = str(exc)
    else:
        raise CheckFailed("Hydra exchanged the same code twice")
    resp = run.http.get(
        flow.provider.userinfo_endpoint, headers={"Authorization": f"Bearer {first.access_token}"}
    )
    if resp.status_code != 401:
        raise CheckFailed(
            "after the replay, the first exchange's access token still works "
            f"(HTTP {resp.status_code})"
        )
    return f"refused: {refused}; the tokens of the first exchange were revoked"


def unregistered_redirect_refused(run: Run) -> str:
    """Hydra must answer with an error, neither sending the browser there nor to the login."""
    flow = _flow(run)
    auth = flow.clients["trusted"].begin(redirect_uri=UNREGISTERED_URI)
    resp = flow.browser.http.get(auth.url)
    location = resp.headers.get("location", "")
    if location.startswith(UNREGISTERED_URI) or "login_challenge" in location:
        raise CheckFailed("Hydra accepted a redirect URI the client never registered")
    error = parse_qs(urlsplit(location).query).get("error", ["HTTP " + str(resp.status_code)])
    return f"refused: {error[0]}, nothing sent to the unregistered URI"


def pkce_required(run: Run) -> str:
    """Hydra checks PKCE when it issues the code, after login and consent: the flow must end
    at the redirect URI with an error and no code."""
    *_, journey, _ = _through_login(run, "trusted", pkce=False)
    answer = parse_qs(urlsplit(journey.callback).query)
    if "code" in answer or "error" not in answer:
        raise CheckFailed("Hydra issued a code to a public client that sent no PKCE challenge")
    return f"refused: {answer['error'][0]} at the redirect URI, no code"


def logout_ends_both_sessions(run: Run) -> str:
    flow = _flow(run)
    id_token = str(run.facts.get("oidc_id_token", ""))
    if flow.browser.kratos_session() != 200:
        raise CheckFailed("the browser had no Kratos session before logging out")
    start = flow.browser.http.build_request(
        "GET",
        flow.provider.end_session_endpoint,
        params={
            "id_token_hint": id_token,
            "post_logout_redirect_uri": REDIRECT_URI,
            "state": run.run_id,
        },
    ).url
    journey = flow.browser.walk(str(start), REDIRECT_URI, logout=flow.browser.accept_logout)
    if journey.logout_challenges != 1:
        raise CheckFailed("Hydra did not ask the UI to confirm the logout")
    status = flow.browser.kratos_session()
    if status != 401:
        raise CheckFailed(f"Kratos still answers whoami with HTTP {status} after the logout")
    return "Hydra's and Kratos's sessions both ended; back at the post-logout URI"
