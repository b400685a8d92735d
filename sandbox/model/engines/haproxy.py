"""What every engine's HAProxy configuration shares: TCP in front of the nodes' SQL ports,
long client and server timeouts for SQL sessions, checks that give up within a second, a new
connection sent elsewhere when its server does not answer, and Docker's resolver (a stopped
container drops out of Docker DNS, so names are resolved again and may be missing at start).
Each engine adds its own check timings, frontend and backends."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.model.topology import Topology


def head(title: str, checks: str, note: str = "") -> str:
    """`global`, `defaults` (with `checks` for every server) and `resolvers compose`; `note`
    is comment lines placed above the server defaults."""
    return f"""\
# Rendered by `sandbox`: {title}.
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
{note}    default-server init-addr last,libc,none {checks}

resolvers compose
    parse-resolv-conf
    hold valid 5s
"""


def servers(topology: Topology, ca_path: str, sql_port: int, check_port: int) -> str:
    """One line per node: SQL on `sql_port`, checked over verified TLS on `check_port`."""
    return "\n".join(
        f"    server {n.name} {n.name}:{sql_port} check port {check_port} check-ssl "
        f"verify required ca-file {ca_path} verifyhost {n.name}"
        for n in topology.nodes
    )
