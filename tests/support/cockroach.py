"""A real CockroachDB for the Compose tests, from an image already present on the engine.

The image is `$IAM_SANDBOX_TEST_COCKROACH_IMAGE` when that is set, else the pinned official
image `cockroachdb/cockroach:<version>` (the settings' default `versions.cockroach`). Nothing
is pulled and nothing is built: no registry is reachable on the machines where this suite is
developed, and CockroachDB's source is under the vendor's own licence, not an open-source one,
so this repository neither downloads nor builds it. Where the image is missing, the tests that
need it skip, and the reason names the variable and the image looked for. On a machine with
registry access, `docker pull cockroachdb/cockroach:<pinned version>` is enough for them to run.

With that image the three nodes run for real: the stack rendered for the pinned v25.4, node
command unchanged (secure nodes with their localities), `cockroach init`, the bootstrap SQL,
and the load balancer's TLS health checks of `/health?ready=1`. The Ory services stay the
stand-ins of tests/standin in these tests: real Hydra, Kratos and Keto do not run, and their
migrations are not applied to CockroachDB. The load balancer is Debian's real HAProxy
(the locally built `iam-sandbox-standin/haproxy` image).
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sandbox.config.settings import Versions
from tests.support.cli import run_sandbox
from tests.support.docker import (
    STANDIN_IMAGES,
    engine_problem,
    free_base,
    image_present,
    standin_ports,
)

IMAGE_VARIABLE = "IAM_SANDBOX_TEST_COCKROACH_IMAGE"
"""The environment variable naming the CockroachDB image the real-server tests run."""


def pinned_cockroach_image() -> str:
    """The official image at the version the sandbox pins by default."""
    return f"cockroachdb/cockroach:{Versions().cockroach}"


@dataclass(frozen=True)
class CockroachImage:
    """The CockroachDB image the real-server tests want, and why it cannot be used (or None)."""

    image: str
    problem: str | None


def wanted_cockroach_image(environ: Mapping[str, str]) -> str:
    """`$IAM_SANDBOX_TEST_COCKROACH_IMAGE` when set and not blank, else the pinned image."""
    return environ.get(IMAGE_VARIABLE, "").strip() or pinned_cockroach_image()


def choose_cockroach_image(
    environ: Mapping[str, str], present: Callable[[str], bool] = image_present
) -> CockroachImage:
    """The image to run and, when it is not on the engine, the skip reason. `present` is
    asked about exactly one image: the variable's when set, else the pinned official one."""
    image = wanted_cockroach_image(environ)
    if present(image):
        return CockroachImage(image, None)
    if environ.get(IMAGE_VARIABLE, "").strip():
        return CockroachImage(
            image,
            f"{IMAGE_VARIABLE} is set to {image}, but that image is not present locally "
            "(docker image inspect failed; no pull is attempted)",
        )
    return CockroachImage(
        image,
        f"no CockroachDB image: {IMAGE_VARIABLE} is not set and the pinned official image "
        f"{image} is not present locally (no pull is attempted; where a registry is "
        f"reachable, docker pull {image})",
    )


@cache
def real_cockroach() -> CockroachImage:
    """The choice for this process, made once (the real environment, the real engine)."""
    return choose_cockroach_image(os.environ)


@cache
def real_cockroach_problem() -> str | None:
    """Why the real-server tests cannot run here, or None when they can."""
    problem = engine_problem()
    if problem is not None:
        return (
            f"{problem}; these tests also need the CockroachDB image "
            f"{wanted_cockroach_image(os.environ)} ({IMAGE_VARIABLE} chooses it)"
        )
    return real_cockroach().problem


def real_cockroach_image() -> str:
    """The CockroachDB image the nodes run."""
    return real_cockroach().image


def real_cockroach_name() -> str:
    """How reports and failures name the server."""
    return f"CockroachDB from the image {real_cockroach_image()}"


def image_release(image: str) -> str | None:
    """The release an image's tag names (`v25.4.11` in `cockroachdb/cockroach:v25.4.11`), or
    None for a tag that is not a release (a digest, a local name)."""
    name = image.partition("@")[0]
    tag = name.rsplit("/", 1)[-1].partition(":")[2]
    return tag if re.fullmatch(r"v\d+\.\d+\.\d+", tag) else None


def real_cockroach_settings(project: str, base: int) -> dict[str, object]:
    """`sandbox.yaml` content: the real server for the nodes, stand-ins for Ory, Debian's
    HAProxy for the load balancer, every port in the block at `base`. Generous timeouts: a
    real cluster on a shared machine takes tens of seconds to start."""
    return {
        "project": project,
        "images": {**STANDIN_IMAGES, "cockroach": real_cockroach_image()},
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
        assert up.returncode == 0, f"sandbox up on {real_cockroach_name()} failed:\n{up.stderr}"
        yield box
    finally:
        box.down()
