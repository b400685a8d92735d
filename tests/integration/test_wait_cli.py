"""`sandbox wait` and `sandbox up --export github` against the real Docker engine (stand-ins)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.ci import CALLER_VARIABLES, clean_env, labelled
from tests.support.cli import run_sandbox
from tests.support.docker import STANDIN_IMAGES, engine_problem, standin_ports
from tests.support.ports import free_base

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(engine_problem() is not None, reason=str(engine_problem())),
]
REUSE = """
def test_reuses_the_running_sandbox(iam_sandbox):
    assert iam_sandbox.hydra_admin_url == "http://127.0.0.1:{port}"
"""
SERVICES = [
    "crdb-1",
    "crdb-2",
    "crdb-3",
    "crdb",
    "crdb-init",
    "crdb-bootstrap",
    "hydra-migrate",
    "hydra",
    "kratos-migrate",
    "kratos",
    "keto-migrate",
    "keto",
    "ui",
]


def test_wait_export_github_and_the_fixture_reusing_a_running_sandbox(tmp_path: Path) -> None:
    project = f"wt{os.getpid()}"
    base = free_base()
    settings = {
        "project": project,
        "images": STANDIN_IMAGES,
        "ports": standin_ports(base),
        "timeouts": {"up": 120, "poll_interval": 0.5},
    }
    (tmp_path / "sandbox.yaml").write_text(yaml.safe_dump(settings))
    github_env = tmp_path / "github_env"
    github_env.write_text("EARLIER=kept\n")
    env = {"GITHUB_ENV": str(github_env)}

    def sandbox(*args: str) -> tuple[int, str, str]:
        done = run_sandbox(tmp_path, *args, env=env, drop=CALLER_VARIABLES, timeout=300)
        return done.returncode, done.stdout, done.stderr

    try:
        code, out, err = sandbox("wait", "--timeout", "0", "--output", "json")
        assert code == 1
        data = json.loads(out)
        assert data["healthy"] is False
        assert data["unhealthy"] == {name: "missing" for name in SERVICES}
        assert err.strip().startswith("error: not healthy: crdb-1 (missing), crdb-2 (missing)")

        code, out, err = sandbox("up", "--export", "github")
        assert code == 0, err
        ca = tmp_path / ".sandbox" / "certs" / "clients" / "ory" / "ca.crt"
        db = f"postgresql://ory@localhost:{base + 257}"
        tls = f"sslmode=verify-full&sslrootcert={ca}"
        assert github_env.read_text().splitlines() == [
            "EARLIER=kept",
            f"HYDRA_PUBLIC_URL=http://127.0.0.1:{base + 444}",
            f"HYDRA_ADMIN_URL=http://127.0.0.1:{base + 445}",
            f"KRATOS_PUBLIC_URL=http://127.0.0.1:{base + 433}",
            f"KRATOS_ADMIN_URL=http://127.0.0.1:{base + 434}",
            f"KETO_READ_REMOTE=http://127.0.0.1:{base + 466}",
            f"KETO_WRITE_REMOTE=http://127.0.0.1:{base + 467}",
            f"KRATOS_UI_URL=http://127.0.0.1:{base + 455}",
            f"HYDRA_DATABASE_URL={db}/hydra?{tls}",
            f"KRATOS_DATABASE_URL={db}/kratos?{tls}",
            f"KETO_DATABASE_URL={db}/keto?{tls}",
        ]
        password = (tmp_path / ".sandbox" / "secrets" / "ory-db-password").read_text().strip()
        assert password not in github_env.read_text()

        code, out, err = sandbox("wait", "--timeout", "60")
        assert code == 0, err
        assert err.strip().startswith("all 13 services healthy (compose, ")

        # The pytest fixture reuses a healthy sandbox started by hand, and leaves it running.
        before = labelled(project)
        (tmp_path / "test_reuse.py").write_text(REUSE.format(port=base + 445))
        inner = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "sandbox.pytest", "test_reuse.py"],
            cwd=tmp_path,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert inner.returncode == 0, inner.stdout + inner.stderr
        assert labelled(project) == before, "the same containers, still there"

        stopped = os.system(f"docker stop -t 2 {project}-hydra >/dev/null")
        assert stopped == 0
        # that the timeout holds is tested on a fake clock: tests/unit/test_deadlines.py
        code, out, err = sandbox("wait", "--timeout", "2", "--output", "json")
        assert code == 1
        assert json.loads(out)["unhealthy"] == {"hydra": "exited"}
        assert err.strip().startswith("error: not healthy within 2s: hydra (exited)")
    finally:
        sandbox("down", "--volumes")
    assert labelled(project) == {"containers": [], "networks": [], "volumes": []}
