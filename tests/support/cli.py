"""Run the real `sandbox` entry point in a subprocess: the one way tests and benchmarks do it.

The child gets the caller's environment without the variables that would change what it does
(`SANDBOX_*` always; callers drop more with `drop`), plus `env`. Its stdin is /dev/null, so a
command that would ask a question fails instead of waiting for an answer.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SANDBOX_VARIABLES = ("SANDBOX_",)


def sandbox_argv(*args: str) -> list[str]:
    """`python -m sandbox ARGS` with this interpreter."""
    return [sys.executable, "-m", "sandbox", *args]


def sandbox_env(
    env: Mapping[str, str] | None = None, drop: tuple[str, ...] = SANDBOX_VARIABLES
) -> dict[str, str]:
    """The caller's environment without the variables whose names start with `drop`, plus
    `env`."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    full.update(env or {})
    return full


def run_sandbox(
    cwd: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    drop: tuple[str, ...] = SANDBOX_VARIABLES,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run `sandbox ARGS` in `cwd` to its end; its output captured as text."""
    return subprocess.run(
        sandbox_argv(*args),
        cwd=cwd,
        env=sandbox_env(env, drop),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_sandbox(
    cwd: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    drop: tuple[str, ...] = SANDBOX_VARIABLES,
    **popen: Any,
) -> subprocess.Popen[str]:
    """Start `sandbox ARGS` in `cwd` and return at once, for tests that read its output while
    it runs or signal it; `popen` goes to `subprocess.Popen` (stdout, stderr, ...)."""
    return subprocess.Popen(
        sandbox_argv(*args),
        cwd=cwd,
        env=sandbox_env(env, drop),
        stdin=subprocess.DEVNULL,
        text=True,
        **popen,
    )
