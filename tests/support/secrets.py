"""One set of Ory and database secrets for render tests (none of them is used anywhere real)."""

from __future__ import annotations

from sandbox.state import OrySecrets

UI_COOKIE = "ui-cookie-secret-0123456789"
UI_CSRF = "ui-csrf-secret-0123456789"
RENDER_SECRETS = OrySecrets(
    "pw",
    "system-secret",
    "default-secret",
    "cookie-secret",
    "c" * 32,
    "su-pw",
    "repl-pw",
    UI_COOKIE,
    UI_CSRF,
)
