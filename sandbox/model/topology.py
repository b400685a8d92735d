"""The internal model every renderer and driver reads: settings turned into named things.

Settings say what a user may change; the topology says what follows from it (node names,
their zones, images, the names each node is reached by on every target, and so the SANs).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sandbox.config.settings import Settings
from sandbox.errors import BadInput
from sandbox.model.catalog import CATALOG
from sandbox.model.components import APP_USER, Component
from sandbox.model.engines import engine_for
from sandbox.model.engines.base import DatabaseEngine

LOOPBACK = "127.0.0.1"


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
    def engine(self) -> DatabaseEngine:
        return engine_for(self.settings.database.engine)

    @cached_property
    def components(self) -> tuple[Component, ...]:
        """The components this sandbox runs, in catalog order: every one without a profile,
        and those whose profile is in `profiles`."""
        chosen = set(self.settings.profiles)
        return tuple(c for c in CATALOG if c.profile is None or c.profile in chosen)

    @property
    def sql_users(self) -> tuple[str, ...]:
        """Every SQL user with a client certificate: the engine's superuser and `ory`."""
        return (self.engine.superuser, APP_USER)

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

    def image(self, key: str) -> str:
        """The image of `key`: a component's name, the engine's image key, or `haproxy`."""
        override = getattr(self.settings.images, key)
        if override:
            return str(override)
        version = getattr(self.settings.versions, key)
        if key == "haproxy":
            return f"haproxy:{version}-alpine"
        if key in self.engine.image_keys:
            return self.engine.default_image(self, key)
        return f"{next(c for c in self.components if c.name == key).repository}:{version}"

    def image_settings(self) -> list[tuple[str, str]]:
        """(settings field, image) of every image the stack runs, engine first."""
        keys = [*self.engine.image_keys, "haproxy", *(c.name for c in self.components)]
        return [(f"images.{key}", self.image(key)) for key in keys]

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
        return self.engine.join_addresses([n.name for n in self.nodes])

    def memory_caps(self) -> dict[str, int]:
        """Memory limit of every Compose service in MiB: the sum must fit the budget."""
        m = self.settings.memory
        caps = self.engine.memory_caps(self)
        caps[self.load_balancer] = m.load_balancer
        for component in self.components:
            if component.migration:
                caps[component.migration] = m.one_shot
            caps[component.name] = getattr(m, component.memory_key)
        return caps

    def peak_memory(self) -> int:
        """MiB that can be in use at once: every long-running service, plus the larger of the
        two groups of one-shots, which never overlap (the engine's run and exit before the Ory
        migrations start; the migrations run together)."""
        caps = self.memory_caps()
        engine_shots = {shot.name for shot in self.engine.one_shots(self)}
        migrations = {c.migration for c in self.components if c.migration}
        steady = sum(v for k, v in caps.items() if k not in engine_shots | migrations)
        groups = (engine_shots, migrations)
        return steady + max(sum(caps[name] for name in group) for group in groups)

    def check_budget(self) -> None:
        """Bad input unless the peak of the caps fits `memory.budget`."""
        total = self.peak_memory()
        budget = self.settings.memory.budget
        if total > budget:
            raise BadInput(
                f"memory: the caps in use at once add up to {total} MiB, over memory.budget "
                f"({budget} MiB)"
            )
