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

from sandbox.config.topology import HTTP_PORT, SQL_PORT, Topology

CONFIG_PATH = "/usr/local/etc/haproxy/haproxy.cfg"
CA_PATH = "/usr/local/etc/haproxy/ca.crt"
BACKEND = "sql"
"""The backend of ready nodes: HAProxy logs `Server sql/<node> is DOWN` for it."""
ALIVE_BACKEND = "sql-alive"
CHECKS = "inter 1s fastinter 500ms downinter 1s fall 2 rise 2 on-marked-down shutdown-sessions"


def _servers(topology: Topology) -> str:
    return "\n".join(
        f"    server {n.name} {n.name}:{SQL_PORT} check port {HTTP_PORT} check-ssl "
        f"verify required ca-file {CA_PATH} verifyhost {n.name}"
        for n in topology.nodes
    )


def haproxy_config(topology: Topology) -> str:
    servers = _servers(topology)
    return f"""\
# Rendered by `sandbox`: a TCP load balancer for CockroachDB SQL ({topology.load_balancer}).
global
    maxconn 4096

defaults
    mode tcp
    timeout connect 2s
    timeout client 30m
    timeout server 30m
    timeout check 1s
    option clitcpka
    # A new connection whose server does not answer goes to another server.
    option redispatch
    retries 3
    # Start even while node names do not resolve yet; health checks mark them up later.
    # A node that fails two checks is out within about 3 s and loses its open sessions.
    default-server init-addr last,libc,none {CHECKS}

resolvers compose
    parse-resolv-conf
    hold valid 5s

frontend sql-in
    bind :{SQL_PORT}
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
