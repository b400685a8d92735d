"""`sandbox demo` and `sandbox login`: a person's login through the stack, for a workshop.

`demo` makes the demo person (in Kratos) and the demo client (in Hydra), both idempotently;
the password is printed once, when the person is created, and kept nowhere else. `login` is
the relying party on this machine: it prints the authorization URL (PKCE S256, state, nonce),
waits on 127.0.0.1 for the browser to come back, and prints the ID token's verified claims.
Endpoints are found as `sandbox verify` finds them: the state directory, the integration
guide's variables, then flags.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sandbox.cli.context import AppContext, Output
from sandbox.cli.endpoint_flags import with_endpoint_flags
from sandbox.cli.output import OutputOption
from sandbox.oidc.demo import DEFAULT_PORT, DEMO_EMAIL

if TYPE_CHECKING:
    import httpx

    from sandbox.checks.targets import Targets

PortOption = Annotated[
    int,
    typer.Option(
        "--port", min=1, max=65535, help="The callback's port on 127.0.0.1 (its redirect URI)."
    ),
]
SHOWN_CLAIMS = ("sub", "email", "iss", "aud")


def _targets(ctx: typer.Context, endpoints: dict[str, str | None]) -> Targets:
    from sandbox.cli.verify import resolve_targets

    app_ctx: AppContext = ctx.obj
    return resolve_targets(app_ctx, os.environ, endpoints)


class _Unreachable:
    """Turns a connection failure into one line naming the URL, instead of a traceback."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        import httpx

        from sandbox.errors import SandboxError

        if isinstance(exc, httpx.HTTPError):
            try:
                where = str(exc.request.url.copy_with(query=None))
            except RuntimeError:  # an error raised without its request
                where = "a service"
            raise SandboxError(
                f"{where} does not answer ({type(exc).__name__}): is the stack up? Point the "
                "command at it with the state directory, the integration guide's variables or "
                "flags"
            ) from None


def _client(timeout: float = 10.0) -> httpx.Client:
    import httpx

    return httpx.Client(timeout=timeout)


@with_endpoint_flags
def demo(
    ctx: typer.Context,
    endpoints: dict[str, str | None],
    email: Annotated[str, typer.Option("--email", help="The demo person's email.")] = DEMO_EMAIL,
    port: PortOption = DEFAULT_PORT,
    output: OutputOption = Output.table,
) -> None:
    """Create the workshop's demo person and client, once; print the password only then."""
    from sandbox.cli.output import emit_json, table
    from sandbox.oidc.demo import callback_uri, ensure_demo_client, ensure_demo_identity

    targets = _targets(ctx, endpoints)
    kratos_admin = targets.urls["KRATOS_ADMIN_URL"]
    with _client() as http, _Unreachable():
        identity_id, password = ensure_demo_identity(http, kratos_admin, email)
        client = ensure_demo_client(http, targets.urls["HYDRA_ADMIN_URL"], callback_uri(port))
    reset = (
        f"the identity already existed, so its password is not known here; for a new one, "
        f"delete it (curl -X DELETE {kratos_admin}/admin/identities/{identity_id}) and run "
        "sandbox demo again"
    )
    if output is Output.json:
        emit_json(
            {
                "email": email,
                "identity_id": identity_id,
                "password": password,
                "identity_created": password is not None,
                "client_id": client.client_id,
                "client_created": client.created,
                "redirect_uris": client.redirect_uris,
            }
        )
        return
    rows = [
        ("email", email),
        ("password", password if password is not None else "(not shown)"),
        ("identity", identity_id),
        ("client", f"{client.client_id} (public, PKCE S256, consent page shown)"),
        ("redirects", ", ".join(client.redirect_uris)),
    ]
    typer.echo(table(("what", "value"), rows))
    if password is not None:
        typer.echo("\nThe password is printed this once: Kratos keeps only its hash.")
    else:
        typer.echo(f"\nNote: {reset}.")
    typer.echo("Next: sandbox login --open")


def _announce(url: str, output: Output) -> None:
    """The URL on stdout for people (stderr under --output json, keeping stdout one JSON)."""
    import sys

    text = f"Open this URL in a browser and log in as the demo person (sandbox demo):\n{url}\n"
    if output is Output.json:
        sys.stderr.write(text)
        sys.stderr.flush()
    else:
        typer.echo(text, nl=False)


@with_endpoint_flags
def login(
    ctx: typer.Context,
    endpoints: dict[str, str | None],
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the URL with the system's browser.")
    ] = False,
    port: PortOption = DEFAULT_PORT,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1.0, help="Seconds to wait for the callback.")
    ] = 300.0,
    output: OutputOption = Output.table,
) -> None:
    """Log in as a person: authorization code + PKCE, then print the verified ID token's claims."""
    import webbrowser

    from sandbox.cli.output import emit_json, info, table
    from sandbox.errors import BadInput, SandboxError
    from sandbox.oidc.client import OidcError, Provider, PublicClient
    from sandbox.oidc.demo import (
        DEMO_SCOPE,
        CallbackServer,
        callback_uri,
        ensure_demo_client,
        exchange_and_verify,
    )

    # The port first: a busy one fails before anything is registered or printed.
    try:
        server = CallbackServer(port)
    except OSError as exc:
        raise BadInput(
            f"cannot listen on 127.0.0.1:{port} ({exc.strerror or exc}): choose another with --port"
        ) from None
    redirect = callback_uri(port)
    try:
        targets = _targets(ctx, endpoints)
        with _client() as http:
            with _Unreachable():
                provider = Provider.discover(http, targets.urls["HYDRA_PUBLIC_URL"])
                client = ensure_demo_client(http, targets.urls["HYDRA_ADMIN_URL"], redirect)

            def jwks() -> dict[str, Any]:
                resp = http.get(provider.jwks_uri)
                if resp.status_code != 200:
                    raise OidcError(f"HTTP {resp.status_code} from GET {provider.jwks_uri}")
                return dict(resp.json())

            rp = PublicClient(provider, client.client_id, redirect, DEMO_SCOPE)
            try:
                auth = rp.begin()
                server.expect(auth.state, exchange_and_verify(rp, auth, jwks))
                _announce(auth.url, output)
                if open_browser and not webbrowser.open(auth.url):
                    info("no browser could be opened here: open the URL yourself")
                info(f"waiting up to {timeout:g} s for the browser to come back to {redirect}")
                outcome = server.wait(timeout)
            finally:
                rp.close()
    finally:
        server.close()
    if outcome is None:
        raise SandboxError(
            f"no callback on {redirect} within {timeout:g} s: the login was not finished "
            "(run sandbox login again for a fresh URL)"
        )
    if outcome.claims is None:
        raise OidcError(outcome.error or "the login failed")
    claims = outcome.claims
    if output is Output.json:
        emit_json({"verified": True, "claims": claims})
        return
    typer.echo("Signed in: the ID token's signature verified against Hydra's JWKS.")
    typer.echo(table(("claim", "value"), [(k, _value(claims.get(k))) for k in SHOWN_CLAIMS]))


def _value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)
