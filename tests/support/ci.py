"""What the CI-feature tests share: the JUnit schema, actionlint, and inner pytest sessions
against a stand-in sandbox."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from tests.support.cli import sandbox_env
from tests.support.docker import STANDIN_IMAGES


def _cache(env_name: str, *parts: str) -> Path:
    if os.environ.get(env_name):
        return Path(os.environ[env_name])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base.joinpath("iam-sandbox", *parts)


def junit_xsd() -> Path | None:
    """junit-10.xsd from the pytest sdist (scripts/prepare-junit-xsd.sh), when fetched."""
    path = _cache("SANDBOX_JUNIT_XSD_CACHE", "junit-xsd") / "junit-10.xsd"
    return path if path.is_file() else None


ACTIONLINT_VERSION = "v1.7.12"


def actionlint() -> Path | None:
    """actionlint built from its Go module (scripts/prepare-actionlint.sh), when built."""
    path = _cache("SANDBOX_ACTIONLINT_CACHE", "actionlint") / ACTIONLINT_VERSION / "actionlint"
    return path if path.is_file() and os.access(path, os.X_OK) else None


def standin_settings(**images: str) -> str:
    """A sandbox.yaml running the stand-in images (ports come from the plugin's block)."""
    return yaml.safe_dump(
        {"images": {**STANDIN_IMAGES, **images}, "timeouts": {"up": 120, "poll_interval": 0.5}}
    )


CALLER_VARIABLES = ("SANDBOX_", "HYDRA_", "KRATOS_", "KETO_", "DATABASE_URL", "GITHUB_", "PYTEST_")
"""What a sandbox or an inner pytest session started by a CI test must not inherit: the
settings, the integration guide's variables, the CI's and pytest's own (`drop` of
tests.support.cli)."""


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without SANDBOX_* or the integration guide's variables, plus `extra`."""
    return sandbox_env(extra, drop=CALLER_VARIABLES)


def labelled(project: str) -> dict[str, list[str]]:
    """Names of every container, network and volume that carries the project's label."""
    found = {}
    for kind, argv in {
        "containers": ["docker", "ps", "-a", "--format", "{{.Names}}"],
        "networks": ["docker", "network", "ls", "--format", "{{.Name}}"],
        "volumes": ["docker", "volume", "ls", "--format", "{{.Name}}"],
    }.items():
        argv = [*argv, "--filter", f"label=io.iam-sandbox.project={project}"]
        out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        found[kind] = sorted(out.split())
    return found


NOTHING: dict[str, list[str]] = {"containers": [], "networks": [], "volumes": []}
