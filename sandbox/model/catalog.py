"""The catalog: every component the sandbox can run, in start-up order.

Adding a service is one entry here, plus its config builder (`sandbox.render.ory.BUILDERS`),
its `ports.*`/`memory.*`/`versions.*` settings, and its checks. Ports, URL variables, port
forwards, CI port blocks, `verify`/`load` targets and Kubernetes selectors follow from it.
"""

from __future__ import annotations

from sandbox.model.components import Component, ConfigFile, PortSpec

CONFIG_DIR = "/etc/config"
"""Where configs are mounted in Ory containers: the Ory Helm charts use the same folder."""
IDENTITY_SCHEMA = "identity.default.schema.json"


def _config(name: str) -> str:
    return f"{CONFIG_DIR}/{name}.yaml"


HYDRA = Component(
    name="hydra",
    repository="oryd/hydra",
    ports=(
        PortSpec("public", 4444, "hydra_public", "public", "HYDRA_PUBLIC_URL"),
        PortSpec("admin", 4445, "hydra_admin", "admin", "HYDRA_ADMIN_URL"),
    ),
    database="hydra",
    migrate=("migrate", "sql", "up", "-e", "--yes"),
    serve=("serve", "all", "--dev", "--config", _config("hydra")),
    config="hydra.yaml",
    secret_env=("DSN", "SECRETS_SYSTEM"),
    chart="hydra",
)

KRATOS = Component(
    name="kratos",
    repository="oryd/kratos",
    ports=(
        PortSpec("public", 4433, "kratos_public", "public", "KRATOS_PUBLIC_URL"),
        # Kratos redirects /health/ready on its admin port (307) to this path.
        PortSpec("admin", 4434, "kratos_admin", "admin", "KRATOS_ADMIN_URL", "/admin/health/ready"),
    ),
    database="kratos",
    migrate=("migrate", "sql", "up", "-e", "--yes", "--config", _config("kratos")),
    serve=("serve", "--config", _config("kratos")),
    config="kratos.yaml",
    secret_env=("DSN", "SECRETS_DEFAULT", "SECRETS_COOKIE", "SECRETS_CIPHER"),
    files=(ConfigFile(IDENTITY_SCHEMA, f"{CONFIG_DIR}/{IDENTITY_SCHEMA}"),),
    chart="kratos",
    # SQLite's folder and the ory user's home (its .docker/Dockerfile-alpine)
    image_volumes=("/var/lib/sqlite", "/home/ory"),
)

KETO = Component(
    name="keto",
    repository="oryd/keto",
    ports=(
        PortSpec("read", 4466, "keto_read", "public", "KETO_READ_REMOTE"),
        PortSpec("write", 4467, "keto_write", "admin", "KETO_WRITE_REMOTE"),
    ),
    database="keto",
    migrate=("migrate", "up", "--yes", "--config", _config("keto")),
    serve=("serve", "--config", _config("keto")),
    config="keto.yaml",
    secret_env=("DSN",),
    chart="keto",
)

UI = Component(
    name="ui",
    repository="oryd/kratos-selfservice-ui-node",
    # The browser's side of a person's login: Kratos's login and registration pages, Hydra's
    # consent and logout pages. Configured by environment only; no database.
    ports=(PortSpec("http", 3000, "ui", "browser", "KRATOS_UI_URL", "/health/alive", "ui"),),
    serve=(),
    config=None,
    secret_env=("COOKIE_SECRET", "CSRF_COOKIE_SECRET"),
    chart="kratos-selfservice-ui-node",
    profile="login",
    calls=("hydra", "kratos"),
)

CATALOG: tuple[Component, ...] = (HYDRA, KRATOS, KETO, UI)
"""Every component, in the order the stack starts and lists them."""

BY_NAME = {c.name: c for c in CATALOG}

URL_VARS: tuple[str, ...] = tuple(p.url_var for c in CATALOG for p in c.ports)
"""The integration guide's variable names of every API URL, in catalog order."""

DATABASES: tuple[str, ...] = tuple(c.database for c in CATALOG if c.database)
"""The databases the engine's bootstrap creates, one per stateful component."""


def component(name: str) -> Component:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown component {name!r}") from None
