"""Run the real `sandbox` entry point in a subprocess, with a clean SANDBOX_* environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_sandbox(
    cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
