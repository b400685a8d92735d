"""The Compose fault injector and `sandbox up`'s healing, on the real Docker engine.

The nodes here are the Go stand-ins (tests/standin): what is under test is Docker's side
(stop, kill, pause, network disconnect, the restore with the Compose aliases) and the real
HAProxy noticing it. The drill on a real CockroachDB is tests/integration/test_chaos_drill.py.
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

from sandbox.chaos.faults import Mode, compose_fault
from sandbox.chaos.haproxy_log import compose_lb_times
from sandbox.exec import run
from tests.support.cli import run_sandbox
from tests.support.docker import STANDIN_IMAGES, engine_problem, standin_ports
from tests.support.ports import free_base

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(engine_problem() is not None, reason=str(engine_problem())),
]


class Box:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.project = f"chaosf-{os.getpid()}"
        self.base = free_base()
        home.mkdir(parents=True)
        settings = {
            "project": self.project,
            "images": STANDIN_IMAGES,
            "ports": standin_ports(self.base),
            "timeouts": {"up": 120, "poll_interval": 0.5},
        }
        (home / "sandbox.yaml").write_text(yaml.safe_dump(settings))

    def sandbox(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_sandbox(self.home, *args, timeout=300)

    def inspect(self, node: str) -> dict[str, object]:
        out = run(["docker", "inspect", f"{self.project}-{node}"]).stdout
        data: dict[str, object] = json.loads(out)[0]
        return data

    def banners(self, tries: int = 9) -> set[str]:
        seen = set()
        for _ in range(tries):
            try:
                with socket.create_connection(("127.0.0.1", self.base + 257), timeout=3) as conn:
                    seen.add(conn.recv(64).decode().strip())
            except OSError:
                seen.add("error")
        return seen


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    b = Box(tmp_path_factory.mktemp("chaosf") / "home")
    up = b.sandbox("up")
    assert up.returncode == 0, up.stderr
    yield b
    b.sandbox("down", "--volumes")


def wait_for(check: object, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {check}"
        time.sleep(0.25)


ALL_READY = {"READY crdb-1", "READY crdb-2", "READY crdb-3"}


def status_of(b: Box, node: str) -> str:
    state = b.inspect(node)["State"]
    assert isinstance(state, dict)
    return str(state["Status"])


def networks_of(b: Box, node: str) -> dict[str, dict[str, object]]:
    settings = b.inspect(node)["NetworkSettings"]
    assert isinstance(settings, dict)
    return dict(settings["Networks"])


@pytest.mark.parametrize(
    ("mode", "down_state"),
    [(Mode.kill, "exited"), (Mode.stop, "exited"), (Mode.pause, "paused"), (Mode.partition, "")],
)
def test_each_mode_takes_the_node_down_and_restore_brings_it_back(
    box: Box, mode: Mode, down_state: str
) -> None:
    wait_for(lambda: box.banners() == ALL_READY)
    fault = compose_fault(run, mode, box.project, "crdb-2")
    fault_at = time.time()
    fault.inject()
    if down_state:
        assert status_of(box, "crdb-2") == down_state
    else:
        assert f"{box.project}_default" not in networks_of(box, "crdb-2")
    # The real HAProxy stops sending connections to it.
    wait_for(lambda: "READY crdb-2" not in box.banners())
    time.sleep(1)
    restore_at = time.time()
    fault.restore()
    assert status_of(box, "crdb-2") == "running"
    network = networks_of(box, "crdb-2")[f"{box.project}_default"]
    assert {"crdb-2", f"{box.project}-crdb-2"} <= set(network["Aliases"] or [])  # type: ignore[arg-type]
    wait_for(lambda: box.banners() == ALL_READY, seconds=30)
    lb = compose_lb_times(run, f"{box.project}-crdb", "crdb-2", fault_at, restore_at)
    # HAProxy's log, in order: crdb-2 went DOWN after the fault and before the restore, and
    # UP after the restore (how long each took is measured in benchmarks/chaos.py)
    assert lb.eject is not None and fault_at <= fault_at + lb.eject <= restore_at, lb
    assert lb.readd is not None and lb.readd >= 0, lb


def test_up_heals_what_a_killed_drill_left(box: Box) -> None:
    wait_for(lambda: box.banners() == ALL_READY)
    compose_fault(run, Mode.pause, box.project, "crdb-1").inject()
    compose_fault(run, Mode.partition, box.project, "crdb-2").inject()
    compose_fault(run, Mode.stop, box.project, "crdb-3").inject()
    up = box.sandbox("up")
    assert up.returncode == 0, up.stderr
    assert f"healed {box.project}-crdb-1 (paused): unpause" in up.stderr
    assert f"healed {box.project}-crdb-2 (running): network connect" in up.stderr
    assert f"healed {box.project}-crdb-3 (exited): start" in up.stderr
    for node in ("crdb-1", "crdb-2", "crdb-3"):
        assert status_of(box, node) == "running"
    aliases = networks_of(box, "crdb-2")[f"{box.project}_default"]["Aliases"]
    assert "crdb-2" in aliases  # type: ignore[operator]
    wait_for(lambda: box.banners() == ALL_READY, seconds=30)
