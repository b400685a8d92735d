"""Which injector and which load-balancer measure a drill gets on each target.

The one place that knows the targets: compose (the zone's node container, HAProxy's log),
kind (the zone's worker node container), aws (the zone's nodes of this sandbox's EKS cluster,
only with --yes). Any other target is refused before anything happens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.chaos.drill import Injector, LbTimes
from sandbox.chaos.faults import (
    AWS_MODES,
    Mode,
    Runner,
    aws_fault,
    compose_fault,
    compose_names,
    kind_fault,
)
from sandbox.chaos.haproxy_log import compose_lb_times
from sandbox.chaos.report import LoadBalancerTimes
from sandbox.config.topology import Topology
from sandbox.errors import BadInput

TARGETS = ("compose", "kind", "aws")
NOT_MEASURED = {
    "kind": "not measured on kind: the Service's endpoints follow pod readiness",
    "aws": "not measured on aws: the NLB's target health is AWS's",
}


def check_request(target: str, mode: Mode, yes: bool, topology: Topology) -> None:
    """Bad input, before anything runs: an unknown target, a mode it cannot do, no --yes."""
    if target not in TARGETS:
        raise BadInput(
            f"--target {target}: zone drills run on {', '.join(TARGETS)} only "
            "(on a cluster the sandbox does not own, the zone's nodes are not its to take down)"
        )
    if target == "aws":
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


def injector_for(
    target: str, driver: Any, mode: Mode, zone: str, runner: Runner
) -> tuple[Injector, LbTimes]:
    """The injector for `zone` on `target`, found (and checked) through its driver."""
    topology: Topology = driver.topology
    if target == "compose":
        node = next(n for n in topology.nodes if n.zone == zone)
        lb_container, _, _ = compose_names(topology.project, topology.load_balancer)
        injector = compose_fault(runner, mode, topology.project, node.name)

        def lb(fault_at: float, restore_at: float | None) -> LoadBalancerTimes:
            return compose_lb_times(runner, lb_container, node.name, fault_at, restore_at)

        return injector, lb
    from sandbox.render.kind import ZONE_LABEL

    kubectl = driver.kubectl().argv
    if target == "kind":
        fault: Injector = kind_fault(runner, mode, kubectl, ZONE_LABEL, zone, driver.cluster)
    else:
        fault = aws_fault(runner, mode, kubectl, ZONE_LABEL, zone, topology.namespace)
    return fault, _not_measured(NOT_MEASURED[target])


def _not_measured(why: str) -> Callable[[float, float | None], LoadBalancerTimes]:
    def lb(fault_at: float, restore_at: float | None) -> LoadBalancerTimes:
        return LoadBalancerTimes(None, None, why)

    return lb
