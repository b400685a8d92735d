"""Where every certificate lives, and what each one must say (the plan, no I/O).

certs/ca/ca.crt, ca.key                       the CA key lives here only
certs/nodes/<node>/ca.crt, node.crt, node.key one --certs-dir per CockroachDB node
certs/clients/<user>/ca.crt, client.<user>.crt, client.<user>.key
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sandbox.model.topology import Topology

Role = Literal["node", "client"]


@dataclass(frozen=True)
class LeafSpec:
    """What one node or client certificate must contain, and where it goes."""

    role: Role
    name: str
    common_name: str
    directory: Path
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()

    @property
    def cert_path(self) -> Path:
        stem = "node" if self.role == "node" else f"client.{self.common_name}"
        return self.directory / f"{stem}.crt"

    @property
    def key_path(self) -> Path:
        return self.cert_path.with_suffix(".key")

    @property
    def ca_copy(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def label(self) -> str:
        return f"{self.role} {self.name}"


@dataclass(frozen=True)
class CertLayout:
    root: Path

    @property
    def ca_dir(self) -> Path:
        return self.root / "ca"

    @property
    def ca_cert(self) -> Path:
        return self.ca_dir / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.ca_dir / "ca.key"

    def node_dir(self, node: str) -> Path:
        return self.root / "nodes" / node

    def client_dir(self, user: str) -> Path:
        return self.root / "clients" / user

    def leaves(self, topology: Topology) -> list[LeafSpec]:
        specs = [
            LeafSpec(
                role="node",
                name=node.name,
                common_name="node",
                directory=self.node_dir(node.name),
                dns_names=tuple(topology.node_dns_names(node)),
                ip_addresses=tuple(topology.node_ip_addresses(node)),
            )
            for node in topology.nodes
        ]
        specs += [
            LeafSpec(role="client", name=user, common_name=user, directory=self.client_dir(user))
            for user in topology.sql_users
        ]
        return specs
