"""The relying party: a public OAuth2 client (no secret) that proves its code with PKCE S256.

The protocol is Authlib's (authorization URL, state, code exchange, refresh), and the ID token
is checked with joserfc against the provider's JWKS: signature, `iss`, `aud`, `exp`, `nonce`,
and `sub` when the caller knows whom it logged in. Hydra's own `perform authorization-code`
has no PKCE, and a hand-written exchange is exactly what a sandbox should not teach.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sandbox.errors import SandboxError

if TYPE_CHECKING:
    import httpx
    from joserfc.jwk import KeySetSerialization

ID_TOKEN_ALGORITHMS = ["RS256"]
"""Hydra signs ID tokens with RS256 by default (`oidc.id_token` keys)."""


class OidcError(SandboxError):
    """The provider refused a step, or a token failed a check; the message names which."""


@dataclass(frozen=True)
class Provider:
    """The provider's endpoints, as its discovery document lists them."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str
    end_session_endpoint: str

    @classmethod
    def discover(cls, http: httpx.Client, public_url: str) -> Provider:
        url = public_url.rstrip("/") + "/.well-known/openid-configuration"
        resp = http.get(url)
        if resp.status_code != 200:
            raise OidcError(f"HTTP {resp.status_code} from GET {url}")
        doc = resp.json()
        try:
            return cls(**{name: str(doc[name]) for name in cls.__dataclass_fields__})
        except KeyError as exc:
            raise OidcError(f"{url} lists no {exc.args[0]}") from None


@dataclass(frozen=True)
class Authorization:
    """One authorization request: the URL to open and what the callback must match."""

    url: str
    state: str
    nonce: str
    verifier: str


@dataclass(frozen=True)
class Tokens:
    access_token: str
    id_token: str
    refresh_token: str | None
    scope: str

    @classmethod
    def from_response(cls, token: dict[str, Any]) -> Tokens:
        missing = [name for name in ("access_token", "id_token") if name not in token]
        if missing:
            raise OidcError(f"the token response lacks {' and '.join(missing)}")
        return cls(
            access_token=str(token["access_token"]),
            id_token=str(token["id_token"]),
            refresh_token=token.get("refresh_token"),
            scope=str(token.get("scope", "")),
        )


class PublicClient:
    """One registered public client: `begin` makes the authorization URL, `exchange` trades the
    callback's code for tokens with the verifier, `refresh` rotates the refresh token."""

    def __init__(
        self,
        provider: Provider,
        client_id: str,
        redirect_uri: str,
        scope: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        from authlib.integrations.httpx_client import OAuth2Client

        self.provider = provider
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.session = OAuth2Client(
            client_id=client_id,
            token_endpoint_auth_method="none",
            redirect_uri=redirect_uri,
            scope=scope,
            code_challenge_method="S256",
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self.session.close()

    def begin(self, *, redirect_uri: str | None = None, pkce: bool = True) -> Authorization:
        """A fresh state, nonce and verifier; `pkce=False` leaves the challenge out (to show
        that the provider refuses a public client without one)."""
        from authlib.common.security import generate_token

        verifier = generate_token(64)
        nonce = secrets.token_urlsafe(16)
        extra: dict[str, Any] = {"nonce": nonce}
        if redirect_uri is not None:
            extra["redirect_uri"] = redirect_uri
        if pkce:
            extra["code_verifier"] = verifier
        url, state = self.session.create_authorization_url(
            self.provider.authorization_endpoint, **extra
        )
        return Authorization(url=url, state=state, nonce=nonce, verifier=verifier)

    def exchange(
        self, callback_url: str, auth: Authorization, verifier: str | None = None
    ) -> Tokens:
        """Trade the code in `callback_url` for tokens (`verifier` overrides the right one)."""
        from authlib.integrations.base_client.errors import OAuthError

        try:
            token = self.session.fetch_token(
                self.provider.token_endpoint,
                authorization_response=callback_url,
                state=auth.state,
                code_verifier=verifier if verifier is not None else auth.verifier,
            )
        except OAuthError as exc:
            raise OidcError(f"token endpoint refused the code: {exc.error}") from None
        return Tokens.from_response(dict(token))

    def refresh(self, refresh_token: str) -> Tokens:
        from authlib.integrations.base_client.errors import OAuthError

        try:
            token = self.session.refresh_token(
                self.provider.token_endpoint, refresh_token=refresh_token
            )
        except OAuthError as exc:
            raise OidcError(f"token endpoint refused the refresh token: {exc.error}") from None
        return Tokens.from_response(dict(token))


def id_token_claims(
    id_token: str,
    jwks: dict[str, Any],
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    subject: str | None = None,
) -> dict[str, Any]:
    """The ID token's claims once its signature verifies against `jwks` and `iss`, `aud`,
    `exp`, `nonce` (and `sub`, when given) hold; OidcError naming the first that does not."""
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    try:
        keys = KeySet.import_key_set(cast("KeySetSerialization", jwks))
        token = jwt.decode(id_token, keys, algorithms=ID_TOKEN_ALGORITHMS)
    except (JoseError, ValueError) as exc:
        raise OidcError(f"the ID token's signature does not verify: {exc}") from None
    expected: dict[str, Any] = {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": client_id},
        "nonce": {"essential": True, "value": nonce},
        "exp": {"essential": True},
        "sub": {"essential": True, **({"value": subject} if subject is not None else {})},
    }
    try:
        jwt.JWTClaimsRegistry(**expected).validate(token.claims)
    except JoseError as exc:
        raise OidcError(f"the ID token's claims: {exc}") from None
    return dict(token.claims)


def signing_key_id(id_token: str) -> str:
    """The `kid` in the ID token's header (which JWKS key signed it)."""
    from joserfc import jws

    header = jws.extract_compact(id_token.encode()).protected
    return str(header.get("kid", "?"))
