"""Probes from the host: ports on 127.0.0.1, plain HTTP for Ory, HTTPS verified for nodes."""

from __future__ import annotations

import http.client
import socket
import ssl
from pathlib import Path

LOOPBACK = "127.0.0.1"


def port_is_free(port: int) -> bool:
    """Whether this machine could listen on 127.0.0.1:`port` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def port_is_open(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:`port`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((LOOPBACK, port)) == 0


def http_status(
    host: str,
    port: int,
    path: str,
    timeout: float = 2.0,
    tls_ca: Path | None = None,
    server_name: str | None = None,
) -> int | None:
    """The HTTP status of GET `path`, or None when nothing answers (refused, reset, TLS error)."""
    conn: http.client.HTTPConnection
    if tls_ca is not None:
        ctx = ssl.create_default_context(cafile=str(tls_ca))
        conn = _VerifiedHTTPS(
            host, port, timeout=timeout, context=ctx, server_name=server_name or host
        )
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


class _VerifiedHTTPS(http.client.HTTPSConnection):
    """HTTPS to an address while verifying the certificate for another name (a SAN)."""

    def __init__(
        self, host: str, port: int, *, timeout: float, context: ssl.SSLContext, server_name: str
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._context = context
        self._server_name = server_name

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self._server_name)
