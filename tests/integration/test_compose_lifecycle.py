"""The Compose lifecycle (`up`, `status`, `logs`, `down`, `--timeout`, Ctrl-C, a new CA) under
the faults a new user meets, against the real Docker engine with the stand-in images
(tests/standin, Debian's HAProxy; nothing can be pulled here)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.probes import http_status
from tests.integration.test_compose_driver import Sandbox
from tests.support.cli import start_sandbox
from tests.support.docker import STANDIN_IMAGES, UP_STAGES, engine_problem

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(engine_problem() is not None, reason=str(engine_problem())),
]

NOPE = {"DOCKER_HOST": "unix:///tmp/nope.sock"}


@pytest.fixture
def box(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    name = request.node.name.removeprefix("test_")[:12].replace("_", "-").strip("-")
    sandbox = Sandbox(tmp_path / "home", f"life-{os.getpid()}-{name}")
    yield sandbox
    sandbox.run("down", "--volumes")


def docker(*args: str) -> str:
    return subprocess.run(
        ["docker", *args], check=True, capture_output=True, text=True, timeout=120
    ).stdout.strip()


def container(box: Sandbox, service: str) -> str:
    return docker(
        "ps", "-aq", "--filter", f"label=io.iam-sandbox.project={box.project}",
        "--filter", f"label=io.iam-sandbox.service={service}",
    )  # fmt: skip


def node_ready(port: int, ca: Path) -> int | None:
    return http_status("127.0.0.1", port, "/health?ready=1", tls_ca=ca, server_name="localhost")


def test_lifecycle_status_codes_endpoints_and_ca_rotation(box: Sandbox, tmp_path: Path) -> None:
    b = box.base
    assert box.run("status").returncode == 3, "no sandbox yet"

    up = box.run("up")
    assert up.returncode == 0, up.stderr
    # the endpoints, as `sandbox env` names them, and each node's DB Console
    printed = up.stdout.splitlines()
    assert printed[0] == "endpoints (`sandbox env` prints them as variables):"
    for line in (
        f"  HYDRA_PUBLIC_URL=http://127.0.0.1:{b + 444}",
        f"  HYDRA_ADMIN_URL=http://127.0.0.1:{b + 445}",
        f"  KRATOS_PUBLIC_URL=http://127.0.0.1:{b + 433}",
        f"  KRATOS_ADMIN_URL=http://127.0.0.1:{b + 434}",
        f"  KETO_READ_REMOTE=http://127.0.0.1:{b + 466}",
        f"  KETO_WRITE_REMOTE=http://127.0.0.1:{b + 467}",
        f"  DB Console crdb-1 (us-east-1a): https://localhost:{b + 80}",
        f"  DB Console crdb-2 (us-east-1b): https://localhost:{b + 81}",
        f"  DB Console crdb-3 (us-east-1c): https://localhost:{b + 82}",
    ):
        assert line in printed
    assert any(
        x.startswith(f"  HYDRA_DATABASE_URL=postgresql://ory@localhost:{b + 257}/hydra?")
        for x in printed
    )

    status = box.run("status", "--output", "json")
    assert status.returncode == 0, status.stdout
    health = {row["name"]: row["health"] for row in json.loads(status.stdout)}
    assert [health[f"crdb-{i}"] for i in (1, 2, 3)] == ["healthy", "healthy", "healthy"]

    # nodes carry no Docker health check (a client inside a CockroachDB node's cgroup can push
    # it over its cap): their health is /health?ready=1 probed from the host, as `up` does
    ca = box.home / ".sandbox" / "certs" / "ca" / "ca.crt"
    for i in (1, 2, 3):
        config = docker(
            "inspect", "-f", "{{json .Config.Healthcheck}}", container(box, f"crdb-{i}")
        )
        assert config == "null", config
    docker("restart", "-t", "1", container(box, "crdb-2"))
    deadline = time.monotonic() + 60
    while node_ready(b + 81, ca) != 200:
        assert time.monotonic() < deadline, "crdb-2 never became ready again"
        time.sleep(0.3)
    status = box.run("status", "--output", "json")
    assert status.returncode == 0, status.stdout
    health = {row["name"]: row["health"] for row in json.loads(status.stdout)}
    assert health["crdb-2"] == "healthy"

    # a new CA reaches the running nodes
    certs = box.home / ".sandbox" / "certs"
    old_ca = tmp_path / "old-ca.crt"
    shutil.copy(certs / "ca" / "ca.crt", old_ca)
    assert node_ready(b + 80, old_ca) == 200
    assert box.run("certs", "create", "--rotate-ca").returncode == 0
    again = box.run("up")
    assert again.returncode == 0, again.stderr
    assert "already up and unchanged" not in again.stderr
    assert "certificates changed: recreating every container" in again.stderr
    for port in (b + 80, b + 81, b + 82):
        assert node_ready(port, certs / "ca" / "ca.crt") == 200
        assert node_ready(port, old_ca) is None, "the old CA no longer verifies the node"

    # a stopped node is exit 1; nothing at all is exit 3
    docker("stop", "-t", "1", container(box, "crdb-2"))
    down = box.run("status")
    assert down.returncode == 1, down.stdout
    assert re.search(r"^crdb-2\s+exited\s", down.stdout, re.M), down.stdout
    assert box.run("down", "--volumes").returncode == 0
    assert box.run("status").returncode == 3


def test_logs_returns_the_failure_of_docker(box: Sandbox) -> None:
    assert box.run("up", "--dry-run").returncode == 0, "writes the project, starts nothing"
    logs = box.run("logs", "crdb-1", env=NOPE)
    assert logs.returncode == 1
    assert logs.stderr.splitlines()[-1] == "error: docker compose logs failed with exit code 1"
    assert box.run("logs", "crdb-1").returncode == 0, "with the engine: no containers, no error"


def test_down_sweeps_labelled_leftovers_compose_does_not_know(box: Sandbox) -> None:
    label = f"io.iam-sandbox.project={box.project}"
    image = "iam-sandbox-standin/haproxy:test"
    docker("network", "create", "--label", label, f"{box.project}-stray")
    docker("volume", "create", "--label", label, f"{box.project}-stray")
    docker("create", "--label", label, "--name", f"{box.project}-stray", image)
    docker("run", "-d", "--label", label, "--name", f"{box.project}-running", image)
    assert not (box.home / ".sandbox" / "compose").exists(), "Compose knows none of it"
    assert len(box.labelled("container")) == 2

    dry = box.run("down", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"  would remove container {box.project}-running" in dry.stderr.splitlines()
    assert f"  would remove network {box.project}-stray" in dry.stderr.splitlines()
    assert "volume" not in dry.stderr
    assert len(box.labelled("container")) == 2, "a dry run removes nothing"

    down = box.run("down")
    assert down.returncode == 0, down.stderr
    assert box.labelled("container") == [] and box.labelled("network") == []
    assert box.labelled("volume") == [f"{box.project}-stray"], "a plain down keeps volumes"
    assert box.run("down", "--volumes").returncode == 0
    assert box.labelled("volume") == []


def test_timeout_is_kept_and_names_a_service(box: Sandbox) -> None:
    """The chain stops in the stage where the time ran out and starts nothing after it (that
    no poll or sleep outlasts the deadline is tested on a fake clock: test_deadlines.py)."""
    # certificates first, so pre-flight is quick and the time runs out in a stage
    assert box.run("certs", "create").returncode == 0
    up = box.run("up", "--timeout", "4")  # the whole chain needs 15 s or more
    assert up.returncode == 1, up.stderr
    lines = up.stderr.splitlines()
    started = [line[2:].removesuffix(" ...") for line in lines if line.startswith("• ")]
    ended = [(line[0], line[2:].rsplit(" (", 1)[0]) for line in lines if line[:2] in ("✓ ", "✗ ")]
    assert 0 < len(started) < len(UP_STAGES), up.stderr
    assert started == list(UP_STAGES[: len(started)]), up.stderr
    assert ended == [*(("✓", s) for s in started[:-1]), ("✗", started[-1])], up.stderr
    errors = [line for line in up.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "timed out" in errors[0], up.stderr
    assert errors[0].startswith(f"error: stage '{started[-1]}' failed"), up.stderr
    hint = up.stderr.strip().splitlines()[-1]
    assert re.fullmatch(
        r"hint: `sandbox logs (crdb-[123]|crdb|crdb-init|crdb-bootstrap|\w+-migrate|hydra"
        r"|kratos|keto)` shows more; `sandbox down` removes the containers "
        r"\(they are kept for inspection\)",
        hint,
    ), hint


def test_ctrl_c_says_what_is_left_and_what_to_do(box: Sandbox) -> None:
    proc = start_sandbox(
        box.home,
        "up",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # Ctrl-C reaches the whole foreground group, children too
    )
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line.rstrip("\n"))
        if line.startswith("• cluster initialised"):
            break
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGINT)
    rest = proc.stderr.read()
    proc.wait(timeout=60)
    lines = seen + rest.splitlines()
    assert proc.returncode == 130, "\n".join(lines)
    assert lines[-2].startswith("✗ cluster initialised ("), lines
    assert re.fullmatch(
        r"error: interrupted during 'cluster initialised'; left running: "
        r"(crdb-[123]|crdb|crdb-init)(, (crdb-[123]|crdb|crdb-init))*; "
        r"`sandbox up` resumes, `sandbox down` removes it all",
        lines[-1],
    ), lines[-1]
    assert "crdb-1" in lines[-1] and "Traceback" not in rest
    assert box.run("down").returncode == 0
    assert box.labelled("container") == []


def test_every_missing_image_in_one_line(tmp_path: Path) -> None:
    box = Sandbox(
        tmp_path / "home",
        f"life-{os.getpid()}-images",
        cockroach="iam-sandbox-standin/absent-db:test",
        hydra="iam-sandbox-standin/absent-hydra:test",
    )
    up = box.run("up")
    assert up.returncode == 1
    errors = [line for line in up.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, up.stderr
    assert errors[0].startswith("error: 2 images are not on this machine and cannot be pulled ("), (
        errors[0]
    )
    assert errors[0].endswith(
        "): iam-sandbox-standin/absent-db:test, iam-sandbox-standin/absent-hydra:test; "
        "`docker load` them or set images.cockroach, images.hydra"
    ), errors[0]
    assert box.labelled("container") == []


def test_unreachable_docker_is_asked_about_once(box: Sandbox) -> None:
    up = box.run("up", env=NOPE)
    assert up.returncode == 1
    errors = [line for line in up.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, up.stderr
    assert errors[0].startswith("error: Docker is not reachable: ")
    assert errors[0].lower().count("running?") == 1, errors[0]


def volumes_of(box: Sandbox) -> dict[str, bool]:
    """Every volume the project's containers mount: name -> whether it carries the project's
    label (the named data volumes do; the anonymous ones Docker makes for an image's VOLUMEs
    do not)."""
    ids = docker("ps", "-aq", "--filter", f"label=io.iam-sandbox.project={box.project}").split()
    names = [
        mount["Name"]
        for one in ids
        for mount in json.loads(docker("inspect", "-f", "{{json .Mounts}}", one))
        if mount["Type"] == "volume"
    ]
    labelled = set(box.labelled("volume"))
    return {name: name in labelled for name in names}


def existing_volumes() -> set[str]:
    return set(docker("volume", "ls", "-q").split())


def test_up_down_cycles_leave_no_volume_behind(box: Sandbox) -> None:
    # Kratos's image (the stand-in declares the same VOLUMEs as the official one) would give
    # kratos and kratos-migrate two anonymous volumes each, per `up`, that `down` leaves.
    image = docker("image", "inspect", "-f", "{{json .Config.Volumes}}", STANDIN_IMAGES["kratos"])
    assert json.loads(image) == {"/var/lib/sqlite": {}, "/home/ory": {}}
    seen: dict[str, bool] = {}
    for cycle in range(5):
        up = box.run("up")
        assert up.returncode == 0, up.stderr
        seen.update(volumes_of(box))
        down = box.run("down")
        assert down.returncode == 0, down.stderr
        left = existing_volumes() & set(seen)
        anonymous = sorted(name for name in left if not seen[name])
        assert anonymous == [], f"cycle {cycle + 1}: anonymous volumes left: {anonymous}"
        assert sorted(left) == sorted(box.labelled("volume")), cycle
    assert sorted(seen) == sorted(
        f"{box.project}_{node}-data" for node in ("crdb-1", "crdb-2", "crdb-3")
    ), "the same three data volumes on every cycle, and no other"
    assert box.run("down", "--volumes").returncode == 0
    assert existing_volumes() & set(seen) == set()
