"""The flags that point a command at the services, shared by `verify` and `load`.

Each flag overrides the seeds' variable of the same meaning (named in its help), which in turn
overrides what the state folder says (see `sandbox.cli.verify.resolve_targets`).
"""

from __future__ import annotations

from typing import Annotated

import typer

HydraPublicUrl = Annotated[
    str | None, typer.Option("--hydra-public-url", help="Hydra public API (HYDRA_PUBLIC_URL).")
]
HydraAdminUrl = Annotated[
    str | None, typer.Option("--hydra-admin-url", help="Hydra admin API (HYDRA_ADMIN_URL).")
]
KratosPublicUrl = Annotated[
    str | None,
    typer.Option("--kratos-public-url", help="Kratos public API (KRATOS_PUBLIC_URL)."),
]
KratosAdminUrl = Annotated[
    str | None, typer.Option("--kratos-admin-url", help="Kratos admin API (KRATOS_ADMIN_URL).")
]
KetoReadUrl = Annotated[
    str | None, typer.Option("--keto-read-url", help="Keto read API (KETO_READ_REMOTE).")
]
KetoWriteUrl = Annotated[
    str | None, typer.Option("--keto-write-url", help="Keto write API (KETO_WRITE_REMOTE).")
]


def service_flags(
    hydra_public: str | None,
    hydra_admin: str | None,
    kratos_public: str | None,
    kratos_admin: str | None,
    keto_read: str | None,
    keto_write: str | None,
) -> dict[str, str | None]:
    """The flags keyed by the seeds' variable names, as `resolve_targets` takes them."""
    return {
        "HYDRA_PUBLIC_URL": hydra_public,
        "HYDRA_ADMIN_URL": hydra_admin,
        "KRATOS_PUBLIC_URL": kratos_public,
        "KRATOS_ADMIN_URL": kratos_admin,
        "KETO_READ_REMOTE": keto_read,
        "KETO_WRITE_REMOTE": keto_write,
    }
