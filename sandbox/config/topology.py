"""The internal model every renderer and driver reads: settings turned into named things.

Settings say what a user may change; the topology says what follows from it (node names,
their zones, images, the names each node is reached by on every target, and so the SANs).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sandbox.config.settings import Settings

LOOPBACK = "127.0.0.1"
SQL_PORT = 26257
RPC_PORT = 26357
HTTP_PORT = 8080
DATABASES = ("hydra", "kratos", "keto")
ORY_USER = "ory"
SQL_USERS = ("root", ORY_USER)
ORY_SERVICES = ("hydra", "kratos", "keto")


@dataclass(frozen=True)
class Node:
    """One CockroachDB node, pinned to one zone."""

    name: str
    index: int
    zone: str
    region: str
    sql_host_port: int
    http_host_port: int

    @property
    def locality(self) -> str:
        return f"region={self.region},zone={self.zone}"

    @property
    def pod(self) -> str:
        """Kubernetes pod name: one single-replica StatefulSet per zone, named like the node."""
        return f"{self.name}-0"


@dataclass(frozen=True)
class Topology:
    settings: Settings

    @cached_property
    def nodes(self) -> tuple[Node, ...]:
        s = self.settings
        return tuple(
            Node(
                name=name,
                index=i,
                zone=zone,
                region=s.region,
                sql_host_port=s.ports.node_sql[i],
                http_host_port=s.ports.node_http[i],
            )
            for i, (name, zone) in enumerate(zip(s.node_names(), s.zones, strict=True))
        )

    @property
    def project(self) -> str:
        return self.settings.project

    @property
    def load_balancer(self) -> str:
        return self.settings.load_balancer

    @property
    def namespace(self) -> str:
        return self.settings.kubernetes.namespace

    @property
    def headless_service(self) -> str:
        """The Kubernetes headless service that gives each CockroachDB pod a stable DNS name."""
        return f"{self.settings.node_prefix}-internal"

    def image(self, component: str) -> str:
        override = getattr(self.settings.images, component)
        if override:
            return override
        version = getattr(self.settings.versions, component)
        repository = {
            "cockroach": "cockroachdb/cockroach",
            "haproxy": "haproxy",
            "hydra": "oryd/hydra",
            "kratos": "oryd/kratos",
            "keto": "oryd/keto",
        }[component]
        suffix = "-alpine" if component == "haproxy" else ""
        return f"{repository}:{version}{suffix}"

    def _k8s_forms(self, name: str) -> list[str]:
        ns = self.namespace
        return [name, f"{name}.{ns}", f"{name}.{ns}.svc", f"{name}.{ns}.svc.cluster.local"]

    def node_dns_names(self, node: Node) -> list[str]:
        """Every host name `node` is reached by: Compose, kind and EKS alike."""
        names = [node.name, self.load_balancer, "localhost"]
        names += self._k8s_forms(self.load_balancer)
        names += self._k8s_forms(self.headless_service)
        names += self._k8s_forms(f"{node.pod}.{self.headless_service}")
        return list(dict.fromkeys(names))

    def node_ip_addresses(self, node: Node) -> list[str]:
        return [LOOPBACK]

    def join_addresses(self) -> list[str]:
        return [f"{n.name}:{RPC_PORT}" for n in self.nodes]

    def memory_caps(self) -> dict[str, int]:
        """Memory limit of every Compose service in MiB: the sum must fit the budget."""
        m = self.settings.memory
        caps = {n.name: m.cockroach_node for n in self.nodes}
        caps[self.load_balancer] = m.load_balancer
        caps["crdb-init"] = m.one_shot
        caps["crdb-bootstrap"] = m.one_shot
        for svc in ORY_SERVICES:
            caps[f"{svc}-migrate"] = m.one_shot
            caps[svc] = getattr(m, svc)
        return caps
