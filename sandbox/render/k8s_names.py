"""Names and labels of the objects the sandbox makes itself on Kubernetes, shared by the
node, Job and Secret renderers: one place that says what each object is called."""

from __future__ import annotations

from typing import Any, Literal

from sandbox.model.topology import Node, Topology

TargetName = Literal["kind", "aws", "k8s"]

CERTS_DIR = "/cockroach/cockroach-certs"
APP = "cockroachdb"
CLIENT_CERTS_DIR = "/cockroach/client-certs"
"""`<dir>/<user>` holds ca.crt and client.<user>.*, as on Compose, for `sandbox sql`."""
ROOT_CLIENT_SECRET = "crdb-client-root"
CA_SECRET = "crdb-ca"
"""CA certificate only: what the Ory pods mount (at `ory.CA_PATH`)."""
BOOTSTRAP_SECRET = "crdb-bootstrap"
INIT_JOB = "crdb-init"
BOOTSTRAP_JOB = "crdb-bootstrap"
INPUTS_ANNOTATION = "iam-sandbox/inputs-hash"
"""On each Job: a digest of its spec. A Job's template cannot change, so a different digest
tells the driver to delete the Job and create it again."""
HOSTNAME_LABEL = "kubernetes.io/hostname"
ORY_SECRET_KEYS = {
    # ory.secret_env names -> the keys the Ory charts read back into those same env names
    "DSN": "dsn",
    "SECRETS_SYSTEM": "secretsSystem",
    "SECRETS_DEFAULT": "secretsDefault",
    "SECRETS_COOKIE": "secretsCookie",
    "SECRETS_CIPHER": "secretsCipher",
    # the login UI's chart
    "COOKIE_SECRET": "secretsCookie",
    "CSRF_COOKIE_SECRET": "secretsCSRFCookie",
}


def storage_class_name(topology: Topology) -> str:
    return f"{topology.project.replace('_', '-')}-crdb"


def volume_class(topology: Topology, target: TargetName) -> str | None:
    """kind and aws bring their own class (the overlay); an existing cluster (k8s) uses
    `kubernetes.storage_class`, or its default class when that is unset (None)."""
    if target == "k8s":
        return topology.settings.kubernetes.storage_class
    return storage_class_name(topology)


def node_secret(node: Node) -> str:
    return f"{node.name}-certs"


def client_secret(user: str) -> str:
    return f"crdb-client-{user}"


def ory_secret(service: str) -> str:
    return f"{service}-secrets"


def pod_fqdn(topology: Topology, node: Node) -> str:
    return f"{node.pod}.{topology.headless_service}.{topology.namespace}.svc.cluster.local"


def part_of(topology: Topology) -> str:
    """The `app.kubernetes.io/part-of` label of every object the sandbox makes itself."""
    return topology.project.replace("_", "-")


def object_labels(topology: Topology, component: str, **extra: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/part-of": part_of(topology),
        "app.kubernetes.io/managed-by": "iam-sandbox",
        "app.kubernetes.io/name": APP,
        "app.kubernetes.io/component": component,
        **extra,
    }


def meta(topology: Topology, name: str, component: str, **extra: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": topology.namespace,
        "labels": object_labels(topology, component, **extra),
    }
