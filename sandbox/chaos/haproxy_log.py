"""When the load balancer stopped routing to the dead node, and when it took it back.

Measured from HAProxy's own state-change lines ("Server sql/crdb-2 is DOWN, reason: ...",
"... is going DOWN for maintenance", "... is UP"), which it writes to stderr the moment a
health check changes a server's state, read with `docker logs --timestamps` (the engine's
receive time, on the same clock as the drill). Nothing needs to be installed in the image.
Parsing is pure and tested on real lines; only `compose_lb_times` touches Docker.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sandbox.chaos.report import LoadBalancerTimes
from sandbox.model.engines.base import LB_BACKEND as BACKEND
from sandbox.runtime.containers import Runner

HOW = (
    "HAProxy's own 'Server sql/<node> is DOWN/UP' log lines, timed by `docker logs "
    "--timestamps`, from the fault and from the restore"
)
_LINE = re.compile(
    r"^(?P<ts>\S+)\s.*\bServer (?P<backend>[^/\s]+)/(?P<server>\S+) is (?P<what>[^,]*)"
)


def _timestamp(text: str) -> float | None:
    """RFC 3339 with nanoseconds (Docker's form) -> seconds since the epoch."""
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", text)
    if not match:
        return None
    base, fraction, zone = match.groups()
    stamp = datetime.fromisoformat(base + ("+00:00" if zone == "Z" else zone))
    return stamp.astimezone(UTC).timestamp() + float(f"0.{fraction or 0}")


def state_changes(log: str, server: str) -> list[tuple[float, str]]:
    """(epoch seconds, `down` or `up`) for every state change of `server` in the backend of
    ready nodes (not in the fallback of live ones), by time."""
    out = []
    for line in log.splitlines():
        match = _LINE.match(line.strip())
        if not match or match["server"] != server or match["backend"] != BACKEND:
            continue
        when = _timestamp(match["ts"])
        if when is None:
            continue
        what = match["what"]
        if "DOWN" in what or "MAINT" in what:
            out.append((when, "down"))
        elif "UP" in what:
            out.append((when, "up"))
    return sorted(out)


def lb_times(
    changes: list[tuple[float, str]], fault_at: float, restore_at: float | None
) -> LoadBalancerTimes:
    """First `down` after the fault, first `up` after the restore (epoch seconds in)."""
    down = next((t for t, s in changes if s == "down" and t >= fault_at), None)
    up = None
    if restore_at is not None:
        up = next((t for t, s in changes if s == "up" and t >= restore_at), None)
    return LoadBalancerTimes(
        eject=None if down is None else round(down - fault_at, 3),
        readd=None if up is None or restore_at is None else round(up - restore_at, 3),
        how=HOW,
    )


def compose_lb_times(
    runner: Runner, container: str, server: str, fault_at: float, restore_at: float | None
) -> LoadBalancerTimes:
    since = datetime.fromtimestamp(fault_at - 5, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    done = runner(
        ["docker", "logs", "--timestamps", "--since", since, container], check=False, timeout=60
    )
    if done.returncode != 0:
        return LoadBalancerTimes(None, None, f"not measured: docker logs {container} failed")
    return lb_times(state_changes(done.stdout + done.stderr, server), fault_at, restore_at)
