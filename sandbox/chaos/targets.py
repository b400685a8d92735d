"""Which injector and which load-balancer measure a zone drill gets on each target.

The targets that run drills are the rows of `sandbox.targets` with a chaos column, which names
one of the objects here: compose (the zone's node container, HAProxy's log), kind (the zone's
worker node container), eks (the zone's nodes of this sandbox's EKS cluster, only with --yes).
Any other target is refused before anything happens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from sandbox.chaos.drill import Injector, LbTimes
from sandbox.chaos.faults import AWS_MODES, Mode, aws_fault, compose_zone_fault, kind_fault
from sandbox.chaos.haproxy_log import compose_lb_times
from sandbox.chaos.report import LoadBalancerTimes
from sandbox.errors import BadInput
from sandbox.model.topology import Topology
from sandbox.render.kind import ZONE_LABEL, cluster_name
from sandbox.runtime.base import Driver
from sandbox.runtime.containers import Runner, compose_names


@runtime_checkable
class KubeDriver(Protocol):
    @property
    def topology(self) -> Topology: ...

    def kubectl_argv(self) -> list[str]:
        """kubectl pointed at the sandbox's cluster and namespace."""
        ...


class ChaosTarget(Protocol):
    """One target's zone drills: its own refusals, and its injector."""

    def check(self, mode: Mode, yes: bool, topology: Topology) -> None:
        """Bad input, before anything runs."""
        ...

    def injector(
        self, driver: Driver, mode: Mode, zone: str, runner: Runner
    ) -> tuple[Injector, LbTimes]: ...


def _not_measured(why: str) -> LbTimes:
    def lb(fault_at: float, restore_at: float | None) -> LoadBalancerTimes:
        return LoadBalancerTimes(None, None, why)

    return lb


def _kubectl(driver: Driver) -> Sequence[str]:
    if not isinstance(driver, KubeDriver):
        raise TypeError(f"{type(driver).__name__} is not a Kubernetes driver")
    return driver.kubectl_argv()


class ComposeChaos:
    """The zone's containers (its node, and its consensus member where the engine has one);
    HAProxy's log tells when the load balancer noticed."""

    def check(self, mode: Mode, yes: bool, topology: Topology) -> None:
        return None

    def injector(
        self, driver: Driver, mode: Mode, zone: str, runner: Runner
    ) -> tuple[Injector, LbTimes]:
        topology = driver.topology
        node = next(n for n in topology.nodes if n.zone == zone)
        members = [m.name for m in topology.engine.members(topology) if m.zone == zone]
        lb_container, _, _ = compose_names(topology.project, topology.load_balancer)

        def lb(fault_at: float, restore_at: float | None) -> LoadBalancerTimes:
            return compose_lb_times(runner, lb_container, node.name, fault_at, restore_at)

        return compose_zone_fault(runner, mode, topology.project, members), lb


class KindChaos:
    """The zone's worker node container, checked to belong to this sandbox's kind cluster."""

    def check(self, mode: Mode, yes: bool, topology: Topology) -> None:
        return None

    def injector(
        self, driver: Driver, mode: Mode, zone: str, runner: Runner
    ) -> tuple[Injector, LbTimes]:
        cluster = cluster_name(driver.topology)
        fault = kind_fault(runner, mode, _kubectl(driver), ZONE_LABEL, zone, cluster)
        why = "not measured on kind: the Service's endpoints follow pod readiness"
        return fault, _not_measured(why)


class EksChaos:
    """The zone's nodes are tainted NoExecute: only stop and kill, and only with --yes."""

    def check(self, mode: Mode, yes: bool, topology: Topology) -> None:
        if mode not in AWS_MODES:
            raise BadInput(
                f"--mode {mode.value}: not available on aws (the sandbox cannot freeze or cut "
                "off an EC2 instance); use stop or kill"
            )
        if not yes:
            raise BadInput(
                f"aws: a zone drill evicts every pod from this sandbox's EKS nodes in one zone "
                f"of cluster {topology.project}: re-run with --yes"
            )

    def injector(
        self, driver: Driver, mode: Mode, zone: str, runner: Runner
    ) -> tuple[Injector, LbTimes]:
        namespace = driver.topology.namespace
        fault = aws_fault(runner, mode, _kubectl(driver), ZONE_LABEL, zone, namespace)
        return fault, _not_measured("not measured on aws: the NLB's target health is AWS's")


COMPOSE: ChaosTarget = ComposeChaos()
KIND: ChaosTarget = KindChaos()
EKS: ChaosTarget = EksChaos()


def _chaos(target: str) -> ChaosTarget:
    from sandbox.targets import TARGETS, with_chaos

    row = TARGETS.get(target)
    chaos = row.injector() if row is not None else None
    if chaos is None:
        raise BadInput(
            f"--target {target}: zone drills run on {', '.join(with_chaos())} only "
            "(on a cluster the sandbox does not own, the zone's nodes are not its to take down)"
        )
    return chaos


def check_request(target: str, mode: Mode, yes: bool, topology: Topology) -> None:
    """Bad input, before anything runs: an unknown target, a mode it cannot do, no --yes."""
    _chaos(target).check(mode, yes, topology)


def injector_for(
    target: str, driver: Driver, mode: Mode, zone: str, runner: Runner
) -> tuple[Injector, LbTimes]:
    """The injector for `zone` on `target`, found (and checked) through its driver."""
    return _chaos(target).injector(driver, mode, zone, runner)
