"""The pytest plugin in real inner pytest sessions, against the real Docker engine.

CockroachDB and the Ory services are the stand-in images scripts/prepare-docker.sh builds from
tests/standin (Go), the load balancer is Debian's HAProxy: no registry is reachable here. After
every inner session, nothing labelled with its project may remain, unless it was kept.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sandbox.ci.ports import port_block
from tests.support.ci import CALLER_VARIABLES, NOTHING, clean_env, labelled, standin_settings
from tests.support.cli import run_sandbox
from tests.support.docker import BROKEN_HYDRA, engine_problem
from tests.support.ports import free_base

pytest_plugins = ["pytester"]
pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(engine_problem() is not None, reason=str(engine_problem())),
]
HOME = str(Path.home())  # pytester points HOME at its folder; Docker's CLI plugins live here

INNER = """
import json, os, subprocess, urllib.request
from pathlib import Path

def test_services_answer(iam_sandbox):
    for url in (iam_sandbox.hydra_admin_url, iam_sandbox.kratos_public_url,
                iam_sandbox.keto_read_remote):
        with urllib.request.urlopen(url + "/health/ready", timeout=5) as resp:
            assert resp.status == 200
    assert iam_sandbox.ca_path.is_file()
    ids = subprocess.run(
        ["docker", "ps", "-q", "--filter", f"label=io.iam-sandbox.project={iam_sandbox.project}"],
        capture_output=True, text=True, check=True).stdout.split()
    Path(os.environ["INNER_OUT"]).write_text(json.dumps(
        {"urls": iam_sandbox.urls, "project": iam_sandbox.project, "ids": sorted(ids)}))

def test_same_stack_for_the_whole_session(iam_sandbox):
    seen = json.loads(Path(os.environ["INNER_OUT"]).read_text())
    assert seen["urls"] == iam_sandbox.urls
"""


class Inner:
    """Inner pytest sessions in subprocesses, in a folder with a stand-in sandbox.yaml."""

    def __init__(self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
        self.pytester = pytester
        self.monkeypatch = monkeypatch
        self.path = pytester.path

    def run(self, name: str, out: Path, *args: str, **env: str) -> pytest.RunResult:
        for key, value in {"INNER_OUT": str(out), **env}.items():
            self.monkeypatch.setenv(key, value)
        try:
            return self.pytester.runpytest_subprocess(
                "-p", "sandbox.pytest", "--iam-sandbox-project", project(name), *args, timeout=400
            )
        finally:
            for key in env:
                self.monkeypatch.delenv(key)


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Inner:
    for key in list(os.environ):
        if key not in clean_env():
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", HOME)
    pytester.makefile(".yaml", sandbox=standin_settings())
    pytester.makepyfile(test_inner=INNER)
    return Inner(pytester, monkeypatch)


def project(name: str) -> str:
    return f"pt{os.getpid()}-{name}"


def test_a_failed_start_is_the_first_tests_error(inner: Inner, tmp_path: Path) -> None:
    result = inner.run("broken", tmp_path / "seen.json", SANDBOX_IMAGES__HYDRA=BROKEN_HYDRA)
    result.assert_outcomes(errors=2)
    text = result.stdout.str()
    first = text.index("ERROR at setup of test_services_answer")
    assert text.index("`sandbox up` failed (exit 1) at stage 'migrations done'") > first
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_services_answer*",
            "iam_sandbox: `sandbox up` failed (exit 1) at stage 'migrations done'",
            "error: stage 'migrations done' failed (hydra-migrate): hydra-migrate exited with "
            "code 1",
            "*could not apply migrations*",
            "(the sandbox was removed; --iam-sandbox-keep keeps it)",
        ]
    )
    assert "Traceback" not in text and "During handling" not in text
    assert labelled(project("broken")) == NOTHING


def test_keep_then_the_next_run_reuses_and_removes(inner: Inner, tmp_path: Path) -> None:
    name = project("keep")
    try:
        first_out, second_out = tmp_path / "first.json", tmp_path / "second.json"
        inner.run("keep", first_out, "--iam-sandbox-keep").assert_outcomes(passed=2)
        kept = labelled(name)
        assert len(kept["containers"]) == 13 and len(kept["volumes"]) == 3
        assert (inner.path / f".sandbox-{name}" / "pytest-session.json").is_file()

        inner.run("keep", second_out).assert_outcomes(passed=2)
        first, second = json.loads(first_out.read_text()), json.loads(second_out.read_text())
        assert second["urls"] == first["urls"], "the kept ports"
        assert second["ids"] == first["ids"], "the same containers: reused, not recreated"
        assert labelled(name) == NOTHING, "a run without --keep removes what pytest kept"
    finally:
        if labelled(name) != NOTHING:
            state = str(inner.path / f".sandbox-{name}")
            run_sandbox(
                inner.path,
                *("--state-dir", state, "down", "--volumes"),
                env={"SANDBOX_PROJECT": name},
                drop=CALLER_VARIABLES,
                timeout=300,
            )


XDIST = """
import json, os, subprocess
from pathlib import Path

import pytest

@pytest.mark.parametrize("n", range(8))
def test_shared(iam_sandbox, n):
    ids = subprocess.run(
        ["docker", "ps", "-q", "--filter", f"label=io.iam-sandbox.project={iam_sandbox.project}"],
        capture_output=True, text=True, check=True).stdout.split()
    worker = os.environ["PYTEST_XDIST_WORKER"]
    Path(os.environ["INNER_OUT"], f"{worker}-{n}.json").write_text(
        json.dumps({"worker": worker, "urls": iam_sandbox.urls, "ids": sorted(ids)}))
"""


def test_two_sessions_in_parallel_one_with_xdist(inner: Inner, tmp_path: Path) -> None:
    """A plain session and a `-n 2` session at once, with different projects: each passes on a
    stack of its own, xdist's two workers share theirs, and nothing is left afterwards."""
    inner.pytester.makepyfile(test_xdist=XDIST)
    plain_out, xdist_out = tmp_path / "plain.json", tmp_path / "xdist"
    xdist_out.mkdir()
    runs = {
        "plain": (["test_inner.py"], plain_out),
        "xdist": (["test_xdist.py", "-n", "2"], xdist_out),
    }
    procs = {}
    for name, (args, out) in runs.items():
        argv = [sys.executable, "-m", "pytest", "-p", "sandbox.pytest", "-q", *args]
        argv += ["--iam-sandbox-project", project(name)]
        procs[name] = subprocess.Popen(
            argv,
            cwd=inner.path,
            env=clean_env(HOME=HOME, INNER_OUT=str(out)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    for name, proc in procs.items():
        output = proc.communicate(timeout=400)[0].decode()
        assert proc.returncode == 0, f"{name}:\n{output}"
        assert ("2 passed" if name == "plain" else "8 passed") in output, output

    plain = json.loads(plain_out.read_text())
    assert plain["project"] == project("plain")
    assert len(plain["ids"]) == 8, "3 nodes, the load balancer, 3 Ory services and the UI ran"
    port = int(plain["urls"]["HYDRA_ADMIN_URL"].rsplit(":", 1)[1])
    assert port % 1000 == 445 and 20000 <= port < 32000, "a claimed block, not the defaults"
    assert not (inner.path / f".sandbox-{project('plain')}" / "pytest-session.json").exists()

    seen = [json.loads(p.read_text()) for p in sorted(xdist_out.glob("gw*.json"))]
    assert len(seen) == 8 and {s["worker"] for s in seen} == {"gw0", "gw1"}
    assert len({json.dumps(s["urls"]) for s in seen}) == 1, "one stack for both workers"
    assert len({tuple(s["ids"]) for s in seen}) == 1 and len(seen[0]["ids"]) == 8

    plain_ports = {url.rsplit(":", 1)[1] for url in plain["urls"].values()}
    xdist_ports = {url.rsplit(":", 1)[1] for url in seen[0]["urls"].values()}
    assert len(plain_ports) == 7 and len(xdist_ports) == 7 and not plain_ports & xdist_ports
    assert not set(plain["ids"]) & set(seen[0]["ids"])
    assert labelled(project("plain")) == NOTHING, "the fixture's teardown took it down"
    assert labelled(project("xdist")) == NOTHING, "xdist's controller took it down"


def test_the_fixture_starts_from_a_snapshot_when_its_archive_exists(
    inner: Inner, tmp_path: Path
) -> None:
    # A snapshot of another stand-in stack with the same settings: project and ports are not
    # part of a snapshot's key, so it fits the plugin's own project and port block.
    donor = tmp_path / "donor"
    donor.mkdir()
    settings = yaml.safe_load(standin_settings())
    settings |= {"project": project("donor"), "ports": port_block(free_base())}
    (donor / "sandbox.yaml").write_text(yaml.safe_dump(settings))
    try:
        assert run_sandbox(donor, "up", drop=CALLER_VARIABLES).returncode == 0
        saved = run_sandbox(donor, "snapshot", "save", "ci", drop=CALLER_VARIABLES)
        assert saved.returncode == 0, saved.stderr
    finally:
        run_sandbox(donor, "down", "--volumes", drop=CALLER_VARIABLES)
    archive = donor / ".sandbox" / "snapshots" / "ci.tar.zst"
    donor_ca = (donor / ".sandbox" / "certs" / "ca" / "ca.crt").read_bytes()

    inner.run(
        "snap", tmp_path / "seen.json", "--iam-sandbox-snapshot", str(archive)
    ).assert_outcomes(passed=2)
    state = inner.path / f".sandbox-{project('snap')}"
    assert (state / "certs" / "ca" / "ca.crt").read_bytes() == donor_ca, "restored, not new"
    assert labelled(project("snap")) == NOTHING

    # No archive (a CI cache miss): a plain `up`, with a CA of its own.
    inner.run(
        "nosnap", tmp_path / "seen2.json", "--iam-sandbox-snapshot", str(tmp_path / "none")
    ).assert_outcomes(passed=2)
    fresh = inner.path / f".sandbox-{project('nosnap')}" / "certs" / "ca" / "ca.crt"
    assert fresh.read_bytes() != donor_ca
