"""HAProxy in front of the three SQL ports: the NLB of the AWS architecture, on one machine.

The shape follows what `cockroach gen haproxy` produces: TCP mode, round robin, long client
and server timeouts for SQL sessions, and an HTTP health check of each node's
`/health?ready=1`, here over verified TLS because the cluster is secure.

The check timings decide how long a dead zone costs clients. A hand-run drill measured 8-11 s
to mark a killed, frozen or cut-off node down with `inter 2s fall 3` and no check timeout, and
open sessions to a frozen node hung. So: a check times out after 1 s (`timeout check`, and
min(`timeout connect`, `inter`) for its connect), the first failure switches to `fastinter`,
two failures mark the node down (about 2-3.5 s), the sessions it still holds are cut so
their clients reconnect to a live node, and a new connection that cannot reach its server is
sent to another one (`option redispatch`, `retries`). `sandbox chaos` measures the result.

When the node that dies held the node-liveness lease, the live nodes answer "not ready" too
until the lease moves (the same drill saw HAProxy refuse every connection for 13-17 s). While
no node is ready, connections go to the nodes that are at least alive (`/health`): they wait
for the cluster instead of being refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.model.engines import haproxy
from sandbox.model.engines.base import LB_BACKEND as BACKEND

if TYPE_CHECKING:
    from sandbox.model.topology import Topology


ALIVE_BACKEND = "sql-alive"
CHECKS = "inter 1s fastinter 500ms downinter 1s fall 2 rise 2 on-marked-down shutdown-sessions"


def haproxy_config(topology: Topology, ca_path: str, sql_port: int, http_port: int) -> str:
    servers = haproxy.servers(topology, ca_path, sql_port, http_port)
    note = (
        "    # Start even while node names do not resolve yet; health checks mark them up later.\n"
        "    # A node that fails two checks is out within about 3 s and loses its open sessions.\n"
    )
    title = f"a TCP load balancer for CockroachDB SQL ({topology.load_balancer})"
    return (
        haproxy.head(title, CHECKS, note)
        + f"""
frontend sql-in
    bind :{sql_port}
    # No node ready (e.g. the node-liveness lease is moving): the live nodes, not a refusal.
    use_backend {ALIVE_BACKEND} if {{ nbsrv({BACKEND}) eq 0 }}
    default_backend {BACKEND}

backend {BACKEND}
    balance roundrobin
    option httpchk GET /health?ready=1
    default-server resolvers compose
{servers}

backend {ALIVE_BACKEND}
    balance roundrobin
    option httpchk GET /health
    default-server resolvers compose
{servers}
"""
    )
