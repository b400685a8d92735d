"""Helpers for the kind and aws driver tests: free host ports, a driver on a captured Status."""

from __future__ import annotations

import io
import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

from sandbox.config.settings import Settings
from sandbox.model.topology import Topology
from sandbox.plan.status import Status
from sandbox.runtime.base import DriverContext
from sandbox.state import StateDir
from tests.support.cli import run_sandbox
from tests.support.ports import free_ports

PORT_FIELDS = (
    "sql",
    "hydra_public",
    "hydra_admin",
    "kratos_public",
    "kratos_admin",
    "keto_read",
    "keto_write",
    "ui",
)


def port_settings() -> dict[str, Any]:
    """A `ports` section of free ports, so tests never clash with a running sandbox."""
    ports = free_ports(len(PORT_FIELDS) + 6)
    section: dict[str, Any] = dict(zip(PORT_FIELDS, ports, strict=False))
    section["node_sql"] = ports[len(PORT_FIELDS) : len(PORT_FIELDS) + 3]
    section["node_http"] = ports[len(PORT_FIELDS) + 3 :]
    return section


def port_env(section: dict[str, Any]) -> dict[str, str]:
    env = {}
    for name, value in section.items():
        text = f"[{', '.join(map(str, value))}]" if isinstance(value, list) else str(value)
        env[f"SANDBOX_PORTS__{name.upper()}"] = text
    return env


def kube_settings(tmp_path: Path, **extra: Any) -> Settings:
    data: dict[str, Any] = {
        "ports": port_settings(),
        "tools": {"cache_dir": str(tmp_path / "tool-cache")},
    }
    data.update(extra)
    return Settings.model_validate(data)


def make_driver(
    cls: type, tmp_path: Path, settings: Settings | None = None
) -> tuple[Any, io.StringIO]:
    stream = io.StringIO()
    topology = Topology(settings or kube_settings(tmp_path))
    ctx = DriverContext(topology, StateDir(tmp_path / "state"), Status(stream=stream))
    return cls(ctx), stream


def commands(output: str) -> list[list[str]]:
    """The argv lists a dry run printed (`$ ...` lines), argv[0] reduced to the tool name."""
    out = []
    for line in output.splitlines():
        text = line.strip()
        if text.startswith("$ "):
            argv = shlex.split(text[2:].split("  < ", 1)[0])
            argv[0] = os.path.basename(argv[0])
            out.append(argv)
    return out


def run_cli(
    tmp_path: Path,
    *args: str,
    env: dict[str, str] | None = None,
    home: Path | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """The real entry point, with no SANDBOX_*, AWS_* or KUBECONFIG from the caller's
    environment."""
    full = {
        "HOME": str(home or tmp_path / "home"),
        "SANDBOX_TOOLS__CACHE_DIR": str(tmp_path / "tool-cache"),
        **(env or {}),
    }
    return run_sandbox(
        tmp_path,
        *("--state-dir", str(tmp_path / "state"), *args),
        env=full,
        drop=("SANDBOX_", "AWS_", "KUBECONFIG"),
        timeout=timeout,
    )
