"""Reading the cluster: what it already holds before `up`, and the rows of `sandbox status`.

Every read is a `kubectl get ... -o json` through the session's executor, parsed here; a read
that fails (forbidden, unreachable, no such kind) is None, and the caller decides what that
means (`inspect`: cannot list nodes, so spread by host; `status`: nothing exists).
"""

from __future__ import annotations

import json
from typing import Any

from sandbox.model.topology import LOOPBACK, Topology
from sandbox.render import helm_values, k8s_names, kind
from sandbox.runtime.base import ServiceStatus
from sandbox.runtime.kube.commands import Executor
from sandbox.runtime.kube.steps import Cli
from sandbox.runtime.kube.update import LiveState


def items(executor: Executor, cli: Cli, *args: str) -> list[dict[str, Any]] | None:
    """`kubectl get ... -o json` items; None when they cannot be read."""
    done = executor.run(cli.kubectl("get", *args, "-o", "json", timeout=60), check=False)
    if done.code != 0:
        return None
    try:
        found: list[dict[str, Any]] = json.loads(done.stdout).get("items", [])
    except (ValueError, AttributeError):
        return None
    return found


def zones_of(nodes: list[dict[str, Any]]) -> dict[str, str]:
    """zone -> region ('' when unlabelled) over the nodes that carry a zone label."""
    zones: dict[str, str] = {}
    for node in nodes:
        labels = node["metadata"].get("labels") or {}
        if kind.ZONE_LABEL in labels:
            zones.setdefault(labels[kind.ZONE_LABEL], labels.get(kind.REGION_LABEL, ""))
    return zones


def inspect(executor: Executor, cli: Cli, topology: Topology) -> LiveState:
    """One read of the cluster, before anything is rendered or applied."""
    nodes = items(executor, cli, "nodes")
    selector = f"app.kubernetes.io/part-of={k8s_names.part_of(topology)}"

    def named(found: list[dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
        return {i["metadata"]["name"]: i for i in found or []}

    secrets = named(items(executor, cli, "secrets", "-l", selector))
    return LiveState(
        zones=None if nodes is None else zones_of(nodes),
        nodes=len(nodes or []),
        statefulsets=named(items(executor, cli, "statefulsets", "-l", selector)),
        jobs=named(items(executor, cli, "jobs", "-l", selector)),
        secrets={name: obj.get("data") or {} for name, obj in secrets.items()},
        deployments=frozenset(named(items(executor, cli, "deployments"))),
    )


def status_rows(
    topology: Topology, pods: list[dict[str, Any]], nodes: list[dict[str, Any]]
) -> list[ServiceStatus]:
    """One row per pod: phase, readiness, the zone of its node, its forwarded endpoint."""
    zone_of = {
        n["metadata"]["name"]: (n["metadata"].get("labels") or {}).get(kind.ZONE_LABEL, "")
        for n in nodes
    }
    endpoints = {n.pod: f"{LOOPBACK}:{n.sql_host_port}" for n in topology.nodes}
    forwarded = {
        res.removeprefix("svc/").rsplit("-", 1)[0]: f"http://{LOOPBACK}:{host}"
        for res, host, _ in helm_values.port_forwards(topology)
        if res.startswith("svc/") and res.endswith(("-public", "-read"))
    }
    rows = []
    for pod in pods:
        meta, spec, st = pod["metadata"], pod.get("spec", {}), pod.get("status", {})
        phase = st.get("phase", "Unknown")
        containers = st.get("containerStatuses") or []
        ready = bool(containers) and all(c.get("ready") for c in containers)
        health = "completed" if phase == "Succeeded" else ("healthy" if ready else "starting")
        app = (meta.get("labels") or {}).get("app.kubernetes.io/name", "")
        rows.append(
            ServiceStatus(
                name=meta["name"],
                state=phase.lower(),
                health=health,
                zone=zone_of.get(spec.get("nodeName", ""), ""),
                endpoint=endpoints.get(meta["name"]) or forwarded.get(app, ""),
            )
        )
    return rows
