"""Managed port-forwards for real: detached, recorded in the state dir, stopped by `down`.

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

from sandbox.drivers.k8s import _pid_alive
from sandbox.drivers.kind import KindDriver
from sandbox.probes import port_is_open
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


def test_forwards_open_every_host_port_and_down_stops_them(
    tmp_path: Path, fake_kubectl: Path
) -> None:
    driver, _ = make_driver(KindDriver, tmp_path)
    ports = [port for _, port in driver.topology.settings.ports.named()]
    try:
        driver.start_forwards()
        assert all(port_is_open(p) for p in ports)
        records = json.loads(driver.forwards_file.read_text())
        assert sorted(r["port"] for r in records) == sorted(ports)
        assert driver.forwards_file.stat().st_mode & 0o777 == 0o600
        assert sorted(driver.forwarded_ports()) == sorted(ports)
        pids = [r["pid"] for r in records]
        assert all(_pid_alive(pid) for pid in pids)
    finally:
        stopped = driver.stop_forwards()
    assert sorted(stopped) == sorted(pids)
    assert wait_until(lambda: not any(port_is_open(p) for p in ports))
    assert not driver.forwards_file.exists()


def test_a_dropped_forward_is_reopened(tmp_path: Path, fake_kubectl: Path) -> None:
    import signal
    import subprocess

    driver, _ = make_driver(KindDriver, tmp_path)
    port = driver.topology.settings.ports.keto_read
    try:
        driver.start_forwards()
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
        driver.stop_forwards()


def test_down_leaves_a_reused_pid_alone(tmp_path: Path) -> None:
    import subprocess

    driver, _ = make_driver(KindDriver, tmp_path)
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        driver.workdir.mkdir(parents=True)
        record = [{"pid": stranger.pid, "port": 1, "resource": "x"}]
        driver.forwards_file.write_text(json.dumps(record))
        assert driver.forwarded_ports() == []
        assert driver.stop_forwards() == []
        assert stranger.poll() is None  # still running: it was never ours
    finally:
        stranger.kill()
        stranger.wait()
