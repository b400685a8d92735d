"""What a second `up` must do differently, decided from what the cluster already holds.

Pure functions over `LiveState` (read once, before anything is rendered or applied):
- `placement`: the zones the CockroachDB nodes are pinned to, from the nodes' zone labels; or
  spreading by host when the cluster has no three zones. It returns a new topology, which the
  runtime renders once (`sandbox.runtime.kube.deployment`); the runtime's own is never replaced.
- `plan_update`: which Jobs to delete and create again (a Job's template is immutable), whether
  the bootstrap must re-run (its Secret changed: ory password, license key), which Ory
  Deployments to restart (their Secret changed), and the changes Kubernetes cannot make in place
  (a StatefulSet's volumes), refused with one line before anything changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.errors import BadInput
from sandbox.model.topology import Topology
from sandbox.render import k8s_names
from sandbox.render.k8s_names import INPUTS_ANNOTATION as INPUTS
from sandbox.render.kind import ZONE_LABEL

_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_SUFFIX = {
    "": 1,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
}


@dataclass(frozen=True)
class LiveState:
    """The objects of this sandbox the cluster already has (empty on a first `up`)."""

    zones: dict[str, str] | None = None
    """zone -> region ('' when unlabelled) over the nodes; None when nodes cannot be listed."""
    nodes: int = 0
    statefulsets: dict[str, dict[str, Any]] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    """Secret name -> its `data` (base64 values, as the API returns them)."""
    deployments: frozenset[str] = frozenset()


@dataclass(frozen=True)
class UpdatePlan:
    replace_jobs: tuple[str, ...] = ()
    restart: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def quantity_bytes(text: str) -> Decimal | None:
    """A Kubernetes quantity ("10Gi", "10240Mi", "1e3") as a number; None if unreadable."""
    match = re.fullmatch(r"\s*([0-9.]+(?:[eE][-+]?[0-9]+)?)([KMGTPE]i|[kMGTPE])?\s*", text)
    if not match:
        return None
    try:
        return Decimal(match.group(1)) * _SUFFIX[match.group(2) or ""]
    except InvalidOperation:
        return None


def label_command(topology: Topology) -> str:
    zones = topology.settings.zones
    return "; ".join(
        f"kubectl label node <node-{i}> {ZONE_LABEL}={zone}" for i, zone in enumerate(zones, 1)
    )


def placement(topology: Topology, live: LiveState) -> tuple[Topology, str | None]:
    """The topology to deploy on this cluster, and what to tell the user about it (or None)."""
    s = topology.settings
    if s.kubernetes.spread == "hostname":
        return topology, None
    wanted = list(s.zones)
    found = {z: r for z, r in (live.zones or {}).items() if _DNS_LABEL.match(z)}
    if set(wanted) <= set(found):
        return topology, None
    if len(found) >= 3:
        zones = sorted(found)[:3]
        regions = {found[z] for z in zones} - {""}
        update: dict[str, Any] = {"zones": zones}
        if len(regions) == 1 and _DNS_LABEL.match(next(iter(regions))):
            update["region"] = next(iter(regions))
        chosen = Topology(s.model_copy(update=update))
        return chosen, (
            f"the nodes' {ZONE_LABEL} labels name other zones than the settings: "
            f"one CockroachDB node in each of {', '.join(zones)}"
        )
    hostname = s.model_copy(
        update={"kubernetes": s.kubernetes.model_copy(update={"spread": "hostname"})}
    )
    why = (
        "cannot list the cluster's nodes"
        if live.zones is None
        else f"the nodes carry {len(found)} {ZONE_LABEL} value(s), not 3"
    )
    return Topology(hostname), (
        f"{why}: spreading by host name instead (localities stay {', '.join(wanted)}); "
        f"to spread by zone, label three nodes: {label_command(topology)}"
    )


def _claim(statefulset: dict[str, Any]) -> dict[str, Any]:
    templates = statefulset.get("spec", {}).get("volumeClaimTemplates") or [{}]
    spec: dict[str, Any] = templates[0].get("spec", {})
    return spec


def _refuse_volume_changes(desired: dict[str, dict[str, Any]], live: LiveState) -> None:
    for name, want in desired.items():
        have = live.statefulsets.get(name)
        if have is None:
            continue
        old, new = _claim(have), _claim(want)
        old_size = old.get("resources", {}).get("requests", {}).get("storage", "")
        new_size = new["resources"]["requests"]["storage"]
        if quantity_bytes(old_size) != quantity_bytes(new_size):
            raise BadInput(
                f"kubernetes.storage_size: statefulset/{name} already has {old_size} volumes and "
                f"Kubernetes cannot resize a StatefulSet's volumes in place; set it back to "
                f"{old_size}, or run `sandbox down` (deletes the data) and `up` for {new_size}"
            )
        if old.get("storageClassName") != new.get("storageClassName"):
            raise BadInput(
                f"kubernetes.storage_class: statefulset/{name} already has volumes of class "
                f"{old.get('storageClassName') or '(cluster default)'}, which cannot change in "
                f"place; set it back, or run `sandbox down` (deletes the data) and `up` again"
            )


def plan_update(
    manifests: dict[str, list[dict[str, Any]]],
    secrets: list[dict[str, Any]],
    live: LiveState,
) -> UpdatePlan:
    """What this `up` replaces or restarts; BadInput for what it cannot change."""
    objects = [obj for docs in manifests.values() for obj in docs]
    desired_sets = {o["metadata"]["name"]: o for o in objects if o["kind"] == "StatefulSet"}
    _refuse_volume_changes(desired_sets, live)
    desired_secrets = {o["metadata"]["name"]: o.get("data", {}) for o in secrets}
    changed = {
        name
        for name, data in desired_secrets.items()
        if name in live.secrets and live.secrets[name] != data
    }
    replace, notes = [], []
    for job in (o for o in objects if o["kind"] == "Job"):
        name = job["metadata"]["name"]
        have = live.jobs.get(name)
        if have is None:
            continue
        want = job["metadata"]["annotations"][INPUTS]
        if (have.get("metadata", {}).get("annotations") or {}).get(INPUTS) != want:
            replace.append(name)
            notes.append(f"job/{name}: its spec changed, so it runs again")
        elif name == k8s_names.BOOTSTRAP_JOB and k8s_names.BOOTSTRAP_SECRET in changed:
            replace.append(name)
            notes.append(f"job/{name}: the ory password or license key changed, so it runs again")
    # A Deployment whose own Secret changed restarts (its pods read it only at start), in the
    # order the Secrets are made: the components' order.
    by_secret = {k8s_names.ory_secret(name): name for name in live.deployments}
    restart = tuple(
        by_secret[name] for name in desired_secrets if name in changed and name in by_secret
    )
    if restart:
        notes.append(f"the secrets of {', '.join(restart)} changed: their pods are restarted")
    return UpdatePlan(tuple(replace), restart, tuple(notes))
