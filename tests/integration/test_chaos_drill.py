"""`sandbox chaos zone` on a real CockroachDB: drills in all four modes, an audit that catches
deleted rows, and Ctrl-C during the outage.

The nodes run the CockroachDB image tests/support/cockroach.py chooses
(`$IAM_SANDBOX_TEST_COCKROACH_IMAGE`, else the pinned official image when it is present
locally; without one the module skips and says which image it looked for): three secure
nodes in us-east-1a/b/c behind Debian's real HAProxy (the locally built stand-in image). The
Ory services stay stand-ins in these tests, so the drills run the SQL workload; the Ory
workload is tested against real Keto and Kratos on PostgreSQL (test_chaos_ory_workload.py).
One cluster serves every drill of this module. Each drill is short (6 s outage in a 16 s
drill); benchmarks/chaos.py runs the long ones and reports the numbers.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.chaos.cluster import SqlAccess, wait_recovered
from sandbox.chaos.engines.cockroach import CockroachProbe
from sandbox.chaos.sql_workload import DATABASE, INSERT, SqlWorkload
from tests.support.cockroach import (
    SandboxHome,
    real_cockroach_problem,
    real_cockroach_sandbox,
)

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(real_cockroach_problem() is not None, reason=str(real_cockroach_problem())),
]
SHORT = ("--outage", "6s", "--duration", "16s", "--workload", "sql")


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHome]:
    with real_cockroach_sandbox(tmp_path_factory.mktemp("chaos") / "home", "chaos") as b:
        # Rows of an earlier drill share the table, as in a sandbox that ran many drills:
        # each drill must count its own rows only.
        SqlWorkload(root_access(b), "earlier").setup()
        with root_access(b).connect(DATABASE) as conn:
            for seq in range(3):
                conn.execute(INSERT, (f"earlier-0-{seq}", "earlier", 0, seq))
        yield b


def root_access(box: SandboxHome, port: int | None = None) -> SqlAccess:
    return SqlAccess("127.0.0.1", port or box.sql_port, box.certs / "clients" / "root")


def count_rows(box: SandboxHome, run_id: str) -> int:
    """count(*) through `sandbox sql` (cockroach sql inside crdb-1): not the drill's client."""
    done = box.run("sql", "-e", f"SELECT count(*) FROM sandbox_chaos.writes WHERE run = '{run_id}'")
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip().splitlines()[-1])


def drill(box: SandboxHome, mode: str, *extra: str) -> tuple[int, dict[str, Any], str]:
    done = box.run(
        "chaos",
        "zone",
        "us-east-1b",
        "--mode",
        mode,
        *SHORT,
        "--output",
        "json",
        *extra,
        timeout=400,
    )
    assert done.stdout.strip(), done.stderr
    return done.returncode, json.loads(done.stdout), done.stderr


@pytest.mark.parametrize("mode", ["kill", "stop", "pause", "partition"])
def test_a_zone_drill_loses_nothing_and_recovers(
    box: SandboxHome, mode: str, tmp_path: Path
) -> None:
    extra = ("--plot", str(tmp_path / "drill.png")) if mode == "kill" else ()
    code, report, stderr = drill(box, mode, *extra)
    assert code == 0, stderr
    assert report["ok"] is True and report["lost"] == 0
    assert report["recovered"] is True and report["recovery_seconds"] is not None
    assert report["node"] == f"{box.project}-crdb-2" and report["mode"] == mode
    (sql,) = report["audits"]
    assert sql["workload"] == "sql" and sql["lost"] == [] and sql["duplicates"] == []
    assert sql["acknowledged"] > 200, "2 writers, one write each per 20 ms, for 16 s"
    # The report's count is the database's count, read independently.
    assert sql["found"] == count_rows(box, report["run_id"])
    committed = sql["acknowledged"] + sql["ambiguous_committed"]
    assert sql["found"] == committed, "found = acknowledged + ambiguous that committed"
    assert set(report["phases"]) >= {"fault", "restore", "recovered", "end"}
    held = report["phases"]["restore"] - report["phases"]["fault"]
    # `docker stop` returns once the node is gone: up to its 10 s grace when the node is
    # slow to shut down.
    assert 5.5 <= held <= (18 if mode == "stop" else 7.5), held
    lb = report["load_balancer"]
    assert lb["eject"] is not None and lb["eject"] < 10, lb
    if mode == "kill":
        assert (tmp_path / "drill.png").read_bytes()[:4] == b"\x89PNG"


def test_the_audit_catches_rows_deleted_behind_the_drills_back(box: SandboxHome) -> None:
    proc = start_drill(box, "kill", *SHORT, "--output", "json")
    run_id, seen = _wait_for_line(proc, "fault:")
    # Through crdb-1 (us-east-1a, alive): delete the first five writes of each writer.
    with root_access(box, box.base + 258).connect("sandbox_chaos") as conn:
        deleted = conn.execute("DELETE FROM writes WHERE run = %s AND seq < 5", (run_id,)).rowcount
    assert deleted == 10
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, seen + err
    report = json.loads(out)
    assert report["lost"] == 10 and report["ok"] is False
    assert sorted(report["audits"][0]["lost"]) == sorted(
        f"{run_id}-{w}-{s}" for w in (0, 1) for s in range(5)
    )
    assert report["audits"][0]["found"] == count_rows(box, run_id)


def test_ctrl_c_during_the_outage_restores_the_zone(box: SandboxHome) -> None:
    proc = start_drill(box, "pause", "--outage", "60s", "--duration", "80s", "--workload", "sql")
    _, seen = _wait_for_line(proc, "fault:")
    time.sleep(1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, seen + err
    assert "interrupted: zone us-east-1b restored" in err
    state = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.Status}}", f"{box.project}-crdb-2"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert state == "running"
    ok, why = wait_recovered(root_access(box), CockroachProbe(), 3, timeout=90)
    assert ok, why
    status = json.loads(box.run("status", "--output", "json").stdout)
    states = {r["name"]: r["state"] for r in status}
    assert [states[n] for n in ("crdb-1", "crdb-2", "crdb-3")] == ["running"] * 3


def start_drill(box: SandboxHome, mode: str, *args: str) -> subprocess.Popen[str]:
    """The drill as a process of its own, to act on it (or on the cluster) mid-outage."""
    argv = [sys.executable, "-m", "sandbox", "chaos", "zone", "us-east-1b", "--mode", mode, *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
    return subprocess.Popen(
        argv, cwd=box.home, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def _wait_for_line(proc: subprocess.Popen[str], marker: str) -> tuple[str, str]:
    """Read the drill's stderr until `marker`; return its run id and what was read."""
    assert proc.stderr is not None
    seen = ""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen += line
        if line.startswith(marker):
            match = re.search(r"^drill (\S+):", seen, re.MULTILINE)
            assert match, seen
            return match[1], seen
    proc.kill()
    raise AssertionError(f"the drill never printed {marker!r}:\n{seen}")
