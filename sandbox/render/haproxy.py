"""HAProxy in front of the three SQL ports: the NLB of the AWS architecture, on one machine.

The shape follows what `cockroach gen haproxy` produces: TCP mode, round robin, long client
and server timeouts for SQL sessions, and an HTTP health check of each node's
`/health?ready=1`, here over verified TLS because the cluster is secure.
"""

from __future__ import annotations

from sandbox.config.topology import HTTP_PORT, SQL_PORT, Topology

CONFIG_PATH = "/usr/local/etc/haproxy/haproxy.cfg"
CA_PATH = "/usr/local/etc/haproxy/ca.crt"


def haproxy_config(topology: Topology) -> str:
    servers = "\n".join(
        f"    server {n.name} {n.name}:{SQL_PORT} check port {HTTP_PORT} check-ssl "
        f"verify required ca-file {CA_PATH} verifyhost {n.name}"
        for n in topology.nodes
    )
    return f"""\
# Rendered by `sandbox`: a TCP load balancer for CockroachDB SQL ({topology.load_balancer}).
global
    maxconn 4096

defaults
    mode tcp
    timeout connect 10s
    timeout client 30m
    timeout server 30m
    option clitcpka
    # Start even while node names do not resolve yet; health checks mark them up later.
    default-server init-addr last,libc,none inter 2s fall 3 rise 2

resolvers compose
    parse-resolv-conf
    hold valid 5s

listen sql
    bind :{SQL_PORT}
    balance roundrobin
    option httpchk GET /health?ready=1
    default-server resolvers compose
{servers}
"""
