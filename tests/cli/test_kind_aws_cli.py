"""`sandbox render|up|down --target kind|aws` through the real entry point: exit codes, one line."""

from __future__ import annotations

from pathlib import Path

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
