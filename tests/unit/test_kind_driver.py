"""The kind provider on the Kubernetes runtime: its command sequence, recorded, and its checks."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from sandbox.errors import BadInput, SandboxError
from sandbox.runtime.base import DownOptions, UpOptions
from sandbox.runtime.kube.commands import Completed, Recorder
from sandbox.runtime.kube.providers.kind import KindProvider
from tests.support.kube import kube_settings
from tests.support.kube_runtime import items, kube_runtime, node
from tests.support.squat import squat

CONTEXT = ["--context", "kind-iam-sandbox"]
K = ["kubectl", *CONTEXT, "--namespace", "iam-sandbox"]
ZONED = items(
    *(
        node(f"w{i}", **{"topology.kubernetes.io/zone": f"us-east-1{z}"})
        for i, z in enumerate("abc")
    )
)


def test_dry_run_up_records_the_whole_sequence_and_changes_nothing(tmp_path: Path) -> None:
    runtime, recorder, stream = kube_runtime(KindProvider, tmp_path)
    runtime.up(UpOptions(dry_run=True))
    argvs = recorder.argvs
    assert recorder.skipped == recorder.commands
    assert argvs[0] == [
        "kind",
        "create",
        "cluster",
        "--name",
        "iam-sandbox",
        "--config",
        str(runtime.rendered / "kind-cluster.yaml"),
        "--wait",
        "180s",
    ]
    assert argvs[1] == [*K, "apply", "-f", str(runtime.rendered / "overlay.yaml")]
    assert argvs[2] == [*K, "apply", "-f", str(runtime.rendered / "manifests/00-namespace.yaml")]
    assert [a[5] for a in argvs if a[0] == "helm"] == ["hydra", "kratos", "keto", "ui"]

    def first(predicate: Callable[[list[str]], bool]) -> int:
        return next(i for i, a in enumerate(argvs) if predicate(a))

    namespace = first(lambda a: a[-1].endswith("00-namespace.yaml"))
    secrets = first(lambda a: a[-2:] == ["-f", "-"])
    nodes = first(lambda a: a[-1].endswith("20-crdb-1.yaml"))
    init_wait = first(lambda a: "job/crdb-init" in a)
    ready = first(lambda a: "--for=condition=Ready" in a)
    bootstrap_wait = first(lambda a: "job/crdb-bootstrap" in a)
    helm = first(lambda a: a[0] == "helm")
    forward = first(lambda a: "port-forward" in a)
    assert namespace < secrets < nodes < init_wait < ready < bootstrap_wait < helm < forward
    forwards = [a for a in argvs if "port-forward" in a]
    assert len(forwards) == 14
    assert forwards[0] == [
        *K,
        "port-forward",
        "--address",
        "127.0.0.1",
        "svc/hydra-public",
        f"{runtime.topology.settings.ports.hydra_public}:4444",
    ]
    # the cluster is named by context on every kubectl and helm call
    assert all("kind-iam-sandbox" in a for a in argvs if a[0] in {"kubectl", "helm"})
    # artifacts written, secrets only described, nothing downloaded
    output = stream.getvalue()
    rendered = runtime.rendered
    assert (rendered / "kind-cluster.yaml").is_file()
    assert (rendered / "values" / "hydra.yaml").is_file()
    assert "values not shown" in output
    for path in rendered.rglob("*"):
        if path.is_file():
            assert b"PRIVATE KEY" not in path.read_bytes()
    assert "PRIVATE KEY" not in output
    assert not (tmp_path / "tool-cache").exists()
    assert not runtime.forwards.file.exists()
    assert "✓" not in output  # a dry run claims no step succeeded


def test_an_existing_cluster_is_reused_after_checking_docker(tmp_path: Path) -> None:
    answers = {"get clusters": "other\niam-sandbox\n", "get nodes": ZONED}
    runtime, recorder, stream = kube_runtime(KindProvider, tmp_path, Recorder(answers))
    runtime.up(UpOptions(wait=False))
    assert recorder.argvs[:3] == [
        ["docker", "info", "--format", "{{.ServerVersion}}"],
        ["kind", "get", "clusters"],
        [*K, "get", "nodes", "-o", "json"],
    ]
    assert not [a for a in recorder.argvs if a[:3] == ["kind", "create", "cluster"]]
    assert "kind cluster iam-sandbox exists, reusing it" in stream.getvalue()


def test_no_docker_engine_is_one_line(tmp_path: Path) -> None:
    down = Recorder({"docker info": Completed(1, "", "Cannot connect to the Docker daemon")})
    runtime, recorder, _ = kube_runtime(KindProvider, tmp_path, down)
    with pytest.raises(SandboxError, match=r"^kind needs a running Docker engine: .*daemon$"):
        runtime.up(UpOptions(wait=False))
    assert recorder.argvs == [["docker", "info", "--format", "{{.ServerVersion}}"]]


def test_helm_installs_use_the_pinned_chart_and_the_rendered_values(tmp_path: Path) -> None:
    runtime, recorder, _ = kube_runtime(KindProvider, tmp_path)
    runtime.up(UpOptions(dry_run=True))
    helm = [a for a in recorder.argvs if a[0] == "helm"]
    values = runtime.rendered / "values"
    assert helm == [
        [
            "helm",
            "--kube-context",
            "kind-iam-sandbox",
            "upgrade",
            "--install",
            release,
            chart,
            "--repo",
            "https://k8s.ory.sh/helm/charts",
            "--version",
            "0.62.1",
            "--namespace",
            "iam-sandbox",
            "--values",
            str(values / f"{release}.yaml"),
            "--timeout",
            "600s",
        ]
        for release, chart in (
            ("hydra", "hydra"),
            ("kratos", "kratos"),
            ("keto", "keto"),
            ("ui", "kratos-selfservice-ui-node"),
        )
    ]  # no --wait: LoadBalancer services never get an address on bare kind


def test_dry_run_down_records_the_delete(tmp_path: Path) -> None:
    runtime, recorder, stream = kube_runtime(KindProvider, tmp_path)
    runtime.down(DownOptions(dry_run=True))
    assert recorder.argvs == [["kind", "delete", "cluster", "--name", "iam-sandbox"]]
    assert recorder.skipped == recorder.commands
    assert "$ kind delete cluster --name iam-sandbox" in stream.getvalue()


def test_a_taken_port_is_bad_input_before_anything_is_written(tmp_path: Path) -> None:
    settings = kube_settings(tmp_path)
    with squat(settings.ports.keto_read):
        runtime, recorder, _ = kube_runtime(KindProvider, tmp_path, None, settings)
        with pytest.raises(
            BadInput, match=r"port \d+ on 127\.0\.0\.1 is already in use: ports\.keto_read"
        ):
            runtime.up(UpOptions(dry_run=True))
    assert not runtime.rendered.exists()
    assert recorder.commands == []


def test_sql_runs_the_engines_shell_in_the_first_node(tmp_path: Path) -> None:
    runtime, recorder, _ = kube_runtime(KindProvider, tmp_path, Recorder({"exec": Completed(3)}))
    assert runtime.sql("ory", "SELECT 1") == 3
    assert recorder.argvs == [
        [
            *K,
            "exec",
            "-i",
            "crdb-1-0",
            "-c",
            "cockroach",
            "--",
            "/cockroach/cockroach",
            "sql",
            "--certs-dir=/cockroach/client-certs/ory",
            "--user=ory",
            "--host=localhost:26257",
            "-e",
            "SELECT 1",
        ]
    ]


def test_sql_and_logs_refuse_unknown_names(tmp_path: Path) -> None:
    runtime, recorder, _ = kube_runtime(KindProvider, tmp_path)
    with pytest.raises(BadInput):
        runtime.sql("admin", "SELECT 1")
    with pytest.raises(BadInput):
        runtime.logs("postgres", follow=False, tail=None)
    assert recorder.commands == []
    runtime.logs(None, follow=True, tail=None)
    assert recorder.argvs == [
        [
            *K,
            "logs",
            "--prefix",
            "--all-containers",
            "-l",
            "app.kubernetes.io/name in (cockroachdb,hydra,kratos,keto,ui)",
            "--follow",
        ]
    ]


def test_forwards_that_never_open_fail_within_their_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each forward is spawned through the executor (a detached loop that prints its pid); the
    host ports are then polled until they open, or the step fails naming the closed ones."""
    from sandbox.runtime.kube import forwards

    monkeypatch.setattr(forwards, "OPEN_WITHIN", 0.2)
    runtime, recorder, _ = kube_runtime(KindProvider, tmp_path, Recorder({"sh -c": "4242\n"}))
    session = runtime.session(False)
    wanted = [forwards.Forward("svc/hydra-admin", 40001, 4445)]
    with pytest.raises(SandboxError, match=r"^port-forwards did not open 127\.0\.0\.1:40001 "):
        runtime.forwards.start(session, K, wanted, is_open=lambda port: False)
    (spawn,) = recorder.argvs
    assert spawn[:2] == ["sh", "-c"]
    forward = "kubectl --context kind-iam-sandbox --namespace iam-sandbox port-forward"
    assert f"{forward} --address 127.0.0.1 svc/hydra-admin 40001:4445 &" in spawn[2]
    assert json.loads(runtime.forwards.file.read_text()) == [
        {"pid": 4242, "resource": "svc/hydra-admin", "port": 40001}
    ]
