"""A real CockroachDB for the Compose tests: the image scripts/prepare-cockroach.sh builds.

No image registry is reachable, so the server is CockroachDB v20.1.17 built from its Go
module (the newest version the module proxy serves). It runs the database stages for real:
secure nodes, localities, `cockroach init`, the bootstrap SQL, HAProxy's TLS health checks.
The Ory services stay stand-ins: Ory v26.2.0's migrations need a CockroachDB newer than 20.1.

The image runs the rendered node command unchanged: the stack stays written for the pinned
v25.4, and every flag in it is one v20.1 accepts too (`--logtostderr=INFO` included).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tests.support.cli import run_sandbox
from tests.support.docker import STANDIN_IMAGES, engine_problem, free_base, standin_ports

REAL_COCKROACH_IMAGE = "iam-sandbox-test/cockroach:v20.1.17-gomod"
REAL_COCKROACH_NAME = "CockroachDB v20.1.17 built from its Go module"


@cache
def real_cockroach_problem() -> str | None:
    """Why the real-server tests cannot run here, or None when they can."""
    problem = engine_problem()
    if problem is not None:
        return problem
    inspect = subprocess.run(
        ["docker", "image", "inspect", REAL_COCKROACH_IMAGE], capture_output=True, timeout=30
    )
    if inspect.returncode != 0:
        return (
            f"image {REAL_COCKROACH_IMAGE} ({REAL_COCKROACH_NAME}) is missing: "
            "run scripts/prepare-cockroach.sh"
        )
    return None


def real_cockroach_settings(project: str, base: int) -> dict[str, object]:
    """`sandbox.yaml` content: the real server for the nodes, stand-ins for Ory and HAProxy,
    every port in the block at `base`. Generous timeouts: a real cluster on a shared machine
    takes tens of seconds to start."""
    return {
        "project": project,
        "images": {**STANDIN_IMAGES, "cockroach": REAL_COCKROACH_IMAGE},
        "ports": standin_ports(base),
        "timeouts": {"up": 420, "nodes_ready": 300, "poll_interval": 0.5},
    }


@dataclass(frozen=True)
class SandboxHome:
    """A folder with a `sandbox.yaml` for one Compose project; `run` is the real CLI in it."""

    home: Path
    project: str
    base: int

    @property
    def ports(self) -> dict[str, object]:
        return standin_ports(self.base)

    @property
    def sql_port(self) -> int:
        """The load balancer's SQL port on 127.0.0.1."""
        return self.base + 257

    @property
    def certs(self) -> Path:
        """The sandbox's certificate tree (`ca/ca.crt`, `clients/<user>/...`) once `up` ran."""
        return self.home / ".sandbox" / "certs"

    def run(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        return run_sandbox(self.home, *args, env=env, timeout=timeout)

    def down(self) -> subprocess.CompletedProcess[str]:
        return self.run("down", "--volumes", timeout=300)


def unique_project(label: str) -> str:
    """A Compose project name no other run on this engine uses."""
    tag = "".join(c if c.isalnum() else "-" for c in label.lower())[:16].strip("-")
    return f"crdb-{os.getpid()}-{tag}-{uuid.uuid4().hex[:6]}"


def write_real_cockroach_sandbox(home: Path, label: str) -> SandboxHome:
    """Write `home/sandbox.yaml` for a sandbox on the real server, on a free port block."""
    import yaml

    home.mkdir(parents=True, exist_ok=True)
    box = SandboxHome(home=home, project=unique_project(label), base=free_base())
    (home / "sandbox.yaml").write_text(
        yaml.safe_dump(real_cockroach_settings(box.project, box.base))
    )
    return box


@contextmanager
def real_cockroach_sandbox(home: Path, label: str) -> Iterator[SandboxHome]:
    """A sandbox brought `up` on the real server, removed with its volumes afterwards.
    Raises AssertionError with the CLI's output when `up` fails."""
    box = write_real_cockroach_sandbox(home, label)
    try:
        up = box.run("up")
        assert up.returncode == 0, f"sandbox up on {REAL_COCKROACH_NAME} failed:\n{up.stderr}"
        yield box
    finally:
        box.down()
