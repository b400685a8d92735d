"""A person's browser, scripted, and the UI's side of the flow played from the host.

The browser keeps one cookie jar for every port of 127.0.0.1 and follows Hydra's redirects
itself, stopping where a page would be shown: the UI's login page (Kratos's browser flow is
then run as the UI runs it: the flow, its CSRF token, the JSON submit), the consent page and
the logout page (accepted through Hydra's admin API, as the UI does), and the client's
redirect URI (the end). So `verify` proves the protocol without a browser or the UI image.
"""

from __future__ import annotations

import http.cookiejar
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from sandbox.oidc.client import OidcError

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
JSON = {"Accept": "application/json"}
MAX_HOPS = 16


class LoopbackSecureCookies(http.cookiejar.DefaultCookiePolicy):
    """Kratos marks its CSRF and session cookies Secure outside dev mode. Browsers send those
    to http://127.0.0.1 (a secure context); Python's jar does not, unless told so here."""

    def return_ok_secure(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        if urlsplit(request.get_full_url()).hostname in LOOPBACK_HOSTS:
            return True
        return bool(super().return_ok_secure(cookie, request))


@dataclass
class Journey:
    """What one run through the flow met on its way to the redirect URI."""

    callback: str = ""
    hops: list[str] = field(default_factory=list)
    login_challenges: int = 0
    consent_challenges: list[str] = field(default_factory=list)
    logout_challenges: int = 0


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _error(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200]
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            return str(err.get("reason") or err.get("message") or err)
        messages = [
            m.get("text", "")
            for m in (body.get("ui", {}) or {}).get("messages", []) or []
            if isinstance(m, dict)
        ]
        return str(err or "; ".join(messages) or body)[:200]
    return str(body)[:200]


class Browser:
    """One person's browser session against the stack (`close` when done)."""

    def __init__(
        self,
        *,
        hydra_admin: str,
        kratos_public: str,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.password_logins = 0
        """How many times this browser submitted Kratos's login form (not counting logins
        Kratos accepted from its session)."""
        self.hydra_admin = hydra_admin.rstrip("/")
        self.kratos_public = kratos_public.rstrip("/")
        self.jar = httpx.Cookies(http.cookiejar.CookieJar(policy=LoopbackSecureCookies()))
        # httpx copies a client's cookies into a jar of the default policy for every request,
        # which drops Secure cookies on http: this jar is kept and sent by the hooks instead.
        self.http = httpx.Client(
            follow_redirects=False,
            timeout=timeout,
            transport=transport,
            event_hooks={"request": [self._send_cookies], "response": [self._keep_cookies]},
        )

    def _send_cookies(self, request: httpx.Request) -> None:
        request.headers.pop("Cookie", None)
        self.jar.set_cookie_header(request)

    def _keep_cookies(self, response: httpx.Response) -> None:
        self.jar.extract_cookies(response)

    def close(self) -> None:
        self.http.close()

    # -- the walk ------------------------------------------------------------------------------

    def walk(
        self,
        start: str,
        until: str,
        *,
        login: Callable[[str], str] | None = None,
        consent: Callable[[str], str] | None = None,
        logout: Callable[[str], str] | None = None,
    ) -> Journey:
        """Follow redirects from `start` until a URL starting with `until`. A page with a
        challenge is handed to `login`/`consent`/`logout`, which return where to go next."""
        journey = Journey()
        url = start
        for _ in range(MAX_HOPS):
            if url.startswith(until):
                journey.callback = url
                return journey
            journey.hops.append(url.split("?", 1)[0])
            query = _query(url)
            if "login_challenge" in query and login is not None and not query.get("flow"):
                journey.login_challenges += 1
                url = login(query["login_challenge"])
                continue
            if "consent_challenge" in query and consent is not None:
                journey.consent_challenges.append(query["consent_challenge"])
                url = consent(query["consent_challenge"])
                continue
            if "logout_challenge" in query and logout is not None:
                journey.logout_challenges += 1
                url = logout(query["logout_challenge"])
                continue
            if "error" in query:
                raise OidcError(
                    f"{url.split('?', 1)[0]} shows error {query['error']}: "
                    f"{query.get('error_description', '')}".rstrip(": ")
                )
            resp = self.http.get(url)
            if resp.status_code not in (301, 302, 303, 307, 308):
                raise OidcError(
                    f"HTTP {resp.status_code} from GET {url.split('?', 1)[0]}: {_error(resp)}"
                )
            url = urljoin(url, resp.headers["location"])
        raise OidcError(f"more than {MAX_HOPS} redirects without reaching {until}")

    # -- the UI's part -------------------------------------------------------------------------

    def kratos_login(self, challenge: str, identifier: str, password: str) -> str:
        """Kratos's browser login flow for Hydra's `challenge`, as the browser and the UI run
        it; returns where Kratos sends the browser next (Hydra's login verifier)."""
        start = f"{self.kratos_public}/self-service/login/browser"
        resp = self.http.get(start, params={"login_challenge": challenge})
        moved = self._moved(resp)
        if not moved:
            raise OidcError(f"HTTP {resp.status_code} from GET {start}: {_error(resp)}")
        flow_id = _query(moved).get("flow")
        if not flow_id:
            return moved  # a Kratos session exists: Kratos accepted Hydra's login itself
        # The UI's login page: it reads the flow server-side with the browser's cookies.
        url = f"{self.kratos_public}/self-service/login/flows"
        resp = self.http.get(url, params={"id": flow_id}, headers=JSON)
        if resp.status_code != 200:
            raise OidcError(f"HTTP {resp.status_code} from GET {url}: {_error(resp)}")
        flow = resp.json()
        csrf = next(
            (
                n["attributes"].get("value", "")
                for n in flow["ui"]["nodes"]
                if n.get("attributes", {}).get("name") == "csrf_token"
            ),
            "",
        )
        body = {
            "method": "password",
            "identifier": identifier,
            "password": password,
            "csrf_token": csrf,
        }
        # The form posts to Kratos; asked for JSON, Kratos answers 422 with the next URL.
        self.password_logins += 1
        resp = self.http.post(flow["ui"]["action"], json=body, headers=JSON)
        moved = self._moved(resp)
        if not moved:
            raise OidcError(f"Kratos refused the login (HTTP {resp.status_code}): {_error(resp)}")
        return moved

    @staticmethod
    def _moved(resp: httpx.Response) -> str | None:
        """Where Kratos sends the browser: a redirect, or (asked for JSON) its 422 answer."""
        if resp.status_code in (302, 303, 307):
            return urljoin(str(resp.request.url), resp.headers["location"])
        if resp.status_code == 422:
            target = resp.json().get("redirect_browser_to")
            return str(target) if target else None
        return None

    def consent_request(self, challenge: str) -> dict[str, Any]:
        url = f"{self.hydra_admin}/admin/oauth2/auth/requests/consent"
        resp = self.http.get(url, params={"consent_challenge": challenge})
        if resp.status_code != 200:
            raise OidcError(f"HTTP {resp.status_code} from GET {url}: {_error(resp)}")
        return dict(resp.json())

    def accept_consent(self, challenge: str, claims: dict[str, Any] | None = None) -> str:
        """Grant what the client asked for, as a person clicking "Allow" on the UI's page."""
        request = self.consent_request(challenge)
        body = {
            "grant_scope": request.get("requested_scope", []),
            "grant_access_token_audience": request.get("requested_access_token_audience", []),
            "remember": False,
            "session": {"id_token": claims or {}},
        }
        return self._put_accept("consent", challenge, body)

    def accept_logout(self, challenge: str) -> str:
        return self._put_accept("logout", challenge, None)

    def _put_accept(self, kind: str, challenge: str, body: dict[str, Any] | None) -> str:
        url = f"{self.hydra_admin}/admin/oauth2/auth/requests/{kind}/accept"
        resp = self.http.put(url, params={f"{kind}_challenge": challenge}, json=body)
        if resp.status_code != 200:
            raise OidcError(f"HTTP {resp.status_code} from PUT {url}: {_error(resp)}")
        return str(resp.json()["redirect_to"])

    def kratos_session(self) -> int:
        """HTTP status of Kratos's whoami with this browser's cookies (200: signed in)."""
        return self.http.get(f"{self.kratos_public}/sessions/whoami", headers=JSON).status_code
