"""CockroachDB on Kubernetes, one node per zone: the objects the sandbox applies itself.

The public CockroachDB chart gives every pod the same `--locality`, so each zone gets its own
single-replica StatefulSet named like the node (pod `crdb-1-0`), pinned by nodeSelector to that
zone's worker and started with its own locality. Nodes join through the headless service's
stable pod names, which the node certificates carry as SANs.

Identical on kind and EKS. The one thing that differs, the StorageClass behind the volumes,
is the per-target overlay (`storage_class`). Secrets are built here too (`secrets`), but only
in memory: the driver pipes them to `kubectl apply -f -`, so no key is ever written into a
render folder or shows up in a command line.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sandbox.model.engines.cockroach import HTTP_PORT, RPC_PORT, SQL_PORT, STORE
from sandbox.model.topology import Node, Topology
from sandbox.render import yaml_text
from sandbox.render.k8s_names import (
    APP,
    BOOTSTRAP_JOB,
    BOOTSTRAP_SECRET,
    CA_SECRET,
    CERTS_DIR,
    CLIENT_CERTS_DIR,
    HOSTNAME_LABEL,
    INIT_JOB,
    INPUTS_ANNOTATION,
    ORY_SECRET_KEYS,
    ROOT_CLIENT_SECRET,
    TargetName,
    client_secret,
    meta,
    node_secret,
    object_labels,
    ory_secret,
    pod_fqdn,
    storage_class_name,
    volume_class,
)
from sandbox.render.kind import ZONE_LABEL

PROVISIONERS: dict[str, dict[str, Any]] = {
    # kind ships Rancher's local-path provisioner; EKS gets gp3 EBS through the CSI addon.
    "kind": {"provisioner": "rancher.io/local-path"},
    "aws": {
        "provisioner": "ebs.csi.aws.com",
        "parameters": {"type": "gp3", "csi.storage.k8s.io/fstype": "ext4"},
        "allowVolumeExpansion": True,
    },
}


def namespace(topology: Topology) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": topology.namespace, "labels": object_labels(topology, "namespace")},
    }


def _ports(*names: str) -> list[dict[str, Any]]:
    ports = {"grpc": RPC_PORT, "sql": SQL_PORT, "http": HTTP_PORT}
    return [{"name": n, "port": ports[n], "targetPort": n, "protocol": "TCP"} for n in names]


def services(topology: Topology) -> list[dict[str, Any]]:
    """The headless service (stable pod names) and the SQL service `crdb` (never public)."""
    selector = {"app.kubernetes.io/name": APP, "app.kubernetes.io/component": "node"}
    headless = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(topology, topology.headless_service, "service"),
        "spec": {
            "clusterIP": "None",
            # Nodes must find each other before they are ready, or the cluster never forms.
            "publishNotReadyAddresses": True,
            "selector": selector,
            "ports": _ports("grpc", "sql", "http"),
        },
    }
    public = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(topology, topology.load_balancer, "service"),
        "spec": {"type": "ClusterIP", "selector": selector, "ports": _ports("sql", "http")},
    }
    return [headless, public]


def start_args(topology: Topology, node: Node) -> list[str]:
    host = pod_fqdn(topology, node)
    join = [f"{pod_fqdn(topology, n)}:{RPC_PORT}" for n in topology.nodes]
    return topology.engine.node_command(topology, node, certs_dir=CERTS_DIR, host=host, join=join)


def _probe(path: str, **timing: int) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": "http", "scheme": "HTTPS"}, **timing}


def _placement(topology: Topology, node: Node) -> dict[str, Any]:
    """Pinned to the node's zone; or, with `kubernetes.spread: hostname` (a cluster without
    three zones), kept apart from the other nodes by host where the cluster has hosts to spare."""
    if topology.settings.kubernetes.spread == "zone":
        return {"nodeSelector": {ZONE_LABEL: node.zone}}
    apart = {"app.kubernetes.io/name": APP, "app.kubernetes.io/component": "node"}
    term = {"labelSelector": {"matchLabels": apart}, "topologyKey": HOSTNAME_LABEL}
    preferred = [{"weight": 100, "podAffinityTerm": term}]
    rule = {"preferredDuringSchedulingIgnoredDuringExecution": preferred}
    return {"affinity": {"podAntiAffinity": rule}}


def statefulset(topology: Topology, node: Node, target: TargetName = "kind") -> dict[str, Any]:
    memory = f"{topology.settings.memory.cockroach_node}Mi"
    labels = object_labels(topology, "node", **{"app.kubernetes.io/instance": node.name})
    selector = {
        "app.kubernetes.io/name": APP,
        "app.kubernetes.io/component": "node",
        "app.kubernetes.io/instance": node.name,
    }
    container = {
        "name": "cockroach",
        "image": topology.image("cockroach"),
        "imagePullPolicy": "IfNotPresent",
        "command": ["/cockroach/cockroach"],
        "args": start_args(topology, node),
        "env": [
            {"name": k, "value": v}
            for k, v in topology.engine.node_environment(topology, node).items()
        ],
        "ports": [
            {"name": "grpc", "containerPort": RPC_PORT},
            {"name": "sql", "containerPort": SQL_PORT},
            {"name": "http", "containerPort": HTTP_PORT},
        ],
        "resources": {"requests": {"memory": memory}, "limits": {"memory": memory}},
        "readinessProbe": _probe("/health?ready=1", periodSeconds=5, failureThreshold=3),
        "livenessProbe": _probe(
            "/health", initialDelaySeconds=30, periodSeconds=10, failureThreshold=6
        ),
        "volumeMounts": [
            {"name": "datadir", "mountPath": STORE},
            {"name": "certs", "mountPath": CERTS_DIR, "readOnly": True},
            *(
                {
                    "name": f"client-{user}",
                    "mountPath": f"{CLIENT_CERTS_DIR}/{user}",
                    "readOnly": True,
                }
                for user in topology.sql_users
            ),
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {**meta(topology, node.name, "node"), "labels": labels},
        "spec": {
            "serviceName": topology.headless_service,
            "replicas": 1,
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": {**labels, ZONE_LABEL: node.zone}},
                "spec": {
                    **_placement(topology, node),
                    "terminationGracePeriodSeconds": 60,
                    "containers": [container],
                    "volumes": [
                        {
                            "name": "certs",
                            # CockroachDB refuses keys readable by others; it runs as root.
                            "secret": {"secretName": node_secret(node), "defaultMode": 0o400},
                        },
                        *(
                            {
                                "name": f"client-{user}",
                                "secret": {"secretName": client_secret(user), "defaultMode": 0o400},
                            }
                            for user in topology.sql_users
                        ),
                    ],
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "datadir", "labels": labels},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        **_class_field(volume_class(topology, target)),
                        "resources": {
                            "requests": {"storage": topology.settings.kubernetes.storage_size}
                        },
                    },
                }
            ],
        },
    }


def _class_field(name: str | None) -> dict[str, str]:
    return {"storageClassName": name} if name is not None else {}


def disruption_budget(topology: Topology) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta(topology, f"{topology.settings.node_prefix}-budget", "budget"),
        "spec": {
            "maxUnavailable": 1,  # one zone at a time: 2 of 3 replicas keep every range alive
            "selector": {
                "matchLabels": {
                    "app.kubernetes.io/name": APP,
                    "app.kubernetes.io/component": "node",
                }
            },
        },
    }


def _job(topology: Topology, name: str, script: str, env: list[dict[str, Any]]) -> dict[str, Any]:
    memory = f"{topology.settings.memory.cockroach_one_shot}Mi"
    spec: dict[str, Any] = {
        "backoffLimit": 3,
        "template": {
            "metadata": {"labels": object_labels(topology, "one-shot")},
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": name,
                        "image": topology.image("cockroach"),
                        "command": ["/bin/sh", "-c", script],
                        "env": env,
                        "resources": {
                            "requests": {"memory": memory},
                            "limits": {"memory": memory},
                        },
                        "volumeMounts": [
                            {"name": "certs", "mountPath": CERTS_DIR, "readOnly": True}
                        ],
                    }
                ],
                "volumes": [
                    {
                        "name": "certs",
                        "secret": {"secretName": ROOT_CLIENT_SECRET, "defaultMode": 0o400},
                    }
                ],
            },
        },
    }
    metadata = meta(topology, name, "one-shot")
    metadata["annotations"] = {INPUTS_ANNOTATION: spec_digest(spec)}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": spec}


def spec_digest(spec: dict[str, Any]) -> str:
    """A short, stable digest of a spec (key order does not matter)."""
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def init_job(topology: Topology) -> dict[str, Any]:
    first = f"{pod_fqdn(topology, topology.nodes[0])}:{RPC_PORT}"
    return _job(
        topology,
        INIT_JOB,
        topology.engine.one_shots(topology, CERTS_DIR)[0].script,
        [{"name": "INIT_HOST", "value": first}],
    )


def bootstrap_job(topology: Topology) -> dict[str, Any]:
    shot = topology.engine.one_shots(topology, CERTS_DIR)[1]

    def from_secret(name: str, key: str, optional: bool = False) -> dict[str, Any]:
        ref: dict[str, Any] = {"name": BOOTSTRAP_SECRET, "key": key}
        if optional:
            ref["optional"] = True
        return {"name": name, "valueFrom": {"secretKeyRef": ref}}

    env = [
        *({"name": k, "value": v} for k, v in shot.env.items()),
        from_secret("ORY_PASSWORD", "ORY_PASSWORD"),
        from_secret("COCKROACH_LICENSE_KEY", "COCKROACH_LICENSE_KEY", optional=True),
    ]
    return _job(topology, BOOTSTRAP_JOB, shot.script, env)


def storage_class(topology: Topology, target: TargetName) -> dict[str, Any]:
    """The per-target overlay: the class the CockroachDB volumes ask for, by the same name."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": storage_class_name(topology),
            "labels": object_labels(topology, "storage"),
        },
        "reclaimPolicy": "Delete",
        # Zonal volumes must be created where the pod lands (EBS is per zone).
        "volumeBindingMode": "WaitForFirstConsumer",
        **PROVISIONERS[target],
    }


def manifests(topology: Topology, target: TargetName = "kind") -> dict[str, list[dict[str, Any]]]:
    """File name -> objects, in apply order. The same on kind and aws; on an existing cluster
    (k8s) only the volumes' StorageClass differs."""
    out: dict[str, list[dict[str, Any]]] = {
        "00-namespace.yaml": [namespace(topology)],
        "10-crdb-services.yaml": services(topology),
    }
    for node in topology.nodes:
        out[f"20-{node.name}.yaml"] = [statefulset(topology, node, target)]
    out["30-crdb-budget.yaml"] = [disruption_budget(topology)]
    out[f"40-{INIT_JOB}.yaml"] = [init_job(topology)]
    out[f"50-{BOOTSTRAP_JOB}.yaml"] = [bootstrap_job(topology)]
    return out


# -- Secrets: built in memory at apply time, never written into a render folder ----------------


@dataclass(frozen=True)
class SecretMaterial:
    """What the Secrets are made of, read by the driver from the state directory."""

    ca_crt: bytes
    node_files: dict[str, dict[str, bytes]]
    """node name -> {ca.crt, node.crt, node.key}"""
    clients: dict[str, dict[str, bytes]]
    """SQL user -> {ca.crt, client.<user>.crt, client.<user>.key}"""
    ory_env: dict[str, dict[str, str]]
    """`ory.secret_env(...)`: per service, DSN and SECRETS_*."""
    bootstrap_env: dict[str, str]
    """ORY_PASSWORD and, when set, COCKROACH_LICENSE_KEY."""


def _secret(topology: Topology, name: str, data: dict[str, bytes]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": meta(topology, name, "secret"),
        "data": {key: base64.b64encode(value).decode() for key, value in sorted(data.items())},
    }


def secrets(topology: Topology, material: SecretMaterial) -> list[dict[str, Any]]:
    out = [_secret(topology, node_secret(n), material.node_files[n.name]) for n in topology.nodes]
    out += [_secret(topology, client_secret(u), material.clients[u]) for u in topology.sql_users]
    out.append(_secret(topology, CA_SECRET, {"ca.crt": material.ca_crt}))
    out.append(
        _secret(
            topology,
            BOOTSTRAP_SECRET,
            {key: value.encode() for key, value in material.bootstrap_env.items()},
        )
    )
    for svc in (c.name for c in topology.components):
        env = dict(material.ory_env.get(svc, {}))
        if svc == "hydra":
            # The chart reads secretsCookie; Hydra's own default for it is the system secret.
            env.setdefault("SECRETS_COOKIE", env["SECRETS_SYSTEM"])
        data = {ORY_SECRET_KEYS[name]: value.encode() for name, value in env.items()}
        out.append(_secret(topology, ory_secret(svc), data))
    return out


def secret_names(topology: Topology) -> list[str]:
    """Every Secret `secrets` makes, in the same order (for dry-run and status)."""
    return [
        *(node_secret(n) for n in topology.nodes),
        *(client_secret(u) for u in topology.sql_users),
        CA_SECRET,
        BOOTSTRAP_SECRET,
        *(ory_secret(svc) for svc in (c.name for c in topology.components)),
    ]


# -- YAML text ----------------------------------------------------------------------------------

HEADER = "# Rendered by `sandbox render` from sandbox.yaml; edit the settings, not this file.\n"


def to_yaml(*documents: Any, header: str = HEADER) -> str:
    """Plain YAML text of one or more documents (`yaml_text.dump`), under the render header."""
    return yaml_text.dump(*documents, header=header)
