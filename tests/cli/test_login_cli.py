"""`sandbox login`'s error paths, without a stack: a busy port, a callback with a wrong state,
a refused consent, a callback that never comes, and an ID token signed by a key that is not
Hydra's. The command runs for real (a subprocess) against a small fake of Hydra's HTTP API;
the forged-signature case drives the callback server in-process with a faked token endpoint.
The happy path runs against real Hydra and Kratos in tests/integration/test_browser_login.py.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from sandbox.oidc.client import Provider, PublicClient
from sandbox.oidc.demo import exchange_and_verify, serve_callback
from tests.support.cli import run_sandbox, start_sandbox
from tests.support.ports import free_port
from tests.support.squat import squat


class FakeHydra:
    """Just enough of Hydra for `sandbox login` to print its URL: discovery, the admin API's
    client endpoints, an empty JWKS, and a token endpoint that counts its calls."""

    def __init__(self) -> None:
        self.token_calls = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                base = f"http://127.0.0.1:{fake.port}"
                if self.path == "/.well-known/openid-configuration":
                    fake.reply(self, 200, fake.discovery(base))
                elif self.path == "/.well-known/jwks.json":
                    fake.reply(self, 200, {"keys": []})
                else:  # no client yet: `login` creates it
                    fake.reply(self, 404, {"error": "Unable to locate the resource"})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == "/oauth2/token":
                    fake.token_calls += 1
                    fake.reply(self, 400, {"error": "invalid_grant"})
                else:
                    fake.reply(self, 201, json.loads(body))

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @staticmethod
    def discovery(base: str) -> dict[str, str]:
        return {
            "issuer": base + "/",
            "authorization_endpoint": base + "/oauth2/auth",
            "token_endpoint": base + "/oauth2/token",
            "jwks_uri": base + "/.well-known/jwks.json",
            "userinfo_endpoint": base + "/userinfo",
            "end_session_endpoint": base + "/oauth2/sessions/logout",
        }

    @staticmethod
    def reply(req: BaseHTTPRequestHandler, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        req.send_response(status)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        req.wfile.write(data)


@pytest.fixture
def hydra() -> Iterator[FakeHydra]:
    fake = FakeHydra()
    fake.thread.start()
    yield fake
    fake.httpd.shutdown()
    fake.httpd.server_close()


def start_login(tmp_path: Path, hydra: FakeHydra, *args: str) -> tuple[subprocess.Popen[str], str]:
    """`sandbox login` against the fake, and the authorization URL it printed."""
    url = f"http://127.0.0.1:{hydra.port}"
    proc = start_sandbox(
        tmp_path,
        "--state-dir",
        str(tmp_path / "state"),
        "login",
        "--hydra-public-url",
        url,
        "--hydra-admin-url",
        url,
        *args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("http"):
            return proc, line.strip()
    proc.wait(timeout=30)
    pytest.fail(f"sandbox login printed no URL: {proc.stderr.read() if proc.stderr else ''}")


def state_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["state"][0]


def test_busy_port_is_one_line_naming_the_port_and_the_flag(tmp_path: Path) -> None:
    port = free_port()
    with squat(port):
        done = run_sandbox(
            tmp_path, "--state-dir", str(tmp_path / "s"), "login", "--port", str(port)
        )
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: cannot listen on 127.0.0.1:{port} (")
    assert lines[0].endswith("choose another with --port")
    assert done.stdout == ""  # no URL for a login that cannot come back


def test_wrong_state_is_refused_with_a_page_and_no_exchange(
    tmp_path: Path, hydra: FakeHydra
) -> None:
    port = free_port()
    proc, url = start_login(tmp_path, hydra, "--port", str(port), "--timeout", "60")
    assert state_of(url) != "forged-state"
    page = httpx.get(f"http://127.0.0.1:{port}/callback?code=c0de&state=forged-state")
    out, err = proc.communicate(timeout=30)
    assert page.status_code == 400
    assert '<h1 id="title">Login not completed</h1>' in page.text
    assert "is not the one in the authorization URL this terminal made" in page.text
    assert 'id="claims"' not in page.text
    assert hydra.token_calls == 0  # the code of a stranger's callback is never exchanged
    assert proc.returncode == 1
    assert out == ""  # nothing after the URL: no claims
    assert err.splitlines()[-1] == (
        "error: the callback's state does not match this login's: its code was not exchanged"
    )


def test_access_denied_page_explains_why_there_is_no_code(tmp_path: Path, hydra: FakeHydra) -> None:
    port = free_port()
    proc, url = start_login(tmp_path, hydra, "--port", str(port), "--timeout", "60")
    page = httpx.get(
        f"http://127.0.0.1:{port}/callback",
        params={
            "error": "access_denied",
            "error_description": "The resource owner denied the request.",
            "state": state_of(url),
        },
    )
    out, err = proc.communicate(timeout=30)
    assert page.status_code == 400
    assert '<h1 id="title">Login refused</h1>' in page.text
    assert (
        '<p id="error">error: access_denied (The resource owner denied the request.)</p>'
        in page.text
    )
    assert "Deny on the consent page" in page.text
    assert "choose Allow" in page.text
    assert hydra.token_calls == 0
    assert proc.returncode == 1
    assert out == ""  # nothing after the URL: no claims
    assert err.splitlines()[-1] == (
        "error: the login was refused: access_denied (The resource owner denied the request.)"
    )


def test_no_callback_before_the_timeout_is_one_line(tmp_path: Path, hydra: FakeHydra) -> None:
    port = free_port()
    proc, _ = start_login(tmp_path, hydra, "--port", str(port), "--timeout", "1")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert out == ""  # nothing after the URL: no claims
    assert err.splitlines()[-1] == (
        f"error: no callback on http://127.0.0.1:{port}/callback within 1 s: the login was not "
        "finished (run sandbox login again for a fresh URL)"
    )


def test_an_id_token_signed_by_another_key_is_not_believed() -> None:
    """The token endpoint answers with an ID token whose claims are all right but whose
    signature is by a key that is not in the JWKS: the page must not show those claims."""
    hydras_key = RSAKey.generate_key(2048, parameters={"kid": "hydra"})
    forger = RSAKey.generate_key(2048, parameters={"kid": "hydra"})  # same kid, other key
    base = "http://127.0.0.1:9"
    provider = Provider(**FakeHydra.discovery(base))
    port = free_port()
    redirect = f"http://127.0.0.1:{port}/callback"
    issued: dict[str, str] = {}

    def token_endpoint(request: httpx2.Request) -> httpx2.Response:
        claims = {
            "iss": provider.issuer,
            "aud": ["sandbox-demo"],
            "sub": "forged-subject",
            "nonce": issued["nonce"],
            "exp": 4102444800,  # 2100-01-01
            "iat": 1700000000,
        }
        issued["id_token"] = jwt.encode({"alg": "RS256", "kid": "hydra"}, claims, forger)
        body = {"access_token": "ory_at_x", "token_type": "bearer", "id_token": issued["id_token"]}
        return httpx2.Response(200, json=body)

    client = PublicClient(
        provider,
        "sandbox-demo",
        redirect,
        "openid",
        transport=httpx2.MockTransport(token_endpoint),  # type: ignore[arg-type]
    )
    auth = client.begin()
    issued["nonce"] = auth.nonce
    jwks = KeySet([hydras_key]).as_dict(private=False)
    server = serve_callback(port, auth.state, exchange_and_verify(client, auth, lambda: jwks))
    try:
        page = httpx.get(redirect, params={"code": "c0de", "state": auth.state})
        outcome = server.wait(5)
    finally:
        server.close()
        client.close()
    assert "id_token" in issued  # the code was exchanged
    assert outcome is not None and outcome.claims is None
    assert outcome.error is not None
    assert outcome.error.startswith("the ID token's signature does not verify")
    assert page.status_code == 400
    assert '<h1 id="title">Login not completed</h1>' in page.text
    assert "forged-subject" not in page.text
    assert 'id="claims"' not in page.text
    assert issued["id_token"] not in page.text
