"""`--target k8s` planned as commands (`--dry-run`): an existing cluster, no cluster created."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.drivers.base import DownOptions, UpOptions
from sandbox.drivers.k8s import K8sDriver
from sandbox.drivers.kind import KindDriver
from sandbox.errors import BadInput
from tests.support.kube import commands, kube_settings, make_driver


def test_dry_run_targets_the_given_cluster_and_creates_none(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "team.kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    driver, stream = make_driver(K8sDriver, tmp_path)
    driver.up(UpOptions(dry_run=True, kubeconfig=kubeconfig, kube_context="staging"))
    argvs = commands(stream.getvalue())
    assert {a[0] for a in argvs} == {"kubectl", "helm"}  # no kind, no eksctl
    for argv in argvs:
        flag = "--context" if argv[0] == "kubectl" else "--kube-context"
        assert argv[argv.index("--kubeconfig") + 1] == str(kubeconfig)
        assert argv[argv.index(flag) + 1] == "staging"
    files = [a[-1] for a in argvs if a[1:2] != ["port-forward"] and "-f" in a]
    assert not any(f.endswith("overlay.yaml") for f in files)  # the cluster's own StorageClass
    assert not (driver.rendered / "overlay.yaml").exists()
    claim = (driver.rendered / "manifests" / "20-crdb-1.yaml").read_text()
    assert "storageClassName" not in claim
    assert any("--for=condition=complete" in a for a in argvs)
    assert len([a for a in argvs if "port-forward" in a]) == 13


def test_no_wait_keeps_only_the_apply_steps(tmp_path: Path) -> None:
    driver, stream = make_driver(K8sDriver, tmp_path)
    driver.up(UpOptions(dry_run=True, wait=False))
    argvs = commands(stream.getvalue())
    assert not [a for a in argvs if "wait" in a or "rollout" in a or "port-forward" in a]
    assert [a[a.index("--install") + 1] for a in argvs if a[0] == "helm"] == [
        "hydra",
        "kratos",
        "keto",
    ]
    assert "not waiting (--no-wait)" in stream.getvalue()


def test_kind_is_the_k8s_path_plus_its_cluster(tmp_path: Path) -> None:
    settings = kube_settings(tmp_path)
    k8s_driver, k8s_out = make_driver(K8sDriver, tmp_path / "k", settings)
    kind_driver, kind_out = make_driver(KindDriver, tmp_path / "c", settings)
    k8s_driver.up(UpOptions(dry_run=True))
    kind_driver.up(UpOptions(dry_run=True))

    def shape(argvs: list[list[str]], rendered: Path, flags: list[str]) -> list[str]:
        out = []
        for argv in argvs:
            text = " ".join(argv).replace(str(rendered), "R")
            out.append(text.replace(" ".join(flags), "").replace("  ", " "))
        return out

    kind_cmds = commands(kind_out.getvalue())
    assert kind_cmds[0][:3] == ["kind", "create", "cluster"]
    assert "overlay.yaml" in kind_cmds[1][-1]
    ours = shape(commands(k8s_out.getvalue()), k8s_driver.rendered, k8s_driver.kube_flags())
    theirs = shape(kind_cmds[2:], kind_driver.rendered, kind_driver.kube_flags())
    theirs = [t.replace(" ".join(kind_driver.helm_flags()), "").replace("  ", " ") for t in theirs]
    assert ours == theirs


def test_a_missing_kubeconfig_is_bad_input(tmp_path: Path) -> None:
    driver, _ = make_driver(K8sDriver, tmp_path)
    with pytest.raises(BadInput, match=r"^--kubeconfig: no such file: .*missing\.yaml$"):
        driver.up(UpOptions(dry_run=True, kubeconfig=tmp_path / "missing.yaml"))
    assert not driver.rendered.exists()


def test_dry_run_down_deletes_the_namespace_and_labelled_objects_only(tmp_path: Path) -> None:
    driver, stream = make_driver(K8sDriver, tmp_path)
    driver.down(DownOptions(dry_run=True))
    argvs = commands(stream.getvalue())
    assert len(argvs) == 2
    assert argvs[0][-4:] == ["namespace", "iam-sandbox", "--ignore-not-found", "--wait=true"]
    selector = argvs[1][argvs[1].index("-l") + 1]
    assert (
        selector == "app.kubernetes.io/managed-by=iam-sandbox,app.kubernetes.io/part-of=iam-sandbox"
    )


def test_logs_returns_the_failure_of_kubectl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unreachable cluster must not look like an empty log (exit 0)."""
    from sandbox.errors import SandboxError

    driver, _ = make_driver(K8sDriver, tmp_path)
    # kubectl's answer when the cluster is unreachable: `false` exits 1 whatever its arguments.
    monkeypatch.setattr(driver, "tool", lambda name: "false")
    with pytest.raises(SandboxError, match=r"^kubectl logs failed with exit code 1$"):
        driver.logs("crdb-1", follow=False, tail=5)
