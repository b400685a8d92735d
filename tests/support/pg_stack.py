"""The whole stack on real servers in containers: `database.engine: postgres` with the images
scripts/prepare-images.sh builds (PostgreSQL 15 and etcd 3.4 from Debian's packages, Patroni
4.1.5 from PyPI, Debian's HAProxy 2.6, and hydra/kratos/keto built from their Go modules).

The versions the engine renders for (`versions.postgres`, `versions.patroni`) are read from
the image's own labels, so the Patroni configuration matches the Patroni inside.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from sandbox.ci.ports import port_block
from tests.support import images
from tests.support.cockroach import SandboxHome
from tests.support.docker import engine_problem
from tests.support.ports import free_base


def stack_problem() -> str | None:
    """Why the real stack cannot run here, or None when it can."""
    return engine_problem() or images.problem()


def stack_settings(project: str, base: int) -> dict[str, object]:
    chosen = images.images()
    inside = images.labels(chosen["postgres"])
    return {
        "project": project,
        "database": {"engine": "postgres"},
        "versions": {
            "postgres": ".".join(inside["postgresql"].split(".")[:2]),
            "patroni": inside["patroni"],
        },
        "images": chosen,
        "ports": dict(port_block(base)),
        "timeouts": {"up": 600, "nodes_ready": 240, "migrations": 300, "services_ready": 180},
    }


def write_stack(home: Path, label: str) -> SandboxHome:
    home.mkdir(parents=True, exist_ok=True)
    tag = "".join(c if c.isalnum() else "-" for c in label.lower())[:12].strip("-")
    box = SandboxHome(home, f"pg-{os.getpid()}-{tag}-{uuid.uuid4().hex[:6]}", free_base())
    (home / "sandbox.yaml").write_text(yaml.safe_dump(stack_settings(box.project, box.base)))
    return box


@contextmanager
def postgres_stack(home: Path, label: str) -> Iterator[SandboxHome]:
    """A stack brought `up`, removed with its volumes afterwards (AssertionError with the
    CLI's output when `up` fails)."""
    box = write_stack(home, label)
    try:
        up = box.run("up", timeout=900)
        assert up.returncode == 0, f"sandbox up (postgres engine) failed:\n{up.stderr}"
        yield box
    finally:
        box.down()
