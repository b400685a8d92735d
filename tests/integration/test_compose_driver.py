"""`sandbox up/status/down` against the real Docker engine, with locally built stand-ins.

No registry is reachable here, so CockroachDB and the Ory services are played by
tests/standin (built by scripts/prepare-docker.sh); the load balancer is Debian's real
HAProxy, health-checking each node over TLS with the sandbox's CA. What stays here needs the
stand-in: its per-node banners, a migration made to fail, and the license statement (the key
the test sets is made up, and a real server refuses a key that is not genuine). The database
stages on a real CockroachDB are in test_compose_real_cockroach.py.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from sandbox.probes import http_status
from tests.support.cli import run_sandbox
from tests.support.docker import (
    BROKEN_HYDRA,
    STANDIN_IMAGES,
    UP_STAGES,
    engine_problem,
    standin_ports,
)
from tests.support.ports import free_base
from tests.support.squat import squat

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(engine_problem() is not None, reason=str(engine_problem())),
]


def settings(project: str, base: int, **images: str) -> dict[str, object]:
    return {
        "project": project,
        "images": {**STANDIN_IMAGES, **images},
        "ports": standin_ports(base),
        "timeouts": {"up": 120, "poll_interval": 0.5},
    }


class Sandbox:
    def __init__(self, home: Path, project: str, **images: str) -> None:
        self.home = home
        self.project = project
        self.base = free_base()
        home.mkdir(parents=True, exist_ok=True)
        (home / "sandbox.yaml").write_text(yaml.safe_dump(settings(project, self.base, **images)))

    def run(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run_sandbox(self.home, *args, env=env, timeout=300)

    def labelled(self, kind: str) -> list[str]:
        argv = {
            "container": ["docker", "ps", "-a", "--format", "{{.ID}}"],
            "network": ["docker", "network", "ls", "--format", "{{.ID}}"],
            "volume": ["docker", "volume", "ls", "--format", "{{.Name}}"],
        }[kind]
        argv += ["--filter", f"label=io.iam-sandbox.project={self.project}"]
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split()


@pytest.fixture
def sandbox(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    name = request.node.name.removeprefix("test_")[:12].replace("_", "-")
    box = Sandbox(tmp_path / "home", f"sbx-{os.getpid()}-{name}")
    yield box
    box.run("down", "--volumes")


def lb_banners(port: int, tries: int = 9) -> set[str]:
    seen = set()
    for _ in range(tries):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            seen.add(conn.recv(64).decode().strip())
    return seen


def test_up_status_rerun_down(sandbox: Sandbox) -> None:
    up = sandbox.run("up")
    assert up.returncode == 0, up.stderr
    for stage in UP_STAGES:
        assert f"✓ {stage}" in up.stderr
    assert "no CockroachDB license key" in up.stderr
    assert (sandbox.home / ".sandbox" / "target").read_text() == "compose"

    status = json.loads(sandbox.run("status", "--output", "json").stdout)
    by_name = {row["name"]: row for row in status}
    assert {by_name[f"crdb-{i}"]["zone"] for i in (1, 2, 3)} == {
        "us-east-1a",
        "us-east-1b",
        "us-east-1c",
    }
    for name in ("crdb-1", "crdb", "hydra", "kratos", "keto"):
        assert by_name[name]["state"] == "running", by_name[name]
    for name in ("crdb-init", "crdb-bootstrap", "hydra-migrate", "kratos-migrate", "keto-migrate"):
        assert by_name[name]["health"] == "completed", by_name[name]
    assert (
        by_name["hydra"]["endpoint"]
        == f"127.0.0.1:{sandbox.base + 444}, 127.0.0.1:{sandbox.base + 445}"
    )

    # The real HAProxy spreads SQL connections over all three ready nodes.
    assert lb_banners(sandbox.base + 257) == {"READY crdb-1", "READY crdb-2", "READY crdb-3"}

    before = sorted(sandbox.labelled("container"))
    again = sandbox.run("up")
    assert again.returncode == 0, again.stderr
    assert "already up and unchanged" in again.stderr
    assert "nodes started" not in again.stderr
    assert sorted(sandbox.labelled("container")) == before

    # A change that reaches only a mounted file (Hydra's login URL follows ports.ui): Compose
    # sees the new config digest on the service and recreates Hydra, so it reads the file.
    def started(service: str) -> str:
        argv = ["docker", "inspect", "-f", "{{.Id}}", f"{sandbox.project}-{service}"]
        return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip()

    hydra, keto = started("hydra"), started("keto")
    moved = sandbox.run("up", env={"SANDBOX_PORTS__UI": str(sandbox.base + 456)})
    assert moved.returncode == 0, moved.stderr
    assert started("hydra") != hydra, "Hydra kept the container that read the old config"
    assert started("keto") == keto, "Keto's config did not change"

    # A new license key changes only secrets/bootstrap.env: the chain runs again for it.
    key = "crl-0-SANDBOXTESTKEY"
    licensed = sandbox.run("up", env={"SANDBOX_COCKROACH__LICENSE_KEY": key})
    assert licensed.returncode == 0, licensed.stderr
    assert "✓ bootstrap done" in licensed.stderr and "already up" not in licensed.stderr
    assert "no CockroachDB license key" not in licensed.stderr
    bootstrap_logs = sandbox.run("logs", "crdb-bootstrap").stdout
    assert "SET CLUSTER" in bootstrap_logs, "the license statement reached the cluster"
    assert key not in licensed.stdout + licensed.stderr + bootstrap_logs

    sql = sandbox.run("sql", "-e", "SELECT 1")
    assert sql.returncode == 0 and "SELECT 1" in sql.stdout

    down = sandbox.run("down")
    assert down.returncode == 0, down.stderr
    assert not (sandbox.home / ".sandbox" / "target").exists()
    assert sandbox.labelled("container") == [] and sandbox.labelled("network") == []
    assert len(sandbox.labelled("volume")) == 3, "data volumes survive a plain down"
    assert sandbox.run("down").returncode == 0, "down twice is fine"
    assert sandbox.run("down", "--volumes").returncode == 0
    assert sandbox.labelled("volume") == []


def test_busy_port_is_refused_before_anything_starts(sandbox: Sandbox) -> None:
    with squat(sandbox.base + 445):
        up = sandbox.run("up")
    assert up.returncode == 2
    lines = up.stderr.strip().splitlines()
    assert lines[-1] == (
        f"error: port {sandbox.base + 445} on 127.0.0.1 is already in use: "
        f"ports.hydra_admin (wanted by hydra); free it or change "
        f"ports.hydra_admin"
    )
    assert sandbox.labelled("container") == []


def test_failed_migration_names_the_stage_and_shows_logs(tmp_path: Path) -> None:
    box = Sandbox(tmp_path / "home", f"sbx-{os.getpid()}-broken", hydra=BROKEN_HYDRA)
    try:
        up = box.run("up")
        assert up.returncode == 1
        assert (
            "error: stage 'migrations done' failed (hydra-migrate): hydra-migrate exited "
            "with code 1"
        ) in up.stderr
        assert "✗ migrations done" in up.stderr
        assert "could not apply migrations" in up.stderr, "the failing container's logs"
        assert "Traceback" not in up.stderr
    finally:
        box.run("down", "--volumes")
    assert box.labelled("container") == [] and box.labelled("volume") == []


def test_docker_not_running_is_one_line(sandbox: Sandbox) -> None:
    up = sandbox.run("up", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert up.returncode == 1
    errors = [line for line in up.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Docker is not reachable" in errors[0]
    assert "Traceback" not in up.stderr


def test_rendered_project_runs_without_the_sandbox(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "rendered"
    assert sandbox.run("render", "--target", "compose", "--out", str(out)).returncode == 0
    moved = tmp_path / "moved"
    out.rename(moved)  # relative paths: the folder can move
    compose = ["docker", "compose", "-f", str(moved / "compose.yaml")]
    try:
        # Plain Compose honours the gating chain itself: `up -d` returns once the Ory
        # services are started, which needs every one-shot to have succeeded.
        subprocess.run([*compose, "up", "-d"], check=True, capture_output=True, timeout=180)
        ps = subprocess.run(
            [*compose, "ps", "-a", "--format", "json"], check=True, capture_output=True, text=True
        ).stdout
        rows = [json.loads(line) for line in ps.splitlines() if line.strip()]
        states = {r["Service"]: (r["State"], r.get("ExitCode")) for r in rows}
        for one_shot in ("crdb-init", "crdb-bootstrap", "hydra-migrate", "keto-migrate"):
            assert states[one_shot] == ("exited", 0), one_shot
        assert states["hydra"][0] == "running"
        banners = lb_banners(sandbox.base + 257, tries=6)
        assert banners and banners <= {"READY crdb-1", "READY crdb-2", "READY crdb-3"}
        deadline = time.monotonic() + 30
        while http_status("127.0.0.1", sandbox.base + 433, "/health/ready") != 200:
            assert time.monotonic() < deadline, "kratos never became ready"
            time.sleep(0.5)
    finally:
        subprocess.run([*compose, "down", "-v"], capture_output=True, timeout=120)


def test_missing_image_fails_in_preflight(tmp_path: Path) -> None:
    box = Sandbox(
        tmp_path / "home", f"sbx-{os.getpid()}-noimage", cockroach="iam-sandbox-standin/absent:test"
    )
    up = box.run("up")
    assert up.returncode == 1
    errors = [line for line in up.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert errors[0].startswith("error: 1 image is not on this machine and cannot be pulled (")
    assert errors[0].endswith(
        "): iam-sandbox-standin/absent:test; `docker load` them or set images.cockroach"
    )
    assert "✗ pre-flight" in up.stderr
    assert box.labelled("container") == [] and box.labelled("network") == []
