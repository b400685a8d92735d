"""Where the host reaches a running sandbox: the same on every target (127.0.0.1 ports).

Compose publishes the ports on 127.0.0.1; kind and EKS get managed port-forwards to the same
ports. So one function serves `env`, `status` and `verify` for every target.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from sandbox.model.catalog import DATABASES
from sandbox.model.components import APP_USER as ORY_USER
from sandbox.model.topology import Topology
from sandbox.pki.layout import CertLayout
from sandbox.render.ory import public_urls


@dataclass(frozen=True)
class Endpoints:
    urls: dict[str, str]
    """HYDRA_PUBLIC_URL, HYDRA_ADMIN_URL, KRATOS_*, KETO_READ_REMOTE, KETO_WRITE_REMOTE."""
    database_urls: dict[str, str]
    """Per database (hydra, kratos, keto): a libpq URL as user ory, without the password."""
    password: str | None = None

    def database_url(self, database: str, with_password: bool = False) -> str:
        url = self.database_urls[database]
        if with_password and self.password:
            url = url.replace(f"//{ORY_USER}@", f"//{ORY_USER}:{quote(self.password, safe='')}@", 1)
        return url

    def as_env(self, with_password: bool = False) -> dict[str, str]:
        env = dict(self.urls)
        for db in self.database_urls:
            env[f"{db.upper()}_DATABASE_URL"] = self.database_url(db, with_password)
        return env


def host_endpoints(topology: Topology, certs: CertLayout, password: str | None) -> Endpoints:
    """Endpoints of the sandbox as seen from the host, through the load balancer's SQL port."""
    port = topology.settings.ports.sql
    ca = quote(str((certs.client_dir(ORY_USER) / "ca.crt").resolve()), safe="/")
    urls = {
        db: f"postgresql://{ORY_USER}@localhost:{port}/{db}?sslmode=verify-full&sslrootcert={ca}"
        for db in DATABASES
    }
    return Endpoints(urls=public_urls(topology), database_urls=urls, password=password)
