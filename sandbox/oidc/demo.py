"""The workshop's login: a demo person in Kratos, a demo client in Hydra, and the page a
browser lands on after logging in.

`sandbox demo` and `sandbox login` call these. Both `ensure_*` functions find before they
create, so a workshop can run them any number of times; the demo password exists only in
Kratos (hashed) and on the terminal that created it: nothing here writes it to a file.

The callback server listens on 127.0.0.1 only, for exactly one answer: it checks the state
before anything else (a callback that is not the answer to this terminal's request must not
have its code exchanged), then exchanges the code with the PKCE verifier and verifies the ID
token against Hydra's JWKS. Its page shows the verified claims, never a token.
"""

from __future__ import annotations

import html
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from sandbox.oidc.client import OidcError, id_token_claims

if TYPE_CHECKING:
    from http.server import BaseHTTPRequestHandler

    import httpx

    from sandbox.oidc.client import Authorization, PublicClient

DEMO_EMAIL = "demo@example.com"
DEMO_NAME = {"first": "Demo", "last": "Person"}
DEMO_CLIENT_ID = "sandbox-demo"
DEMO_CLIENT_NAME = "sandbox-demo"
DEMO_SCOPE = "openid offline_access email profile"
CALLBACK_HOST = "127.0.0.1"
CALLBACK_PATH = "/callback"
DEFAULT_PORT = 8765


def callback_uri(port: int) -> str:
    return f"http://{CALLBACK_HOST}:{port}{CALLBACK_PATH}"


def _refused(resp: httpx.Response, what: str) -> OidcError:
    body = resp.text.strip().replace("\n", " ")[:200]
    return OidcError(f"{what}: HTTP {resp.status_code} {body}".rstrip())


# -- the person ------------------------------------------------------------------------------


def find_identity(http: httpx.Client, kratos_admin_url: str, email: str) -> str | None:
    """The id of the identity whose password identifier is `email`, or None."""
    url = kratos_admin_url.rstrip("/") + "/admin/identities"
    resp = http.get(url, params={"credentials_identifier": email})
    if resp.status_code != 200:
        raise _refused(resp, f"Kratos would not list identities at {url}")
    found = resp.json()
    return str(found[0]["id"]) if isinstance(found, list) and found else None


def ensure_demo_identity(
    http: httpx.Client, kratos_admin_url: str, email: str = DEMO_EMAIL
) -> tuple[str, str | None]:
    """(identity id, password): the password only when this call created the identity, since
    Kratos keeps just its hash; an existing identity is left as it is."""
    existing = find_identity(http, kratos_admin_url, email)
    if existing is not None:
        return existing, None
    password = secrets.token_urlsafe(15)
    url = kratos_admin_url.rstrip("/") + "/admin/identities"
    body = {
        "schema_id": "default",
        "traits": {"email": email, "name": dict(DEMO_NAME)},
        "credentials": {"password": {"config": {"password": password}}},
    }
    resp = http.post(url, json=body)
    if resp.status_code == 409:  # created meanwhile by another run: that one keeps its password
        again = find_identity(http, kratos_admin_url, email)
        if again is not None:
            return again, None
    if resp.status_code != 201:
        raise _refused(resp, f"Kratos would not create the identity {email}")
    return str(resp.json()["id"]), password


# -- the client ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoClient:
    client_id: str
    redirect_uris: list[str]
    created: bool
    updated: bool


def _client_body(redirects: list[str], logouts: list[str]) -> dict[str, Any]:
    return {
        "client_id": DEMO_CLIENT_ID,
        "client_name": DEMO_CLIENT_NAME,
        "token_endpoint_auth_method": "none",  # public: a terminal cannot keep a secret
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": DEMO_SCOPE,
        "redirect_uris": redirects,
        "post_logout_redirect_uris": logouts,
        "skip_consent": False,  # a workshop should see the consent page
    }


def _union(old: Any, new: str) -> list[str]:
    kept = [str(u) for u in old] if isinstance(old, list) else []
    return kept if new in kept else [*kept, new]


def ensure_demo_client(http: httpx.Client, hydra_admin_url: str, redirect_uri: str) -> DemoClient:
    """The demo client under its fixed id, with `redirect_uri` among its redirect URIs (other
    ports' URIs are kept, so `login --port` on two terminals does not undo each other)."""
    base = hydra_admin_url.rstrip("/") + "/admin/clients"
    logout = redirect_uri.rsplit(CALLBACK_PATH, 1)[0] + "/"
    resp = http.get(f"{base}/{DEMO_CLIENT_ID}")
    if resp.status_code == 404:
        body = _client_body([redirect_uri], [logout])
        made = http.post(base, json=body)
        if made.status_code == 201:
            return DemoClient(DEMO_CLIENT_ID, [redirect_uri], created=True, updated=False)
        if made.status_code != 409:  # 409: created meanwhile; fall through to check it
            raise _refused(made, f"Hydra would not create the client {DEMO_CLIENT_ID}")
        resp = http.get(f"{base}/{DEMO_CLIENT_ID}")
    if resp.status_code != 200:
        raise _refused(resp, f"Hydra would not show the client {DEMO_CLIENT_ID}")
    have = resp.json()
    want = _client_body(
        _union(have.get("redirect_uris"), redirect_uri),
        _union(have.get("post_logout_redirect_uris"), logout),
    )
    if all(have.get(k) == v for k, v in want.items()):
        return DemoClient(DEMO_CLIENT_ID, want["redirect_uris"], created=False, updated=False)
    put = http.put(f"{base}/{DEMO_CLIENT_ID}", json=want)
    if put.status_code != 200:
        raise _refused(put, f"Hydra would not update the client {DEMO_CLIENT_ID}")
    return DemoClient(DEMO_CLIENT_ID, want["redirect_uris"], created=False, updated=True)


# -- the callback ----------------------------------------------------------------------------


def exchange_and_verify(
    client: PublicClient, auth: Authorization, jwks: Callable[[], dict[str, Any]]
) -> Callable[[str], dict[str, Any]]:
    """What the callback does with a code: exchange it with the PKCE verifier, then trust the
    ID token only once its signature verifies against the JWKS read now (keys rotate)."""

    def on_code(callback_url: str) -> dict[str, Any]:
        tokens = client.exchange(callback_url, auth)
        return id_token_claims(
            tokens.id_token,
            jwks(),
            issuer=client.provider.issuer,
            client_id=client.client_id,
            nonce=auth.nonce,
        )

    return on_code


@dataclass(frozen=True)
class Outcome:
    """The one callback's result: the verified claims, or one line saying why not."""

    claims: dict[str, Any] | None = None
    error: str | None = None


SIGNED_IN = (
    "Hydra issued a code after Kratos logged you in (and you allowed the demo client on the "
    "consent page); the sandbox exchanged it with the PKCE verifier only this terminal knew; "
    "the ID token's signature was checked against Hydra's JWKS, and its issuer, audience, "
    "expiry and nonce against this login. These are its claims; the tokens themselves stay "
    "in the terminal's memory and are not shown."
)
BAD_STATE = (
    "The state in this callback is not the one in the authorization URL this terminal made. "
    "The state ties the answer to the request: a mismatch means the callback belongs to "
    "another (older, or forged) request, so its code was not exchanged. Run sandbox login "
    "again and open the new URL."
)
DENIED = (
    "Hydra sent the browser back with error=access_denied and no code: the request was "
    "rejected (Deny on the consent page, or a refused login), so there is nothing to exchange. "
    "Run sandbox login again and choose Allow."
)
PROVIDER_ERROR = "Hydra sent the browser back with an error instead of a code: no token issued."
NO_CODE = "The callback carries neither a code nor an error: it is not an answer from Hydra."
NOT_VERIFIED = (
    "Hydra issued a code, but the sandbox could not turn it into a verified ID token, so "
    "nobody is signed in."
)


def _page(title: str, paragraphs: list[tuple[str, str]], claims: dict[str, Any] | None) -> bytes:
    rows = ""
    if claims is not None:
        cells = [
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(_text(v))}</td></tr>"
            for k, v in sorted(claims.items())
        ]
        rows = '<table id="claims">\n' + "\n".join(cells) + "\n</table>\n"
    body = "".join(f'<p id="{pid}">{html.escape(text)}</p>\n' for pid, text in paragraphs)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)} - sandbox login</title></head>\n<body>\n"
        f'<h1 id="title">{html.escape(title)}</h1>\n{body}{rows}</body></html>\n'
    ).encode()


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def answer(
    query: dict[str, str],
    expected_state: str,
    callback_url: str,
    on_code: Callable[[str], dict[str, Any]],
) -> tuple[Outcome, bytes]:
    """The outcome and page for one callback. State first: nothing of a callback that is not
    the answer to this request is believed, its error included."""
    if not secrets.compare_digest(query.get("state", ""), expected_state):
        why = "the callback's state does not match this login's: its code was not exchanged"
        return Outcome(error=why), _page("Login not completed", [("error", BAD_STATE)], None)
    if "error" in query:
        said = query["error"] + (
            f" ({query['error_description']})" if "error_description" in query else ""
        )
        text = DENIED if query["error"] == "access_denied" else PROVIDER_ERROR
        paragraphs = [("error", f"error: {said}"), ("explanation", text)]
        return Outcome(error=f"the login was refused: {said}"), _page(
            "Login refused", paragraphs, None
        )
    if "code" not in query:
        return Outcome(error="the callback has no code"), _page(
            "Login not completed", [("error", NO_CODE)], None
        )
    try:
        claims = dict(on_code(callback_url))
    except OidcError as exc:
        paragraphs = [("error", str(exc)), ("explanation", NOT_VERIFIED)]
        return Outcome(error=str(exc)), _page("Login not completed", paragraphs, None)
    except Exception as exc:  # an unexpected failure still gets a page and one line
        what = f"{type(exc).__name__}: {exc}"
        paragraphs = [("error", what), ("explanation", NOT_VERIFIED)]
        return Outcome(error=what), _page("Login not completed", paragraphs, None)
    return Outcome(claims=claims), _page("Signed in", [("explanation", SIGNED_IN)], claims)


class CallbackServer:
    """One login's redirect URI on 127.0.0.1:`port`. Binding happens here, so a busy port is
    an OSError before anything is registered; `expect` then arms it for one answer."""

    def __init__(self, port: int) -> None:
        from http.server import HTTPServer  # here, not atop: `sandbox --help` imports this module

        self.port = port
        self._done = threading.Event()
        self._outcome: Outcome | None = None
        self._expect: tuple[str, Callable[[str], dict[str, Any]]] | None = None
        self._httpd = HTTPServer((CALLBACK_HOST, port), self._handler())
        self._thread: threading.Thread | None = None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        from http.server import BaseHTTPRequestHandler

        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server._serve(self)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the request line carries the code."""

        return Handler

    def _serve(self, req: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(req.path)
        if parts.path != CALLBACK_PATH or self._expect is None or self._done.is_set():
            page = _page("Not here", [("error", "sandbox login waits on /callback only.")], None)
            self._send(req, 404, page)
            return
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        state, on_code = self._expect
        outcome, page = answer(
            query, state, f"http://{CALLBACK_HOST}:{self.port}{req.path}", on_code
        )
        self._send(req, 200 if outcome.claims is not None else 400, page)
        self._outcome = outcome
        self._done.set()

    @staticmethod
    def _send(req: BaseHTTPRequestHandler, status: int, page: bytes) -> None:
        req.send_response(status)
        req.send_header("Content-Type", "text/html; charset=utf-8")
        req.send_header("Content-Length", str(len(page)))
        req.send_header("Cache-Control", "no-store")
        req.send_header("Referrer-Policy", "no-referrer")  # the URL carried the code
        req.send_header("Content-Security-Policy", "default-src 'none'")
        req.end_headers()
        req.wfile.write(page)

    def expect(self, state: str, on_code: Callable[[str], dict[str, Any]]) -> None:
        self._expect = (state, on_code)
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
            self._thread.start()

    def wait(self, timeout: float) -> Outcome | None:
        """The outcome, or None when no callback came within `timeout` seconds."""
        return self._outcome if self._done.wait(timeout) else None

    def close(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()


def serve_callback(
    port: int, expected_state: str, on_code: Callable[[str], dict[str, Any]]
) -> CallbackServer:
    """Listen on 127.0.0.1:`port` for the one callback with `expected_state` (OSError when the
    port is busy); `close` the result when done."""
    server = CallbackServer(port)
    server.expect(expected_state, on_code)
    return server
