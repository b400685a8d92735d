"""The kind driver's command sequence, from its `--dry-run` output, and its bad-input checks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sandbox.drivers.base import DownOptions, UpOptions
from sandbox.drivers.kind import KindDriver
from sandbox.errors import BadInput
from tests.support.kube import commands, kube_settings, make_driver
from tests.support.squat import squat


def plan(output: str) -> list[tuple[str, ...]]:
    """Each printed command as (tool, verb, object): enough to check the order."""
    out = []
    for argv in commands(output):
        words = [a for a in argv[1:] if not a.startswith("-")]
        # drop flag values that precede the verb (--context X, --namespace Y, --kube-context Z)
        flags_with_values = {"--context", "--namespace", "--kube-context", "--kubeconfig"}
        skip = {argv[i + 1] for i, a in enumerate(argv[:-1]) if a in flags_with_values}
        words = [w for w in words if w not in skip]
        out.append((argv[0], *words[:2]))
    return out


def test_dry_run_up_prints_the_whole_sequence_and_changes_nothing(tmp_path: Path) -> None:
    driver, stream = make_driver(KindDriver, tmp_path)
    driver.up(UpOptions(dry_run=True))
    output = stream.getvalue()
    steps = plan(output)
    assert steps[0] == ("kind", "create", "cluster")
    assert steps[1][:2] == ("kubectl", "apply")  # the overlay first, then the namespace
    assert [s for s in steps if s[0] == "helm"] == [
        ("helm", "upgrade", "hydra"),
        ("helm", "upgrade", "kratos"),
        ("helm", "upgrade", "keto"),
    ]
    argvs = commands(output)

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
    assert len(forwards) == 13
    assert all("--address" in a and "127.0.0.1" in a for a in forwards)
    # the cluster is named by context on every kubectl and helm call
    assert all("kind-iam-sandbox" in a for a in argvs if a[0] in {"kubectl", "helm"})
    # artifacts written, secrets only described, nothing downloaded
    rendered = driver.rendered
    assert (rendered / "kind-cluster.yaml").is_file()
    assert (rendered / "values" / "hydra.yaml").is_file()
    assert "values not shown" in output
    for path in rendered.rglob("*"):
        if path.is_file():
            assert b"PRIVATE KEY" not in path.read_bytes()
    assert "PRIVATE KEY" not in output
    assert not (tmp_path / "tool-cache").exists()
    assert not driver.forwards_file.exists()
    assert "✓" not in output  # a dry run claims no step succeeded


def test_helm_installs_use_the_pinned_chart_and_the_rendered_values(tmp_path: Path) -> None:
    driver, stream = make_driver(KindDriver, tmp_path)
    driver.up(UpOptions(dry_run=True))
    helm = [a for a in commands(stream.getvalue()) if a[0] == "helm"]
    for argv, svc in zip(helm, ("hydra", "kratos", "keto"), strict=True):
        assert argv[argv.index("--version") + 1] == "0.62.1"
        assert argv[argv.index("--repo") + 1] == "https://k8s.ory.sh/helm/charts"
        assert argv[argv.index("--values") + 1] == str(driver.rendered / "values" / f"{svc}.yaml")
        assert "--wait" not in argv  # LoadBalancer services never get an address on bare kind


def test_dry_run_down_prints_the_delete(tmp_path: Path) -> None:
    driver, stream = make_driver(KindDriver, tmp_path)
    driver.down(DownOptions(dry_run=True))
    assert commands(stream.getvalue()) == [["kind", "delete", "cluster", "--name", "iam-sandbox"]]


def test_a_taken_port_is_bad_input_before_anything_is_written(tmp_path: Path) -> None:
    settings = kube_settings(tmp_path)
    with squat(settings.ports.keto_read):
        driver, _ = make_driver(KindDriver, tmp_path, settings)
        with pytest.raises(
            BadInput, match=r"port \d+ on 127\.0\.0\.1 is already in use: ports\.keto_read"
        ):
            driver.up(UpOptions(dry_run=True))
    assert not driver.rendered.exists()


def test_sql_refuses_an_unknown_user(tmp_path: Path) -> None:
    driver, _ = make_driver(KindDriver, tmp_path)
    with pytest.raises(BadInput):
        driver.sql("admin", "SELECT 1")
    with pytest.raises(BadInput):
        driver.logs("postgres", follow=False, tail=None)
