"""Every CockroachDB node logs to stderr and reports no diagnostics, on Compose and Kubernetes.

Without `--logtostderr` a v21.1+ node writes its log only to files under the store, so
`docker logs` / `kubectl logs` (and `sandbox logs crdb-N`) show nothing after the banner.
"""

from __future__ import annotations

from typing import Any

import yaml

from sandbox.config.settings import Settings
from sandbox.model.topology import Topology
from sandbox.render import compose, k8s
from tests.support.secrets import RENDER_SECRETS

NODES = ("crdb-1", "crdb-2", "crdb-3")
DIAGNOSTICS_OFF = {"COCKROACH_SKIP_ENABLING_DIAGNOSTIC_REPORTING": "true"}


def compose_services() -> dict[str, Any]:
    secrets = RENDER_SECRETS
    text = compose.render_project(Topology(Settings()), secrets).public["compose.yaml"]
    return yaml.safe_load(text)["services"]  # the text Compose reads, not the model


def test_compose_nodes_log_to_stderr_and_keep_diagnostics_off() -> None:
    services = compose_services()
    for name in NODES:
        command = services[name]["command"]
        assert command[0] == "start"
        assert command.count("--logtostderr=INFO") == 1, name
        assert services[name]["environment"] == DIAGNOSTICS_OFF, name


def test_compose_nodes_run_no_client_inside_their_memory_cap() -> None:
    # A `cockroach sql` health check every 15 s is a second v25.4 process in the node's
    # cgroup, next to a server that may use ~545 MiB of its 640 MiB cap: the OOM killer's
    # pick. Readiness is probed from outside instead (`status`, `up`, HAProxy).
    services = compose_services()
    assert [name for name in NODES if "healthcheck" in services[name]] == []


def test_compose_one_shots_and_ory_get_no_node_flags() -> None:
    services = compose_services()
    for name in ("crdb-init", "crdb-bootstrap", "hydra", "crdb"):
        assert "--logtostderr=INFO" not in (services[name].get("command") or []), name


def test_kubernetes_nodes_log_to_stderr_and_keep_diagnostics_off() -> None:
    manifests = k8s.manifests(Topology(Settings()))
    for name in NODES:
        (statefulset,) = manifests[f"20-{name}.yaml"]
        (container,) = statefulset["spec"]["template"]["spec"]["containers"]
        assert container["args"].count("--logtostderr=INFO") == 1, name
        assert container["env"] == [
            {"name": "COCKROACH_SKIP_ENABLING_DIAGNOSTIC_REPORTING", "value": "true"}
        ], name
