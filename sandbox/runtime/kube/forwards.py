"""Port-forwards on 127.0.0.1: the same host ports as Compose, kept open across pod restarts.

Each forward is a detached shell loop that re-opens `kubectl port-forward` when it drops (a pod
restarted) and takes its kubectl along when it is stopped. Their pids are recorded in the
state directory (`port-forwards.json`, mode 0600), so `down` and the next `up` stop exactly
these, and a recorded pid that now belongs to another process (after a reboot) is left alone.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.errors import SandboxError
from sandbox.model.topology import LOOPBACK
from sandbox.plan.wait import Deadline, StageFailed, poll
from sandbox.probes import port_is_open
from sandbox.runtime.kube.commands import Command, Session
from sandbox.state import SECRET_MODE, ensure_dir, write_atomic

FORWARDS_FILE = "port-forwards.json"
OPEN_WITHIN = 30.0
"""Seconds every forwarded port gets to open."""
TITLE = "port-forwards on 127.0.0.1"


@dataclass(frozen=True)
class Forward:
    """One forward: a Service or pod, the host port on 127.0.0.1, and its port."""

    resource: str
    host: int
    remote: int

    def argv(self, kubectl: Sequence[str]) -> list[str]:
        return [
            *kubectl,
            "port-forward",
            "--address",
            LOOPBACK,
            self.resource,
            f"{self.host}:{self.remote}",
        ]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_forward(pid: int) -> bool:
    """Still our supervising loop? A recorded pid may have been reused since (a reboot)."""
    proc = Path(f"/proc/{pid}/cmdline")
    if proc.parent.is_dir():
        try:
            return b"port-forward" in proc.read_bytes()
        except OSError:
            return False
    from sandbox.exec import run

    try:
        done = run(["ps", "-ww", "-p", str(pid), "-o", "args="], check=False, timeout=10)
    except SandboxError:
        return False
    return "port-forward" in done.stdout


def ours(pid: int) -> bool:
    return pid > 1 and _pid_alive(pid) and _is_forward(pid)


def spawn_command(argv: Sequence[str], log: Path) -> Command:
    """The detached supervising loop around one forward; it prints its pid."""
    loop = (
        "trap 'kill \"$child\" 2>/dev/null; exit 0' TERM INT; "
        f"while :; do {shlex.join(argv)} & child=$!; wait $child; sleep 1; done"
    )
    spawn = f"nohup sh -c {shlex.quote(loop)} >{shlex.quote(str(log))} 2>&1 </dev/null & echo $!"
    return Command(("sh", "-c", spawn), timeout=30)


class Forwards:
    """The forwards of one sandbox, recorded under `workdir`."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.file = workdir / FORWARDS_FILE

    def records(self) -> list[dict[str, Any]]:
        if not self.file.is_file():
            return []
        try:
            records = json.loads(self.file.read_text())
        except (OSError, ValueError):
            return []
        return [r for r in records if isinstance(r, dict)] if isinstance(records, list) else []

    def ports(self) -> list[int]:
        """Host ports held by this sandbox's own running port-forwards."""
        return [int(r.get("port", 0)) for r in self.records() if ours(int(r.get("pid", 0)))]

    def stop(self, note: Callable[[str], None] | None = None) -> list[int]:
        """Stop the forwards this sandbox started; returns their pids."""
        stopped = []
        for record in self.records():
            pid = int(record.get("pid", 0))
            if ours(pid):
                try:
                    os.kill(pid, signal.SIGTERM)
                    stopped.append(pid)
                except ProcessLookupError:
                    pass
        self.file.unlink(missing_ok=True)
        if stopped and note is not None:
            note(f"stopped {len(stopped)} port-forwards")
        return stopped

    def start(
        self,
        session: Session,
        kubectl: Sequence[str],
        forwards: Sequence[Forward],
        is_open: Callable[[int], bool] = port_is_open,
    ) -> None:
        """Replace any running forwards with `forwards`; wait until every host port opens."""
        if session.dry_run:
            session.note(f"[{TITLE}, restarted when they drop]")
            session.show([Command(tuple(f.argv(kubectl))) for f in forwards])
            return
        with session.status.step(TITLE):
            self.stop()
            logs = ensure_dir(ensure_dir(self.workdir) / "logs")
            records = []
            for forward in forwards:
                log = logs / f"forward-{forward.host}.log"
                done = session.executor.run(spawn_command(forward.argv(kubectl), log))
                pid = int(done.stdout.strip())
                records.append({"pid": pid, "resource": forward.resource, "port": forward.host})
            write_atomic(self.file, json.dumps(records).encode(), SECRET_MODE)
            waiting = [f.host for f in forwards]

            def closed() -> dict[str, str]:
                waiting[:] = [p for p in waiting if not is_open(p)]
                return {f"{LOOPBACK}:{p}": "to open" for p in waiting}

            try:
                poll(closed, Deadline.after(OPEN_WITHIN), 0.5, TITLE)
            except StageFailed:
                raise SandboxError(
                    f"port-forwards did not open {LOOPBACK}:{', '.join(map(str, waiting))} "
                    f"within {OPEN_WITHIN:g}s (see {logs})"
                ) from None
