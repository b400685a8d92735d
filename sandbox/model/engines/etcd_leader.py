"""Keep etcd's leader out of the PostgreSQL leader's zone: a small watcher in every node.

Why: Patroni's leader key lives on an etcd lease of `ttl` seconds, and a newly elected etcd
leader renews every lease to its full TTL (etcd's lessor `Promote`). When one zone held both
leaders and goes down, the standbys first wait for etcd to elect a leader, then a whole `ttl`
more: measured here with Patroni 4.1.5 (`ttl` 20, its minimum), 23-26 s of writes lost instead
of about 21. With the two leaders in different zones, losing the PostgreSQL leader's zone
costs only the key's expiry, and losing the etcd leader's zone costs no failover at all.

The watcher runs beside Patroni in each PostgreSQL node (Python is there for Patroni; the
etcd image has no shell). Every 2 s the node that holds Patroni's leader key checks whether its
own zone's etcd member leads etcd and, if so, hands etcd's leadership to another member that
answers (etcd's `MoveLeader`, through its JSON gateway on the client port). Everything else
about failover stays Patroni's.
"""

from __future__ import annotations

from collections.abc import Sequence

SCRIPT = "scripts/etcd-leader-away.py"
SCRIPT_PATH = f"/{SCRIPT}"
INTERVAL_SECONDS = 2


def environment(scope: str, node: str, members: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The watcher's settings for `node`: Patroni's scope, the node's own name, and every
    (PostgreSQL node, etcd member of the same zone) pair. Named WATCH_*: Patroni, in the same
    container, takes every PATRONI_* variable for one of its own settings."""
    return {
        "WATCH_LEADER_KEY": f"/service/{scope}/leader",
        "WATCH_NODE": node,
        "WATCH_ETCD_BY_NODE": ",".join(f"{pg}={etcd}" for pg, etcd in members),
    }


def script() -> str:
    """The watcher, standard library only (it runs on the image's Python)."""
    return f'''\
"""Rendered by `sandbox`: hand etcd's leadership away from the PostgreSQL leader's zone."""
import base64
import json
import os
import sys
import time
import urllib.request

KEY = os.environ["WATCH_LEADER_KEY"]
ME = os.environ["WATCH_NODE"]
ETCD = dict(pair.split("=", 1) for pair in os.environ["WATCH_ETCD_BY_NODE"].split(","))


def call(member, path, body):
    request = urllib.request.Request(
        f"http://{{member}}:2379/v3/{{path}}",
        data=json.dumps(body).encode(),
        headers={{"Content-Type": "application/json"}},
    )
    with urllib.request.urlopen(request, timeout=2) as response:
        return json.load(response)


def postgres_leader():
    key = base64.b64encode(KEY.encode()).decode()
    for member in ETCD.values():
        try:
            kvs = call(member, "kv/range", {{"key": key}}).get("kvs") or []
        except OSError:
            continue
        return base64.b64decode(kvs[0]["value"]).decode() if kvs else None
    return None


def step():
    if postgres_leader() != ME:
        return
    local = ETCD[ME]
    status = call(local, "maintenance/status", {{}})
    if status.get("leader") != status["header"]["member_id"]:
        return
    for other in (m for m in ETCD.values() if m != local):
        try:
            target = call(other, "maintenance/status", {{}})["header"]["member_id"]
            call(local, "maintenance/transfer-leadership", {{"targetID": target}})
        except OSError:
            continue
        print(f"etcd leader moved from {{local}} to {{other}}: {{local}} shares a zone with "
              f"the PostgreSQL leader {{ME}}", flush=True)
        return


while True:
    try:
        step()
    except (OSError, KeyError, ValueError) as exc:
        print(f"etcd leader watcher: {{exc}}", file=sys.stderr, flush=True)
    time.sleep({INTERVAL_SECONDS})
'''
