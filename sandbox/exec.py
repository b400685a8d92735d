"""The one place that runs child processes: argv lists in, `CommandFailed` with stderr out."""

from __future__ import annotations

import logging
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from sandbox.errors import CommandFailed, SandboxError

log = logging.getLogger("sandbox.exec")


def run(
    argv: Sequence[str],
    *,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run `argv`, capturing output, and raise `CommandFailed` (with stderr) on failure."""
    log.debug("run: %s", shlex.join(argv))
    try:
        done = subprocess.run(
            list(argv),
            input=input,
            env=None if env is None else dict(env),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise SandboxError(f"{argv[0]}: command not found") from None
    except subprocess.TimeoutExpired as exc:
        raise SandboxError(f"{shlex.join(argv[:3])}: timed out after {timeout:g}s") from exc
    if check and done.returncode != 0:
        raise CommandFailed(argv, done.returncode, done.stdout, done.stderr)
    return done
