"""Managed port-forwards for real (`sandbox.runtime.kube.forwards`): detached, recorded in the
state dir, stopped by `down`.

A stand-in `kubectl` (a Python script on PATH) answers `version --client` and, for
`port-forward ... HOST:REMOTE`, listens on 127.0.0.1:HOST like the real one.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from sandbox.plan.status import Status
from sandbox.probes import port_is_open
from sandbox.render import helm_values
from sandbox.runtime.kube.commands import ProcessExecutor, Session
from sandbox.runtime.kube.forwards import Forward, Forwards, _pid_alive
from sandbox.runtime.kube.providers.kind import KindProvider
from sandbox.runtime.kube.runtime import KubeRuntime
from tests.support.kube import make_driver

FAKE_KUBECTL = """\
#!{python}
import signal, socket, sys
args = sys.argv[1:]
if "version" in args:
    print("Client Version: v1.36.1")
    sys.exit(0)
if "port-forward" in args:
    host = int(args[-1].split(":")[0])
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", host))
    sock.listen(8)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        conn, _ = sock.accept()
        conn.close()
sys.exit(3)
"""


@pytest.fixture
def fake_kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    kubectl = bin_dir / "kubectl"
    kubectl.write_text(FAKE_KUBECTL.format(python=sys.executable))
    kubectl.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return kubectl


def wait_until(predicate: object, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def runtime(tmp_path: Path) -> KubeRuntime:
    """The kind runtime as `sandbox up` builds it: real processes, tools from PATH."""
    driver, _ = make_driver(lambda ctx: KubeRuntime(ctx, KindProvider(ctx)), tmp_path)
    assert isinstance(driver, KubeRuntime)
    return driver


def start(driver: KubeRuntime, kubectl: Path) -> None:
    session = Session(Status(quiet=True), ProcessExecutor(), lambda name, dry: str(kubectl))
    forwards = [Forward(*f) for f in helm_values.port_forwards(driver.topology)]
    driver.forwards.start(session, driver.cli(session).kubectl().argv, forwards)


def test_forwards_open_every_host_port_and_down_stops_them(
    tmp_path: Path, fake_kubectl: Path
) -> None:
    driver = runtime(tmp_path)
    forwards: Forwards = driver.forwards
    ports = [port for _, port in driver.topology.settings.ports.named()]
    try:
        start(driver, fake_kubectl)
        assert all(port_is_open(p) for p in ports)
        records = json.loads(forwards.file.read_text())
        assert sorted(r["port"] for r in records) == sorted(ports)
        assert forwards.file.stat().st_mode & 0o777 == 0o600
        assert sorted(forwards.ports()) == sorted(ports)
        pids = [r["pid"] for r in records]
        assert all(_pid_alive(pid) for pid in pids)
    finally:
        stopped = forwards.stop()
    assert sorted(stopped) == sorted(pids)
    assert wait_until(lambda: not any(port_is_open(p) for p in ports))
    assert not forwards.file.exists()


def test_a_dropped_forward_is_reopened(tmp_path: Path, fake_kubectl: Path) -> None:
    import signal
    import subprocess

    driver = runtime(tmp_path)
    port = driver.topology.settings.ports.keto_read
    try:
        start(driver, fake_kubectl)
        # kill the kubectl child (not the supervising loop) that holds this port
        listing = subprocess.run(
            ["ps", "-ww", "-eo", "pid,args"], capture_output=True, text=True
        ).stdout
        child = next(
            int(line.split()[0])
            for line in listing.splitlines()
            if str(fake_kubectl) in line and f" {port}:" in line and "sh -c" not in line
        )
        os.kill(child, signal.SIGTERM)
        assert wait_until(lambda: not _pid_alive(child) or not port_is_open(port), 5)
        assert wait_until(lambda: port_is_open(port), 10)
    finally:
        driver.forwards.stop()


def test_down_leaves_a_reused_pid_alone(tmp_path: Path) -> None:
    import subprocess

    driver = runtime(tmp_path)
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        driver.workdir.mkdir(parents=True)
        record = [{"pid": stranger.pid, "port": 1, "resource": "x"}]
        driver.forwards.file.write_text(json.dumps(record))
        assert driver.forwards.ports() == []
        assert driver.forwards.stop() == []
        assert stranger.poll() is None  # still running: it was never ours
    finally:
        stranger.kill()
        stranger.wait()
