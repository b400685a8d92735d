"""Real mutual-TLS handshakes with the generated certificates, over 127.0.0.1."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sandbox.model.topology import Topology
from sandbox.pki.layout import CertLayout
from sandbox.pki.store import ensure_pki


@contextmanager
def tls_server(cert: Path, key: Path, ca: Path) -> Iterator[tuple[int, list[str]]]:
    """Accept TLS connections that must present a client cert signed by `ca`."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    peers: list[str] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(5)
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    subject = dict(x[0] for x in tls.getpeercert()["subject"])
                    peers.append(subject["commonName"])
                    tls.sendall(b"ok")
            except (ssl.SSLError, OSError):
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], peers
    finally:
        stop.set()
        thread.join()
        listener.close()


def handshake(port: int, server_name: str, ca: Path, cert: Path, key: Path) -> bytes:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    ctx.load_cert_chain(cert, key)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        return tls.recv(2)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_every_node_name_handshakes(session_pki: tuple[Topology, CertLayout], index: int) -> None:
    topology, layout = session_pki
    node = topology.nodes[index]
    node_dir = layout.node_dir(node.name)
    client = layout.client_dir("root")
    names = topology.node_dns_names(node) + topology.node_ip_addresses(node)
    with tls_server(node_dir / "node.crt", node_dir / "node.key", node_dir / "ca.crt") as (
        port,
        peers,
    ):
        for name in names:
            assert (
                handshake(
                    port,
                    name,
                    client / "ca.crt",
                    client / "client.root.crt",
                    client / "client.root.key",
                )
                == b"ok"
            ), name
        # Node-to-node RPC: the node cert is also a client cert.
        other = layout.node_dir(topology.nodes[(index + 1) % 3].name)
        assert (
            handshake(port, node.name, other / "ca.crt", other / "node.crt", other / "node.key")
            == b"ok"
        )
    assert peers == ["root"] * len(names) + ["node"]


def test_name_outside_sans_is_refused(session_pki: tuple[Topology, CertLayout]) -> None:
    _topology, layout = session_pki
    node_dir = layout.node_dir("crdb-1")
    client = layout.client_dir("ory")
    with (
        tls_server(node_dir / "node.crt", node_dir / "node.key", node_dir / "ca.crt") as (port, _),
        pytest.raises(ssl.SSLCertVerificationError, match="mismatch"),
    ):
        handshake(
            port,
            "crdb-2",
            client / "ca.crt",
            client / "client.ory.crt",
            client / "client.ory.key",
        )


def test_foreign_ca_is_refused_both_ways(
    session_pki: tuple[Topology, CertLayout], tmp_path: Path
) -> None:
    topology, layout = session_pki
    foreign = CertLayout(tmp_path / "foreign")
    ensure_pki(topology, foreign)
    node_dir = layout.node_dir("crdb-1")
    mine = layout.client_dir("ory")
    theirs = foreign.client_dir("ory")
    with tls_server(node_dir / "node.crt", node_dir / "node.key", node_dir / "ca.crt") as (port, _):
        # The client trusts only the foreign CA: the server's cert is refused.
        with pytest.raises(ssl.SSLCertVerificationError):
            handshake(
                port, "crdb-1", theirs / "ca.crt", mine / "client.ory.crt", mine / "client.ory.key"
            )
        # The client presents a foreign cert: the server refuses it.
        with pytest.raises((ssl.SSLError, ConnectionError)):
            handshake(
                port,
                "crdb-1",
                mine / "ca.crt",
                theirs / "client.ory.crt",
                theirs / "client.ory.key",
            )
