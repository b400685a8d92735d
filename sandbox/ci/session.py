"""One test run's sandbox: bring it up (or reuse a healthy one), describe it, take it down.

It drives the `sandbox` command line in subprocesses, exactly as a CI job would, so the stack a
test run gets is the one `sandbox up` gives. A record in the state directory says which run
owns the stack and which ports it has; a lock around it lets several processes of one run
(pytest-xdist workers) share one stack:

- a stack this run (or an earlier pytest run with --keep) started is owned: `stop` takes it
  down with its volumes, unless kept;
- a healthy stack someone started by hand is reused and left running.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.ci import ports
from sandbox.ci.handle import IamSandbox
from sandbox.state import TARGET_FILE

RECORD = "pytest-session.json"
LOCK = ".pytest-session.lock"
LOG_TAIL = 60


class StartFailed(Exception):
    """`sandbox up` failed: the message is its failing stage and explaining lines."""


@dataclass(frozen=True)
class SessionOptions:
    cwd: Path
    """Where `sandbox` runs: its ./sandbox.yaml applies."""
    state_dir: Path
    project: str | None = None
    """Set: this project name and a claimed free port block; None: the settings' own."""
    keep: bool = False
    target: str | None = None
    timeout: float | None = None
    snapshot: Path | None = None
    """A snapshot archive to start from when it exists (`up --from-snapshot`); a missing one
    (a CI cache miss) means a plain `up`."""
    claims: Path = field(default_factory=lambda: _cache() / "port-blocks")


def _cache() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "iam-sandbox"


def failure_text(stderr: str, code: int) -> str:
    """What a test should show for a failed `up`: the stage lines, then the error onwards."""
    lines = stderr.rstrip().splitlines()
    stages = [line for line in lines if line.startswith("✗ ")]
    first_error = next((i for i, line in enumerate(lines) if line.startswith("error:")), None)
    body = lines[first_error:] if first_error is not None else lines[-LOG_TAIL:]
    head = f"`sandbox up` failed (exit {code})"
    if stages:
        head += f" at stage '{stages[-1][2:].rsplit(' (', 1)[0]}'"
    return "\n".join([head, *body])


class SandboxSession:
    def __init__(
        self, options: SessionOptions, run_id: str, environ: Mapping[str, str] | None = None
    ) -> None:
        self.options = options
        self.run_id = run_id
        self.environ = dict(os.environ if environ is None else environ)
        self.record_path = options.state_dir / RECORD

    # ---- the command line --------------------------------------------------------------

    def cli(
        self, *args: str, block: Mapping[str, Any] | None = None, timeout: float = 3600
    ) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in self.environ.items() if k != "SANDBOX_STATE_DIR"}
        if self.options.project:
            env["SANDBOX_PROJECT"] = self.options.project
        if block:
            env.update(ports.as_env(dict(block)))
        argv = [sys.executable, "-m", "sandbox", "--state-dir", str(self.options.state_dir)]
        return subprocess.run(
            [*argv, *args],
            cwd=self.options.cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def _target_args(self) -> list[str]:
        return ["--target", self.options.target] if self.options.target else []

    # ---- the record --------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        from sandbox.state import ensure_dir

        ensure_dir(self.options.state_dir)
        with open(self.options.state_dir / LOCK, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.record_path.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _write(self, record: dict[str, Any]) -> None:
        from sandbox.state import SECRET_MODE, write_atomic

        write_atomic(self.record_path, json.dumps(record, indent=2).encode(), SECRET_MODE)

    def _forget(self, record: dict[str, Any]) -> None:
        if record.get("base") is not None:
            ports.release_block(self.options.claims, int(record["base"]))
        self.record_path.unlink(missing_ok=True)

    # ---- start and stop ----------------------------------------------------------------

    def start(self) -> IamSandbox:
        """Up, or reuse: the same run's stack, a kept one, or a healthy one started by hand."""
        with self._locked():
            record = self._read()
            if record is None or record.get("run") != self.run_id:
                record = self._bring_up(record)
            return self._describe(record)

    def _bring_up(self, earlier: dict[str, Any] | None) -> dict[str, Any]:
        record: dict[str, Any] = {"run": self.run_id, "project": self.options.project}
        block = None
        if earlier is not None:  # an earlier pytest run kept it: same ports, same owner
            block = earlier.get("block")
            owned = bool(earlier.get("owned", True))
            record.update(base=earlier.get("base"), block=block, owned=owned)
        elif self.options.project:  # the run's own project, on a claimed block of ports
            self._write(record)  # the claim's owner file must exist while the claim does
            base = ports.claim_block(self.options.claims, self.record_path)
            block = ports.port_block(base)
            record.update(base=base, block=block, owned=True)
        elif not (self.options.state_dir / TARGET_FILE).is_file():
            record["owned"] = True  # `sandbox up` never succeeded from here: nothing to reuse
        else:  # the settings' own sandbox: reuse it when healthy, own it when we start it
            probe = self.cli(
                "wait", "--timeout", "0", "--output", "json", *self._target_args(), timeout=300
            )
            if probe.returncode == 0:
                record["owned"] = False
                self._write(record)
                return record
            record["owned"] = not _anything_exists(probe.stdout)
        self._write(record)
        up_args = ["up", *self._target_args()]
        if self.options.timeout:
            up_args += ["--timeout", f"{self.options.timeout:g}"]
        if self.options.snapshot is not None and self.options.snapshot.is_file():
            # Never --force: data already there is refused in one line, not replaced.
            up_args += ["--from-snapshot", str(self.options.snapshot)]
        up = self.cli(*up_args, block=block)
        if up.returncode != 0:
            message = failure_text(up.stderr, up.returncode)
            if record["owned"] and not self.options.keep:
                down = self.cli("down", "--volumes", *self._target_args(), block=block)
                removed = "removed" if down.returncode == 0 else "NOT removed (see `sandbox down`)"
                message += f"\n(the sandbox was {removed}; --iam-sandbox-keep keeps it)"
                self._forget(record)
            raise StartFailed(message)
        return record

    def _describe(self, record: dict[str, Any]) -> IamSandbox:
        done = self.cli(
            "env", "--format", "json", "--show-password", block=record.get("block"), timeout=120
        )
        if done.returncode != 0:
            raise StartFailed(f"`sandbox env` failed: {done.stderr.strip()}")
        return IamSandbox.from_env(
            json.loads(done.stdout), project=self.options.project, state_dir=self.options.state_dir
        )

    def stop(self) -> str | None:
        """Take down what this run owns (unless kept); returns an error text when down failed."""
        with self._locked():
            record = self._read()
            if record is None or record.get("run") != self.run_id:
                return None
            if self.options.keep:
                return None
            if not record.get("owned"):
                self._forget(record)
                return None
            down = self.cli("down", "--volumes", *self._target_args(), block=record.get("block"))
            if down.returncode != 0:
                return f"`sandbox down --volumes` failed (exit {down.returncode}):\n{down.stderr}"
            self._forget(record)
            return None


def _anything_exists(wait_json: str) -> bool:
    """Whether `sandbox wait --output json` saw any service that is not missing."""
    try:
        services = json.loads(wait_json).get("services", [])
    except (ValueError, AttributeError):
        return False
    return any(s.get("state") not in ("missing", None) for s in services)
