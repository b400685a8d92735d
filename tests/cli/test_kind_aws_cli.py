"""`sandbox render|up|down --target kind|aws` through the real entry point: exit codes, one line;
and the target table every listing of targets reads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

from sandbox import targets
from sandbox.chaos.faults import Mode
from sandbox.chaos.targets import check_request
from sandbox.config.settings import Settings
from sandbox.errors import BadInput
from sandbox.model.topology import Topology
from sandbox.plan.status import Status
from sandbox.render.k8s_names import TargetName
from sandbox.runtime import get_driver
from sandbox.runtime.base import DownOptions, DriverContext, UpOptions
from sandbox.runtime.kube.commands import Session
from sandbox.runtime.kube.providers.existing import ExistingProvider
from sandbox.runtime.kube.runtime import KubeRuntime
from sandbox.runtime.kube.steps import Cli
from sandbox.state import StateDir
from tests.support.kube import port_env, port_settings, run_cli
from tests.support.squat import squat


def one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def test_render_kind_and_aws_lists_the_files(tmp_path: Path) -> None:
    for target, cluster_file in (("kind", "kind-cluster.yaml"), ("aws", "eksctl-cluster.yaml")):
        out = tmp_path / target
        done = run_cli(tmp_path, "render", "--target", target, "--out", str(out))
        assert done.returncode == 0, done.stderr
        listed = {Path(line).relative_to(out).as_posix() for line in done.stdout.split()}
        assert {
            cluster_file,
            "overlay.yaml",
            "values/hydra.yaml",
            "manifests/00-namespace.yaml",
        } <= listed


def test_wrong_zone_count_is_bad_input(tmp_path: Path) -> None:
    done = run_cli(
        tmp_path,
        "render",
        "--target",
        "kind",
        "--out",
        str(tmp_path / "out"),
        env={"SANDBOX_ZONES": "[us-east-1a, us-east-1b]"},
    )
    assert done.returncode == 2
    assert "expected exactly 3 zones" in one_line_error(done.stderr)
    assert not (tmp_path / "out").exists()


def test_dry_run_up_on_kind_prints_commands_and_remembers_no_target(tmp_path: Path) -> None:
    env = port_env(port_settings())
    done = run_cli(tmp_path, "up", "--target", "kind", "--dry-run", env=env)
    assert done.returncode == 0, done.stderr
    assert "$ kind create cluster --name iam-sandbox" in done.stderr
    assert "port-forward --address 127.0.0.1" in done.stderr
    assert not (tmp_path / "state" / "target").exists()
    assert (tmp_path / "state" / "rendered" / "kind" / "kind-cluster.yaml").is_file()


def test_a_taken_port_is_one_line_and_exit_2(tmp_path: Path) -> None:
    ports = port_settings()
    with squat(ports["hydra_admin"]):
        done = run_cli(tmp_path, "up", "--target", "kind", "--dry-run", env=port_env(ports))
    assert done.returncode == 2
    line = one_line_error(done.stderr)
    assert f"port {ports['hydra_admin']} on 127.0.0.1 is already in use: ports.hydra_admin" in line


def test_aws_without_credentials_is_one_line_and_exit_2(tmp_path: Path) -> None:
    env = port_env(port_settings())
    done = run_cli(tmp_path, "up", "--target", "aws", "--yes", env=env)
    assert done.returncode == 2
    assert "no AWS credentials found" in one_line_error(done.stderr)


def test_aws_without_yes_refuses_and_creates_nothing(tmp_path: Path) -> None:
    env = port_env(port_settings())
    env |= {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "example"}
    done = run_cli(tmp_path, "up", "--target", "aws", env=env)
    assert done.returncode == 2
    assert "billable" in done.stderr  # the cost warning came first
    assert "re-run with --yes" in done.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "state" / "aws" / "kubeconfig").exists()
    down = run_cli(tmp_path, "down", "--target", "aws", env=env)
    assert down.returncode == 2
    errors = [line for line in down.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "re-run with --yes" in errors[0]


def test_aws_dry_run_needs_no_credentials(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "up", "--target", "aws", "--dry-run", env=port_env(port_settings()))
    assert done.returncode == 0, done.stderr
    assert "$ eksctl create cluster --config-file" in done.stderr


def test_public_is_refused_off_aws_and_a_missing_kubeconfig_is_one_line(tmp_path: Path) -> None:
    env = port_env(port_settings())
    done = run_cli(tmp_path, "up", "--target", "k8s", "--public", "--dry-run", env=env)
    assert done.returncode == 2
    assert one_line_error(done.stderr).endswith(
        "--public: only --target aws exposes APIs publicly, not k8s"
    )
    missing = tmp_path / "nope.kubeconfig"
    done = run_cli(tmp_path, "up", "--target", "k8s", "--kubeconfig", str(missing), env=env)
    assert done.returncode == 2
    assert one_line_error(done.stderr).endswith(f"--kubeconfig: no such file: {missing}")
    assert not (tmp_path / "state" / "rendered").exists()


def test_render_k8s_has_no_cluster_file_and_no_overlay(tmp_path: Path) -> None:
    out = tmp_path / "k8s"
    done = run_cli(tmp_path, "render", "--target", "k8s", "--out", str(out))
    assert done.returncode == 0, done.stderr
    listed = {Path(line).relative_to(out).as_posix() for line in done.stdout.split()}
    assert "values/hydra.yaml" in listed and "manifests/20-crdb-1.yaml" in listed
    assert not {"overlay.yaml", "kind-cluster.yaml", "eksctl-cluster.yaml"} & listed


# -- the target table: every listing of targets is read from it -----------------------------------


class ToyProvider:
    """A provider written for this test only: an existing cluster under another name, with a
    file of its own. Registering it is one row in `sandbox.targets.TARGETS`."""

    target = "toy"
    flavour: TargetName = "k8s"

    def __init__(self, ctx: DriverContext) -> None:
        self.existing = ExistingProvider(ctx)

    def files(self, topology: Topology) -> dict[str, str]:
        return {"toy-cluster.txt": f"a toy cluster for {topology.project}\n"}

    def applied_first(self) -> tuple[str, ...]:
        return ()

    def kube_flags(self) -> list[str]:
        return ["--context", "toy"]

    def helm_flags(self) -> list[str]:
        return ["--kube-context", "toy"]

    def describe(self) -> str:
        return "the toy cluster"

    def exposes(self, options: UpOptions) -> bool:
        return False

    def check_up(self, options: UpOptions, session: Session) -> None:
        return None

    def confirm(self, options: UpOptions, session: Session) -> None:
        return None

    def ensure(self, options: UpOptions, session: Session) -> None:
        return None

    def check_down(self, options: DownOptions, session: Session) -> None:
        return None

    def delete(self, options: DownOptions, session: Session, cli: Cli) -> None:
        self.existing.delete(options, session, cli)


def test_the_cli_and_the_drills_list_the_tables_targets() -> None:
    assert targets.NAMES == ("compose", "kind", "aws", "k8s")
    assert get_args(targets.TargetChoice) == targets.NAMES  # the CLI's --target choices
    assert targets.with_chaos() == ("compose", "kind", "aws")
    with pytest.raises(
        BadInput, match=r"^--target k8s: zone drills run on compose, kind, aws only"
    ):
        check_request("k8s", Mode.kill, True, Topology(Settings()))


def test_an_unknown_target_names_the_tables_choices(tmp_path: Path) -> None:
    ctx = DriverContext(Topology(Settings()), StateDir(tmp_path), Status(quiet=True))
    with pytest.raises(
        BadInput,
        match=r"^--target: unknown target 'nomad' \(choose from compose, kind, aws, k8s\)$",
    ):
        get_driver("nomad", ctx)


def test_a_new_provider_is_one_module_and_one_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = targets.Target(
        "toy",
        targets.KUBE_RUNTIME,
        f"{__name__}:ToyProvider",
        chaos="sandbox.chaos.targets:KIND",
    )
    monkeypatch.setitem(targets.TARGETS, "toy", row)
    ctx = DriverContext(Topology(Settings()), StateDir(tmp_path / "state"), Status(quiet=True))
    driver = get_driver("toy", ctx)
    assert isinstance(driver, KubeRuntime) and isinstance(driver.provider, ToyProvider)
    written = {p.relative_to(tmp_path / "out").as_posix() for p in driver.render(tmp_path / "out")}
    assert {"toy-cluster.txt", "values/hydra.yaml", "manifests/00-namespace.yaml"} <= written
    assert "toy" in targets.with_chaos()
    check_request("toy", Mode.partition, False, ctx.topology)  # the kind drill's rules


def test_the_table_imports_no_runtime() -> None:
    probe = (
        "import sys, sandbox.targets\n"
        "heavy = ('sandbox.runtime', 'sandbox.render', 'sandbox.model')\n"
        "print(','.join(m for m in sys.modules if m.startswith(heavy)))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
