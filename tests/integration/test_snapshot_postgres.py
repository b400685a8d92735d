"""Snapshots against the real servers the suite builds: the PostgreSQL engine (Patroni, etcd,
HAProxy from Debian's packages) and hydra/kratos/keto built from their Go modules.

One stack is brought up fresh and saved; the archive is then restored the ways a user and a
CI job restore it, and refused where it must be, with nothing started.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cockroach import SandboxHome
from tests.support.pg_stack import stack_problem, write_stack

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(stack_problem() is not None, reason=str(stack_problem())),
]
DATA_VOLUMES = ("etcd-1", "etcd-2", "etcd-3", "pg-1", "pg-2", "pg-3")


def docker(*args: str) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60)
    return done.stdout.strip()


def containers(box: SandboxHome) -> list[str]:
    found = docker("ps", "-aq", "--filter", f"label=io.iam-sandbox.project={box.project}")
    return sorted(found.split())


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxHome, dict, bytes]]:
    box = write_stack(tmp_path_factory.mktemp("snap") / "home", "snapshot")
    try:
        up = box.run("up", timeout=900)
        if up.returncode != 0:
            pytest.fail(f"sandbox up (postgres engine) failed:\n{up.stderr}")
        done = box.run("snapshot", "save", "--output", "json", timeout=900)
        assert done.returncode == 0, done.stderr
        yield box, json.loads(done.stdout), (box.certs / "ca" / "ca.crt").read_bytes()
    finally:
        box.down()


def test_save_names_the_archive_by_the_key_ci_asks_for(
    saved: tuple[SandboxHome, dict, bytes],
) -> None:
    box, info, _ = saved
    key = box.run("snapshot", "key").stdout.strip()
    assert len(key) == 16 and info["key"] == key and info["name"] == key
    archive = Path(info["path"])
    assert archive == box.home / ".sandbox" / "snapshots" / f"{key}.tar.zst"
    assert archive.stat().st_size == info["bytes"] > 0
    assert archive.stat().st_mode & 0o777 == 0o600, "it holds the sandbox's secrets"
    # Saving stopped the stack; `save` starts it again.
    assert box.run("status").returncode == 0


def test_restoring_over_live_data_is_refused_without_force(
    saved: tuple[SandboxHome, dict, bytes],
) -> None:
    box, info, _ = saved
    before = containers(box)
    done = box.run("up", "--from-snapshot", info["name"])
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    volumes = ", ".join(f"{box.project}_{v}-data" for v in DATA_VOLUMES)
    assert line == (
        f"error: the sandbox's volumes already hold data ({volumes}): `sandbox down --volumes` "
        "first, or add --force to replace them with the snapshot's"
    )
    assert containers(box) == before


def test_another_setting_is_refused_naming_it_and_nothing_starts(
    saved: tuple[SandboxHome, dict, bytes],
) -> None:
    box, info, _ = saved
    assert box.run("down", "--volumes").returncode == 0
    env = {"SANDBOX_IMAGES__HYDRA": "iam-sandbox-test/hydra:another-build"}
    done = box.run("up", "--from-snapshot", info["name"], env=env)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: snapshot {info['name']}.tar.zst does not match: images.hydra: the snapshot "
        f"has {images_hydra(box)}, the settings give iam-sandbox-test/hydra:another-build"
    )
    assert containers(box) == []
    assert (
        docker("volume", "ls", "-q", "--filter", f"label=io.iam-sandbox.project={box.project}")
        == ""
    )


def images_hydra(box: SandboxHome) -> str:
    import yaml

    return str(yaml.safe_load((box.home / "sandbox.yaml").read_text())["images"]["hydra"])


def test_a_fresh_machine_with_only_the_archive_gets_the_same_stack(
    saved: tuple[SandboxHome, dict, bytes], tmp_path: Path
) -> None:
    # What a CI job does: a new state directory, the archive from its cache, `up` from it.
    box, info, ca = saved
    box.run("down", "--volumes")
    archive = tmp_path / "cache" / "stack.tar.zst"
    archive.parent.mkdir()
    shutil.copy2(info["path"], archive)
    shutil.rmtree(box.home / ".sandbox")
    up = box.run("up", "--from-snapshot", str(archive), timeout=900)
    assert up.returncode == 0, up.stderr
    assert "✓ snapshot stack.tar.zst restored" in up.stderr
    # The migrations found every migration applied: their plan lists none pending.
    plan = subprocess.run(
        ["docker", "logs", f"{box.project}-hydra-migrate"], capture_output=True, text=True
    )
    assert "Applied" in plan.stdout + plan.stderr
    assert "Pending" not in plan.stdout + plan.stderr
    assert (box.certs / "ca" / "ca.crt").read_bytes() == ca, "the snapshot's CA, not a new one"
    done = box.run("verify", "--output", "json", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["counts"]["fail"] == 0
