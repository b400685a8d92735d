"""A person's login: where the browser goes, and how Hydra, Kratos and the UI find each other.

Hydra is the OAuth2/OIDC provider; it sends the browser to the UI for login, consent and
logout. The UI runs Kratos's browser flows (Kratos is the identity provider), and Kratos hands
the accepted login back to Hydra through Hydra's admin API (`oauth2_provider.url`). Browser
URLs name 127.0.0.1 and the host ports, which every target publishes (Compose ports, Kubernetes
port-forwards); service-to-service URLs name each port's Kubernetes Service name, which Compose
gives the containers as network aliases. So the same values serve every target.
"""

from __future__ import annotations

from typing import Any

from sandbox.model.catalog import HYDRA, KRATOS, UI
from sandbox.model.topology import LOOPBACK, Topology
from sandbox.state import OrySecrets

CSRF_COOKIE_NAME = "iam_sandbox_ui_csrf"
"""The UI's CSRF cookie. Its default, `__Host-ax-x-csrf-token`, must be Secure, and a
`__Host-` cookie set over plain http is dropped by browsers; the sandbox serves http."""
REMEMBER_CONSENT_SECONDS = 3600


def ui_url(topology: Topology, page: str = "") -> str:
    """The UI as the browser reaches it: `page` (`login`, `consent`, ...) or its welcome."""
    return f"http://{LOOPBACK}:{topology.settings.ports.ui}/{page}"


def browser_url(topology: Topology, setting: str, slash: str = "/") -> str:
    """An API's URL as the browser reaches it: `setting` is its `ports.*` field. A base URL
    another program appends paths to gets `slash=""` (see `Component.internal_url`)."""
    return f"http://{LOOPBACK}:{getattr(topology.settings.ports, setting)}{slash}"


def hydra_urls(topology: Topology) -> dict[str, Any]:
    """Hydra's `urls`: its own issuer, the UI's pages, and Kratos as the identity provider,
    so an RP-initiated logout ends the Kratos session too."""
    issuer = browser_url(topology, HYDRA.port("public").host_setting)
    return {
        "self": {"issuer": issuer, "public": issuer},
        "login": ui_url(topology, "login"),
        "registration": ui_url(topology, "registration"),
        "consent": ui_url(topology, "consent"),
        "logout": ui_url(topology, "logout"),
        "error": ui_url(topology, "error"),
        "post_logout_redirect": ui_url(topology, "login"),
        "identity_provider": {
            "url": KRATOS.internal_url("admin"),
            "publicUrl": browser_url(topology, KRATOS.port("public").host_setting, ""),
        },
    }


def kratos_selfservice(topology: Topology) -> dict[str, Any]:
    """Kratos's `selfservice`: every flow's page on the UI, and where browsers may return."""
    flows: dict[str, Any] = {
        flow: {"ui_url": ui_url(topology, flow)}
        for flow in ("login", "registration", "settings", "recovery", "verification")
    }
    # The session hook makes API registration return a session token.
    flows["registration"]["after"] = {"password": {"hooks": [{"hook": "session"}]}}
    flows["error"] = {"ui_url": ui_url(topology, "error")}
    flows["logout"] = {"after": {"default_browser_return_url": ui_url(topology, "login")}}
    return {
        "default_browser_return_url": ui_url(topology),
        "allowed_return_urls": [ui_url(topology)],
        # The haveibeenpwned lookup calls out to the internet for every new password; on an
        # offline machine each registration then stalls for about 15 seconds.
        "methods": {"password": {"enabled": True, "config": {"haveibeenpwned_enabled": False}}},
        "flows": flows,
    }


def kratos_oauth2_provider() -> dict[str, Any]:
    """Kratos accepts Hydra's login requests itself, through Hydra's admin API."""
    return {"url": HYDRA.internal_url("admin")}


def ui_environment(topology: Topology) -> dict[str, str]:
    """The UI's plain environment (the official image's variables; no secrets)."""
    return {
        "PORT": str(UI.port("http").container),
        "KRATOS_PUBLIC_URL": KRATOS.internal_url("public"),
        "KRATOS_BROWSER_URL": browser_url(topology, KRATOS.port("public").host_setting, ""),
        "KRATOS_ADMIN_URL": KRATOS.internal_url("admin"),
        # All three of these must be set, or the UI does not register its consent route.
        "HYDRA_ADMIN_URL": HYDRA.internal_url("admin"),
        "CSRF_COOKIE_NAME": CSRF_COOKIE_NAME,
        # The sandbox serves plain http on 127.0.0.1: a Secure CSRF cookie would be refused.
        "DANGEROUSLY_DISABLE_SECURE_CSRF_COOKIES": "true",
        "REMEMBER_CONSENT_SESSION_FOR_SECONDS": str(REMEMBER_CONSENT_SECONDS),
    }


def ui_secret_env(secrets: OrySecrets) -> dict[str, str]:
    return {"COOKIE_SECRET": secrets.ui_cookie, "CSRF_COOKIE_SECRET": secrets.ui_csrf}
