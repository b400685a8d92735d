"""What a snapshot of a migrated stack must match, and the key derived from it.

A snapshot holds the database volumes of a stack that `up` brought to health, with the
certificates and secrets they were made with. It is only good for a stack that would have made
the same data: the same engine and images (the Ory images decide the migrations), the same node
names, zones and region (CockroachDB keeps localities and addresses in its data), the same SQL
user layout. Those inputs, as plain strings, are the snapshot's *inputs*; their digest is its
*key*: computable from the settings alone, before any image is pulled, so a CI cache step can
ask `sandbox snapshot key` for it. Ports, memory caps, timeouts and the login UI do not shape
the data and are left out, so changing them keeps a snapshot usable.
"""

from __future__ import annotations

import hashlib
import json

from sandbox.model.topology import Topology

FORMAT = "1"
"""Bumped when the archive layout changes: older archives then no longer match."""


def key_inputs(topology: Topology) -> dict[str, str]:
    """Every input that shapes the stored data, by the settings field that sets it."""
    s = topology.settings
    inputs = {
        "snapshot format": FORMAT,
        "database.engine": s.database.engine,
        "region": s.region,
        "zones": ",".join(s.zones),
        "node_prefix": s.node_prefix,
        "load_balancer": s.load_balancer,
    }
    engine = topology.engine
    for key in engine.image_keys:
        inputs[f"images.{key}"] = topology.image(key)
    if s.database.engine == "postgres":
        inputs["versions.patroni"] = s.versions.patroni
    for component in topology.components:
        if component.database:
            inputs[f"images.{component.name}"] = topology.image(component.name)
    return inputs


def snapshot_key(inputs: dict[str, str]) -> str:
    """16 hex digits of the SHA-256 of the inputs, in a fixed order."""
    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def differences(taken: dict[str, str], now: dict[str, str]) -> list[str]:
    """`field: snapshot has A, the settings give B` for each input that differs."""
    out = []
    for name in sorted(set(taken) | set(now)):
        before, after = taken.get(name, "(not set)"), now.get(name, "(not set)")
        if before != after:
            out.append(f"{name}: the snapshot has {before}, the settings give {after}")
    return out
