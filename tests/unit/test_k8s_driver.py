"""The Kubernetes runtime on `--target k8s` (the `existing` provider), on a recording executor.

Every test states argv lists the runtime handed to its executor; no process runs.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from sandbox.errors import BadInput, SandboxError
from sandbox.runtime.base import DownOptions, UpOptions
from sandbox.runtime.kube import deployment
from sandbox.runtime.kube.commands import Completed, Recorder
from sandbox.runtime.kube.providers.existing import ExistingProvider
from sandbox.runtime.kube.providers.kind import KindProvider
from tests.support.kube import kube_settings
from tests.support.kube_runtime import SERVER_VERSION, items, kube_runtime, node

NS = "iam-sandbox"
PART_OF = "app.kubernetes.io/part-of=iam-sandbox"
OURS = "app.kubernetes.io/managed-by=iam-sandbox,app.kubernetes.io/part-of=iam-sandbox"
UNZONED = items(node("worker-1"), node("worker-2"))
"""A cluster whose nodes carry no zone label (a plain API server, a one-zone cloud)."""


def kubeconfig_file(tmp_path: Path) -> Path:
    path = tmp_path / "team.kubeconfig"
    path.write_text("apiVersion: v1\nkind: Config\n")
    return path


def test_dry_run_targets_the_given_cluster_and_creates_none(tmp_path: Path) -> None:
    kubeconfig = kubeconfig_file(tmp_path)
    runtime, recorder, stream = kube_runtime(ExistingProvider, tmp_path)
    runtime.up(UpOptions(dry_run=True, kubeconfig=kubeconfig, kube_context="staging"))
    argvs = recorder.argvs
    assert recorder.skipped == recorder.commands  # a dry run runs nothing
    assert {a[0] for a in argvs} == {"kubectl", "helm"}  # no kind, no eksctl
    for argv in argvs:
        flag = "--context" if argv[0] == "kubectl" else "--kube-context"
        assert argv[1:5] == ["--kubeconfig", str(kubeconfig), flag, "staging"]
    assert not any(a[-1].endswith("overlay.yaml") for a in argvs)  # the cluster's StorageClass
    assert not (runtime.rendered / "overlay.yaml").exists()
    claim = (runtime.rendered / "manifests" / "20-crdb-1.yaml").read_text()
    assert "storageClassName" not in claim
    assert any("--for=condition=complete" in a for a in argvs)
    assert len([a for a in argvs if "port-forward" in a]) == 14
    # what the user sees: every command, shlex-quoted, under its step's title
    assert f"$ kubectl --kubeconfig {kubeconfig} --context staging --namespace {NS}" in (
        stream.getvalue()
    )
    assert "[cluster initialised]" in stream.getvalue()


def test_no_wait_keeps_only_the_apply_steps(tmp_path: Path) -> None:
    runtime, recorder, stream = kube_runtime(ExistingProvider, tmp_path)
    runtime.up(UpOptions(dry_run=True, wait=False))
    argvs = recorder.argvs
    assert not [a for a in argvs if "wait" in a or "rollout" in a or "port-forward" in a]
    assert [a[a.index("--install") + 1] for a in argvs if a[0] == "helm"] == [
        "hydra",
        "kratos",
        "keto",
        "ui",
    ]
    assert "not waiting (--no-wait)" in stream.getvalue()


def test_first_up_reads_the_cluster_then_walks_the_stages(tmp_path: Path) -> None:
    """No dry run: the recorder answers the reads; a first `up` replaces nothing."""
    kubeconfig = kubeconfig_file(tmp_path)
    answers = {"version -o json": SERVER_VERSION, "get nodes": UNZONED}
    runtime, recorder, _ = kube_runtime(ExistingProvider, tmp_path, Recorder(answers))
    runtime.up(UpOptions(wait=False, kubeconfig=kubeconfig))
    k = ["kubectl", "--kubeconfig", str(kubeconfig), "--namespace", NS]
    helm = ["helm", "--kubeconfig", str(kubeconfig), "upgrade", "--install"]
    m, v = runtime.rendered / "manifests", runtime.rendered / "values"
    repo = ["--repo", "https://k8s.ory.sh/helm/charts", "--version", "0.62.1", "--namespace", NS]
    assert recorder.argvs == [
        ["kubectl", "--kubeconfig", str(kubeconfig), "version", "-o", "json"],
        [*k, "get", "nodes", "-o", "json"],
        [*k, "get", "secrets", "-l", PART_OF, "-o", "json"],
        [*k, "get", "statefulsets", "-l", PART_OF, "-o", "json"],
        [*k, "get", "jobs", "-l", PART_OF, "-o", "json"],
        [*k, "get", "deployments", "-o", "json"],
        [*k, "apply", "-f", f"{m}/00-namespace.yaml"],
        [*k, "apply", "-f", "-"],
        [*k, "apply", "-f", f"{m}/10-crdb-services.yaml"],
        [*k, "apply", "-f", f"{m}/20-crdb-1.yaml"],
        [*k, "apply", "-f", f"{m}/20-crdb-2.yaml"],
        [*k, "apply", "-f", f"{m}/20-crdb-3.yaml"],
        [*k, "apply", "-f", f"{m}/30-crdb-budget.yaml"],
        [*k, "apply", "-f", f"{m}/40-crdb-init.yaml"],
        [*k, "apply", "-f", f"{m}/50-crdb-bootstrap.yaml"],
        [*helm, "hydra", "hydra", *repo, "--values", f"{v}/hydra.yaml", "--timeout", "600s"],
        [*helm, "kratos", "kratos", *repo, "--values", f"{v}/kratos.yaml", "--timeout", "600s"],
        [*helm, "keto", "keto", *repo, "--values", f"{v}/keto.yaml", "--timeout", "600s"],
        [
            *helm,
            "ui",
            "kratos-selfservice-ui-node",
            *repo,
            "--values",
            f"{v}/ui.yaml",
            "--timeout",
            "600s",
        ],
    ]
    assert recorder.skipped == []
    secrets = recorder.commands[7]
    assert secrets.stdin_label.startswith("Secrets crdb-1-certs, ") and secrets.stdin is not None
    sent = list(yaml.safe_load_all(secrets.stdin()))  # the keys go on stdin, not into an argv
    assert {d["kind"] for d in sent} == {"Secret"} and len(sent) == 11
    assert "node.key" in sent[0]["data"]
    # the status lines are the stage chain's titles, after the runtime's own preparation
    assert [s.name for s in runtime.ctx.status.steps] == [
        "namespace",
        "secrets",
        "nodes started",
        "cluster initialised",
        "bootstrap done",
        "migrations done",
        "services ready",
    ]


def test_waiting_stages_wait_for_what_each_stage_started(tmp_path: Path) -> None:
    runtime, recorder, _ = kube_runtime(ExistingProvider, tmp_path)
    runtime.up(UpOptions(dry_run=True))
    k = ["kubectl", "--namespace", NS]
    pods = ["pod/crdb-1-0", "pod/crdb-2-0", "pod/crdb-3-0"]
    waits = [a for a in recorder.argvs if a[3] == "wait" or a[3:5] == ["rollout", "status"]]
    assert waits == [
        [
            *k,
            "wait",
            "--for=jsonpath={.status.replicas}=1",
            "statefulset/crdb-1",
            "statefulset/crdb-2",
            "statefulset/crdb-3",
            "--timeout=180s",
        ],
        [*k, "wait", "--for=jsonpath={.status.phase}=Running", *pods, "--timeout=180s"],
        [*k, "wait", "--for=condition=complete", "job/crdb-init", "--timeout=180s"],
        [*k, "wait", "--for=condition=Ready", *pods, "--timeout=180s"],  # nodes_ready_after
        [*k, "wait", "--for=condition=complete", "job/crdb-bootstrap", "--timeout=180s"],
        [*k, "rollout", "status", "deployment/hydra", "--timeout=180s"],
        [*k, "rollout", "status", "deployment/kratos", "--timeout=180s"],
        [*k, "rollout", "status", "deployment/keto", "--timeout=180s"],
        [*k, "rollout", "status", "deployment/ui", "--timeout=180s"],
    ]


def test_a_cluster_without_zones_gets_a_host_spread_rendered_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The placement is decided from the live nodes before rendering: each file is written
    once, already spread by host, and the runtime's own topology is the one it was given."""
    answers = {"version -o json": SERVER_VERSION, "get nodes": UNZONED}
    runtime, _, stream = kube_runtime(ExistingProvider, tmp_path, Recorder(answers))
    given = runtime.topology
    writes: Counter[str] = Counter()
    write = deployment.write_atomic

    def counted(path: Path, data: bytes, mode: int, dir_mode: int = 0o700) -> None:
        writes[path.relative_to(runtime.rendered).as_posix()] += 1
        write(path, data, mode, dir_mode)

    monkeypatch.setattr(deployment, "write_atomic", counted)
    runtime.up(UpOptions(wait=False))
    assert writes and set(writes.values()) == {1}, writes
    assert "manifests/20-crdb-1.yaml" in writes
    sts = yaml.safe_load((runtime.rendered / "manifests" / "20-crdb-1.yaml").read_text())
    pod = sts["spec"]["template"]["spec"]
    assert "nodeSelector" not in pod
    term = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term[0]["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert "spreading by host name instead" in stream.getvalue()
    assert runtime.topology is given
    assert given.settings.kubernetes.spread == "zone"  # the model was not changed either


def test_a_second_up_replaces_changed_jobs_and_restarts_on_changed_secrets(
    tmp_path: Path,
) -> None:
    """What the cluster holds decides: the init Job's inputs changed (delete, then apply), the
    hydra Secret changed (rollout restart before the rollout status)."""
    zoned = items(
        *(
            node(f"w{i}", **{"topology.kubernetes.io/zone": f"us-east-1{z}"})
            for i, z in enumerate("abc")
        )
    )
    stale_job = {"metadata": {"name": "crdb-init", "annotations": {"iam-sandbox/inputs-hash": "0"}}}
    old_secret = {"metadata": {"name": "hydra-secrets"}, "data": {"dsn": "b2xk"}}
    answers = {
        "version -o json": SERVER_VERSION,
        "get nodes": zoned,
        "get jobs": items(stale_job),
        "get secrets": items(old_secret),
        "get deployments": items({"metadata": {"name": "hydra"}}),
    }
    runtime, recorder, stream = kube_runtime(ExistingProvider, tmp_path, Recorder(answers))
    runtime.up(UpOptions(wait=False))
    k = ["kubectl", "--namespace", NS]
    m = runtime.rendered / "manifests"
    argvs = recorder.argvs
    start = argvs.index([*k, "apply", "-f", f"{m}/40-crdb-init.yaml"])
    assert argvs[start - 1] == [
        *k,
        "delete",
        "job",
        "crdb-init",
        "--ignore-not-found",
        "--wait=true",
    ]
    assert argvs[start + 1] == [*k, "apply", "-f", f"{m}/50-crdb-bootstrap.yaml"]  # kept
    # the login UI has no migration: its chart is installed in the servers stage, after
    # hydra's restart
    assert argvs[-2:] == [
        [*k, "rollout", "restart", "deployment/hydra"],
        [
            "helm",
            "upgrade",
            "--install",
            "ui",
            "kratos-selfservice-ui-node",
            "--repo",
            "https://k8s.ory.sh/helm/charts",
            "--version",
            "0.62.1",
            "--namespace",
            NS,
            "--values",
            f"{runtime.rendered / 'values'}/ui.yaml",
            "--timeout",
            "600s",
        ],
    ]
    assert "job/crdb-init: its spec changed, so it runs again" in stream.getvalue()
    sts = yaml.safe_load((m / "20-crdb-2.yaml").read_text())
    assert sts["spec"]["template"]["spec"]["nodeSelector"] == {
        "topology.kubernetes.io/zone": "us-east-1b"
    }


def test_kind_is_the_k8s_path_plus_its_cluster(tmp_path: Path) -> None:
    settings = kube_settings(tmp_path)
    k8s_runtime, k8s_recorder, _ = kube_runtime(ExistingProvider, tmp_path / "k", None, settings)
    kind_runtime, kind_recorder, _ = kube_runtime(KindProvider, tmp_path / "c", None, settings)
    k8s_runtime.up(UpOptions(dry_run=True))
    kind_runtime.up(UpOptions(dry_run=True))

    def shape(argvs: list[list[str]], rendered: Path, flags: list[str]) -> list[list[str]]:
        out = []
        for argv in argvs:
            argv = [a.replace(str(rendered), "R") for a in argv]
            out.append([a for a in argv if a not in flags])
        return out

    kind_cmds = kind_recorder.argvs
    overlay = str(kind_runtime.rendered / "overlay.yaml")
    assert kind_cmds[0][:3] == ["kind", "create", "cluster"]
    assert kind_cmds[1] == [
        "kubectl",
        "--context",
        "kind-iam-sandbox",
        "--namespace",
        NS,
        "apply",
        "-f",
        overlay,
    ]
    flags = ["--context", "--kube-context", "kind-iam-sandbox"]
    assert shape(k8s_recorder.argvs, k8s_runtime.rendered, []) == shape(
        kind_cmds[2:], kind_runtime.rendered, flags
    )


def test_a_missing_kubeconfig_is_bad_input(tmp_path: Path) -> None:
    runtime, recorder, _ = kube_runtime(ExistingProvider, tmp_path)
    with pytest.raises(BadInput, match=r"^--kubeconfig: no such file: .*missing\.yaml$"):
        runtime.up(UpOptions(dry_run=True, kubeconfig=tmp_path / "missing.yaml"))
    assert not runtime.rendered.exists()
    assert recorder.commands == []


def test_dry_run_down_deletes_the_namespace_and_labelled_objects_only(tmp_path: Path) -> None:
    runtime, recorder, _ = kube_runtime(ExistingProvider, tmp_path)
    runtime.down(DownOptions(dry_run=True))
    k = ["kubectl", "--namespace", NS, "delete"]
    assert recorder.argvs == [
        [*k, "namespace", NS, "--ignore-not-found", "--wait=true"],
        [*k, "storageclasses,clusterroles,clusterrolebindings", "-l", OURS, "--ignore-not-found"],
    ]
    assert recorder.skipped == recorder.commands


def test_down_leaves_a_namespace_it_did_not_create(tmp_path: Path) -> None:
    foreign = items({"metadata": {"name": NS, "labels": {"team": "payments"}}})
    runtime, recorder, _ = kube_runtime(
        ExistingProvider, tmp_path, Recorder({"namespaces": foreign})
    )
    with pytest.raises(BadInput, match=f"^kubernetes.namespace: namespace {NS} was not created"):
        runtime.down(DownOptions())
    assert recorder.argvs == [
        [
            "kubectl",
            "--namespace",
            NS,
            "get",
            "namespaces",
            "--field-selector",
            f"metadata.name={NS}",
            "-o",
            "json",
        ]
    ]


def test_logs_returns_the_failure_of_kubectl(tmp_path: Path) -> None:
    """An unreachable cluster must not look like an empty log (exit 0)."""
    failing = Recorder({"logs": Completed(1)})
    runtime, recorder, _ = kube_runtime(ExistingProvider, tmp_path, failing)
    with pytest.raises(SandboxError, match=r"^kubectl logs failed with exit code 1$"):
        runtime.logs("crdb-1", follow=False, tail=5)
    assert recorder.argvs == [
        [
            "kubectl",
            "--namespace",
            NS,
            "logs",
            "--prefix",
            "--all-containers",
            "pod/crdb-1-0",
            "--tail",
            "5",
        ]
    ]


def test_status_reads_pods_and_their_zones(tmp_path: Path) -> None:
    pod = {
        "metadata": {"name": "crdb-2-0", "labels": {"app.kubernetes.io/name": "cockroachdb"}},
        "spec": {"nodeName": "w2"},
        "status": {"phase": "Running", "containerStatuses": [{"ready": True}]},
    }
    answers = {
        "get pods": items(pod),
        "get nodes": items(node("w2", **{"topology.kubernetes.io/zone": "us-east-1b"})),
    }
    runtime, _, _ = kube_runtime(ExistingProvider, tmp_path, Recorder(answers))
    (row,) = runtime.status()
    port = runtime.topology.nodes[1].sql_host_port
    assert (row.name, row.state, row.health, row.zone, row.endpoint) == (
        "crdb-2-0",
        "running",
        "healthy",
        "us-east-1b",
        f"127.0.0.1:{port}",
    )
    unreachable = Recorder({"get": Completed(1, "", "connection refused")})
    runtime, _, _ = kube_runtime(ExistingProvider, tmp_path / "x", unreachable)
    assert [(r.name, r.state) for r in runtime.status()] == [(NS, "missing")]


def test_up_remembers_the_access_for_down(tmp_path: Path) -> None:
    kubeconfig = kubeconfig_file(tmp_path)
    answers = {"version -o json": SERVER_VERSION, "get nodes": UNZONED}
    runtime, _, _ = kube_runtime(ExistingProvider, tmp_path, Recorder(answers))
    runtime.up(UpOptions(wait=False, kubeconfig=kubeconfig, kube_context="staging"))
    remembered = json.loads((tmp_path / "state" / "k8s" / "access.json").read_text())
    assert remembered == {"kubeconfig": str(kubeconfig), "context": "staging"}
    later, recorder, _ = kube_runtime(ExistingProvider, tmp_path)  # a new process: `down`
    later.down(DownOptions(dry_run=True))
    assert recorder.argvs[0][:5] == [
        "kubectl",
        "--kubeconfig",
        str(kubeconfig),
        "--context",
        "staging",
    ]
