"""What a container is now, and what brings it back: shared by `up` and `sandbox chaos`.

`sandbox up` heals whatever a drill that was killed left behind (a stopped, paused or
disconnected node); the drill restores its own fault the same way. Planned as argv lists by
pure functions and run by a `Runner` (the real one is `sandbox.exec.run`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

DOCKER_TIMEOUT = 60

Runner = Callable[..., Any]
"""`sandbox.exec.run`'s signature: runner(argv, check=..., timeout=...) -> CompletedProcess."""


@dataclass(frozen=True)
class ContainerState:
    name: str
    status: str
    """running, paused, exited, created, ... ("missing" when there is no such container)."""
    networks: dict[str, str]
    """network name -> IPv4 address on it."""
    labels: dict[str, str]


def container_state(inspect_output: str) -> ContainerState:
    """Parse `docker inspect CONTAINER` (a JSON list of one)."""
    data = json.loads(inspect_output)[0]
    networks = data.get("NetworkSettings", {}).get("Networks") or {}
    return ContainerState(
        name=str(data.get("Name", "")).lstrip("/"),
        status=str(data.get("State", {}).get("Status", "")),
        networks={name: str(n.get("IPAddress") or "") for name, n in networks.items()},
        labels=dict(data.get("Config", {}).get("Labels") or {}),
    )


def heal_commands(
    state: ContainerState, network: str, aliases: Sequence[str] = (), address: str = ""
) -> list[list[str]]:
    """What brings `state` back: reconnect (with its aliases / its address), start, unpause."""
    name = state.name
    out: list[list[str]] = []
    if state.status == "missing":
        return out
    if network not in state.networks:
        connect = ["docker", "network", "connect"]
        for alias in aliases:
            connect += ["--alias", alias]
        if address:
            connect += ["--ip", address]
        out.append([*connect, network, name])
    if state.status == "paused":
        out.append(["docker", "unpause", name])
    elif state.status in ("exited", "created", "dead"):
        out.append(["docker", "start", name])
    return out


def inspect(runner: Runner, container: str) -> ContainerState:
    done = runner(["docker", "inspect", container], check=False, timeout=DOCKER_TIMEOUT)
    if done.returncode != 0:
        return ContainerState(container, "missing", {}, {})
    return container_state(done.stdout)


def compose_names(project: str, node: str) -> tuple[str, str, list[str]]:
    """(container, network, aliases) of a Compose node: the names `render.compose` gives."""
    container = f"{project}-{node}"
    return container, f"{project}_default", [node, container]


def heal_compose(runner: Runner, project: str, nodes: Sequence[str]) -> list[str]:
    """Undo whatever a drill left on this project's nodes; one line per container healed."""
    healed = []
    for node in nodes:
        container, network, aliases = compose_names(project, node)
        state = inspect(runner, container)
        commands = heal_commands(state, network, aliases)
        for argv in commands:
            runner(argv, timeout=DOCKER_TIMEOUT)
        if commands:
            verbs = ", ".join(" ".join(a[1:3]) if a[1] == "network" else a[1] for a in commands)
            healed.append(f"healed {container} ({state.status}): {verbs}")
    return healed
