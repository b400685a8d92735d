"""Planning a second `up` from what the cluster holds: zones, Jobs to re-run, refusals."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from sandbox.config.settings import Settings
from sandbox.errors import BadInput
from sandbox.model.topology import Topology
from sandbox.render import k8s
from sandbox.render.k8s import SecretMaterial
from sandbox.runtime.kube.update import LiveState, placement, plan_update, quantity_bytes

MATERIAL = SecretMaterial(
    ca_crt=b"ca",
    node_files={
        f"crdb-{i}": {"ca.crt": b"ca", "node.crt": b"c", "node.key": b"k"} for i in (1, 2, 3)
    },
    clients={u: {"ca.crt": b"ca"} for u in ("root", "ory")},
    ory_env={
        "hydra": {"DSN": "postgres://x", "SECRETS_SYSTEM": "s"},
        "kratos": {"DSN": "postgres://y", "SECRETS_DEFAULT": "d"},
        "keto": {"DSN": "postgres://z"},
    },
    bootstrap_env={"ORY_PASSWORD": "first"},
)


def statefulset(name: str) -> dict[str, Any]:
    """A StatefulSet as the API server returns it, cut to its volume claim (what the plan reads)."""
    claim = {
        "accessModes": ["ReadWriteOnce"],
        "storageClassName": "iam-sandbox-crdb",
        "resources": {"requests": {"storage": "10Gi"}},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": "iam-sandbox"},
        "spec": {"volumeClaimTemplates": [{"metadata": {"name": "datadir"}, "spec": claim}]},
    }


def job(name: str, inputs_hash: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": "iam-sandbox",
            "annotations": {"iam-sandbox/inputs-hash": inputs_hash},
        },
    }


CERTS = {"ca.crt": "Y2E=", "node.crt": "Yw==", "node.key": "aw=="}  # b"ca", b"c", b"k"
LIVE = LiveState(
    # What `up` of the default settings with MATERIAL left in the cluster. The Jobs' hashes are
    # those of the default init and bootstrap Jobs: a change to either Job's spec changes its
    # hash (and a second `up` runs it again), so such a change is seen here first.
    zones={"us-east-1a": "us-east-1", "us-east-1b": "us-east-1", "us-east-1c": "us-east-1"},
    nodes=3,
    statefulsets={name: statefulset(name) for name in ("crdb-1", "crdb-2", "crdb-3")},
    jobs={
        "crdb-init": job("crdb-init", "266d435d568949fa"),
        "crdb-bootstrap": job("crdb-bootstrap", "30c4e01ce4049324"),
    },
    secrets={
        "crdb-1-certs": CERTS,
        "crdb-2-certs": CERTS,
        "crdb-3-certs": CERTS,
        "crdb-client-root": {"ca.crt": "Y2E="},
        "crdb-client-ory": {"ca.crt": "Y2E="},
        "crdb-ca": {"ca.crt": "Y2E="},
        "crdb-bootstrap": {"ORY_PASSWORD": "Zmlyc3Q="},  # b"first"
        # b"postgres://x", b"s", b"s"
        "hydra-secrets": {
            "dsn": "cG9zdGdyZXM6Ly94",
            "secretsCookie": "cw==",
            "secretsSystem": "cw==",
        },
        "kratos-secrets": {"dsn": "cG9zdGdyZXM6Ly95", "secretsDefault": "ZA=="},  # .../y, b"d"
        "keto-secrets": {"dsn": "cG9zdGdyZXM6Ly96"},  # b"postgres://z"
    },
    deployments=frozenset({"hydra", "kratos", "keto"}),
)


def test_quantities_compare_by_value() -> None:
    assert quantity_bytes("10Gi") == quantity_bytes("10240Mi") == 10 * 2**30
    assert quantity_bytes("1G") == 10**9
    assert quantity_bytes("10Gi") != quantity_bytes("10G")
    assert quantity_bytes("ten") is None


def test_nothing_changed_nothing_replaced() -> None:
    t = Topology(Settings())
    plan = plan_update(k8s.manifests(t), k8s.secrets(t, MATERIAL), LIVE)
    assert plan.replace_jobs == () and plan.restart == () and plan.notes == ()


def test_a_new_cockroachdb_version_replaces_both_jobs() -> None:
    new = Topology(Settings(versions={"cockroach": "v25.4.12"}))
    plan = plan_update(k8s.manifests(new), k8s.secrets(new, MATERIAL), LIVE)
    assert plan.replace_jobs == ("crdb-init", "crdb-bootstrap")
    assert plan.notes == (
        "job/crdb-init: its spec changed, so it runs again",
        "job/crdb-bootstrap: its spec changed, so it runs again",
    )


def test_a_new_password_reruns_the_bootstrap_and_restarts_ory() -> None:
    t = Topology(Settings())
    changed = SecretMaterial(
        **{
            **vars(MATERIAL),
            "bootstrap_env": {"ORY_PASSWORD": "second", "COCKROACH_LICENSE_KEY": "crl-0-abc"},
            "ory_env": {
                **MATERIAL.ory_env,
                "hydra": {"DSN": "postgres://new", "SECRETS_SYSTEM": "s"},
            },
        }
    )
    plan = plan_update(k8s.manifests(t), k8s.secrets(t, changed), LIVE)
    assert plan.replace_jobs == ("crdb-bootstrap",)
    assert plan.restart == ("hydra",)


def test_a_job_from_before_the_digest_is_replaced() -> None:
    t = Topology(Settings())
    bare = {name: {"metadata": {"name": name}} for name in ("crdb-init", "crdb-bootstrap")}
    plan = plan_update(k8s.manifests(t), k8s.secrets(t, MATERIAL), replace(LIVE, jobs=bare))
    assert plan.replace_jobs == ("crdb-init", "crdb-bootstrap")


def test_a_new_storage_size_is_refused_in_one_line() -> None:
    new = Topology(Settings(kubernetes={"storage_size": "20Gi"}))
    with pytest.raises(BadInput) as caught:
        plan_update(k8s.manifests(new), k8s.secrets(new, MATERIAL), LIVE)
    message = caught.value.message
    assert "\n" not in message
    assert message.startswith("kubernetes.storage_size: statefulset/crdb-1 already has 10Gi")
    # the same size written differently is no change
    same = Topology(Settings(kubernetes={"storage_size": "10240Mi"}))
    plan_update(k8s.manifests(same), k8s.secrets(same, MATERIAL), LIVE)


def test_zones_from_the_nodes() -> None:
    t = Topology(Settings())
    assert placement(t, LIVE)[0] is t
    other = {"eu-west-1a": "eu-west-1", "eu-west-1b": "eu-west-1", "eu-west-1c": "eu-west-1"}
    chosen, note = placement(t, LiveState(zones=other, nodes=3))
    assert [n.zone for n in chosen.nodes] == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    assert chosen.nodes[0].locality == "region=eu-west-1,zone=eu-west-1a"
    assert note is not None and "eu-west-1a" in note


def test_fewer_than_three_zones_spread_by_host_and_say_how_to_label() -> None:
    t = Topology(Settings())
    chosen, note = placement(t, LiveState(zones={"only": ""}, nodes=1))
    assert chosen.settings.kubernetes.spread == "hostname"
    assert note is not None
    assert "kubectl label node <node-1> topology.kubernetes.io/zone=us-east-1a" in note
    sts = k8s.statefulset(chosen, chosen.nodes[0])["spec"]["template"]["spec"]
    assert "nodeSelector" not in sts
    assert sts["affinity"]["podAntiAffinity"]
    unreadable, why = placement(t, LiveState(zones=None))
    assert unreadable.settings.kubernetes.spread == "hostname"
    assert why is not None and why.startswith("cannot list the cluster's nodes")
