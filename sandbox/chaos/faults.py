"""The fault injector of each target: what takes a zone down, and what brings it back.

Commands are planned as argv lists by pure functions, then run by a `Runner` (the real one is
`sandbox.exec.run`), so the command sequences of kind and aws are unit-tested even where they
cannot run. Restoring never replays the fault backwards: it looks at the victim as it is now
and does whatever brings it back (`heal_commands`), so it also works after a fault that was
only half applied, after Ctrl-C, and from `sandbox up` after a drill that was killed.

    compose  the zone's CockroachDB node container: docker stop / kill / pause, or network
             disconnect (reconnected with its aliases, which Docker drops on disconnect)
    kind     the zone's worker node container itself: its CockroachDB pod and Ory replicas
             go down together, as in a real zone outage
    aws      the zone's EKS nodes of this sandbox's own cluster get a NoExecute taint, which
             evicts every pod there and keeps them off until the taint is removed
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from sandbox.errors import SandboxError
from sandbox.runtime.containers import (
    DOCKER_TIMEOUT,
    Runner,
    compose_names,
    heal_commands,
    inspect,
)

STOP_GRACE = 10
"""Seconds `docker stop` waits before SIGKILL (a v20.1 node can hang in shutdown)."""
TAINT_KEY = "io.iam-sandbox/zone-outage"


class Mode(StrEnum):
    stop = "stop"
    kill = "kill"
    pause = "pause"
    # The member shadows str.partition, but `partition` is the mode's public name (CLI, tests).
    partition = "partition"  # type: ignore[assignment]


def docker_fault(mode: Mode, container: str, network: str) -> list[list[str]]:
    """The commands that take `container` down the way `mode` says."""
    return {
        Mode.stop: [["docker", "stop", "-t", str(STOP_GRACE), container]],
        Mode.kill: [["docker", "kill", container]],
        Mode.pause: [["docker", "pause", container]],
        Mode.partition: [["docker", "network", "disconnect", network, container]],
    }[mode]


class DockerFault:
    """A fault on one container (compose node, or kind worker), restored from what it is now."""

    def __init__(
        self,
        runner: Runner,
        mode: Mode,
        container: str,
        network: str,
        aliases: Sequence[str] = (),
        address: str = "",
    ) -> None:
        self.runner = runner
        self.mode = mode
        self.victim = container
        self.network = network
        self.aliases = list(aliases)
        self.address = address

    def inject(self) -> None:
        for argv in docker_fault(self.mode, self.victim, self.network):
            self.runner(argv, timeout=DOCKER_TIMEOUT + STOP_GRACE)

    def restore(self) -> list[list[str]]:
        state = inspect(self.runner, self.victim)
        commands = heal_commands(state, self.network, self.aliases, self.address)
        done = []
        for argv in commands:
            if "--ip" in argv:
                # Docker takes a fixed address only on networks with a user-set subnet for
                # that family; otherwise reconnect and let it choose.
                if self.runner(argv, check=False, timeout=DOCKER_TIMEOUT).returncode == 0:
                    done.append(argv)
                    continue
                at = argv.index("--ip")
                argv = argv[:at] + argv[at + 2 :]
            self.runner(argv, timeout=DOCKER_TIMEOUT)
            done.append(argv)
        return done


# ---- compose ---------------------------------------------------------------------------


def compose_fault(runner: Runner, mode: Mode, project: str, node: str) -> DockerFault:
    container, network, aliases = compose_names(project, node)
    state = inspect(runner, container)
    if state.status != "running":
        raise SandboxError(
            f"{container} is {state.status}, not running: run `sandbox up` before a drill"
        )
    return DockerFault(runner, mode, container, network, aliases)


class ZoneFault:
    """Every container of a zone together (a PostgreSQL node and its etcd member): the
    outage of a zone, not of one process. Restored in reverse order."""

    def __init__(self, faults: Sequence[DockerFault]) -> None:
        self.faults = list(faults)
        self.victim = "+".join(f.victim for f in self.faults)

    def inject(self) -> None:
        for fault in self.faults:
            fault.inject()

    def restore(self) -> list[list[str]]:
        return [argv for fault in reversed(self.faults) for argv in fault.restore()]


def compose_zone_fault(
    runner: Runner, mode: Mode, project: str, members: Sequence[str]
) -> DockerFault | ZoneFault:
    """The fault of a zone's containers on Compose: one container alone, or all of them."""
    faults = [compose_fault(runner, mode, project, member) for member in members]
    return faults[0] if len(faults) == 1 else ZoneFault(faults)


# ---- kind ------------------------------------------------------------------------------

KIND_NETWORK = "kind"
KIND_CLUSTER_LABEL = "io.x-k8s.kind.cluster"


def zone_nodes_command(kubectl: Sequence[str], zone_label: str, zone: str) -> list[str]:
    return [*kubectl, "get", "nodes", "-l", f"{zone_label}={zone}", "-o", "name"]


def node_names(output: str) -> list[str]:
    """`kubectl get nodes -o name` lines (`node/x`) -> names."""
    return [line.strip().removeprefix("node/") for line in output.splitlines() if line.strip()]


def kind_fault(
    runner: Runner, mode: Mode, kubectl: Sequence[str], zone_label: str, zone: str, cluster: str
) -> DockerFault:
    """The worker node container of `zone`, checked to belong to this sandbox's kind cluster."""
    done = runner(zone_nodes_command(kubectl, zone_label, zone), timeout=60)
    names = node_names(done.stdout)
    if len(names) != 1:
        raise SandboxError(f"kind: expected one worker in zone {zone}, found {len(names)}")
    state = inspect(runner, names[0])
    if state.labels.get(KIND_CLUSTER_LABEL) != cluster:
        raise SandboxError(f"kind: {names[0]} is not a node of kind cluster {cluster}")
    if state.status != "running":
        raise SandboxError(f"kind: {names[0]} is {state.status}, not running")
    # Reconnect at the same address: the cluster knows its nodes by IP.
    address = state.networks.get(KIND_NETWORK, "")
    return DockerFault(runner, mode, names[0], KIND_NETWORK, (), address)


# ---- aws -------------------------------------------------------------------------------


def taint_commands(kubectl: Sequence[str], nodes: Sequence[str], zone: str) -> list[list[str]]:
    return [[*kubectl, "taint", "nodes", *nodes, f"{TAINT_KEY}={zone}:NoExecute", "--overwrite"]]


def evict_now_commands(
    kubectl: Sequence[str], nodes: Sequence[str], namespace: str
) -> list[list[str]]:
    """For `kill`: no grace period for the sandbox's pods on those nodes."""
    return [
        [
            *kubectl,
            "delete",
            "pods",
            "--namespace",
            namespace,
            "--field-selector",
            f"spec.nodeName={node}",
            "--grace-period=0",
            "--force",
            "--wait=false",
        ]
        for node in nodes
    ]


def untaint_commands(kubectl: Sequence[str], nodes: Sequence[str]) -> list[list[str]]:
    return [[*kubectl, "taint", "nodes", *nodes, f"{TAINT_KEY}:NoExecute-"]]


AWS_MODES = (Mode.stop, Mode.kill)
"""What a taint can do: evict gracefully, or at once. Freezing a node needs the instance."""


class TaintFault:
    """A zone outage on EKS: the zone's nodes of this sandbox's cluster are tainted NoExecute."""

    def __init__(
        self,
        runner: Runner,
        mode: Mode,
        kubectl: Sequence[str],
        nodes: Sequence[str],
        zone: str,
        namespace: str,
    ) -> None:
        self.runner = runner
        self.mode = mode
        self.kubectl = list(kubectl)
        self.nodes = list(nodes)
        self.zone = zone
        self.namespace = namespace
        self.victim = ", ".join(self.nodes)

    def inject(self) -> None:
        commands = taint_commands(self.kubectl, self.nodes, self.zone)
        if self.mode is Mode.kill:
            commands += evict_now_commands(self.kubectl, self.nodes, self.namespace)
        for argv in commands:
            self.runner(argv, timeout=120)

    def restore(self) -> list[list[str]]:
        commands = untaint_commands(self.kubectl, self.nodes)
        for argv in commands:
            done = self.runner(argv, check=False, timeout=120)
            if done.returncode != 0 and "not found" not in (done.stderr or ""):
                raise SandboxError(f"aws: could not remove the taint: {done.stderr.strip()}")
        return commands


def aws_fault(
    runner: Runner,
    mode: Mode,
    kubectl: Sequence[str],
    zone_label: str,
    zone: str,
    namespace: str,
) -> TaintFault:
    done = runner(zone_nodes_command(kubectl, zone_label, zone), timeout=60)
    nodes = node_names(done.stdout)
    if not nodes:
        raise SandboxError(f"aws: no node of this sandbox's cluster is in zone {zone}")
    return TaintFault(runner, mode, kubectl, nodes, zone, namespace)
