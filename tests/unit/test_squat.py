"""The busy-port tests must not fail on a port an earlier test left in TIME_WAIT."""

from __future__ import annotations

import socket

from sandbox.probes import port_is_free
from tests.support.ports import free_port
from tests.support.squat import squat


def _time_wait(port: int) -> None:
    """Leave 127.0.0.1:`port` in TIME_WAIT: the listening side closes its connection first."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen()
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = server.accept()
            accepted.close()
            client.recv(1)  # sees the close; the server's side of the pair waits


def test_a_port_in_time_wait_can_still_be_squatted_and_then_is_busy() -> None:
    port = free_port()
    _time_wait(port)
    assert port_is_free(port)  # what the pre-flight sees: nothing listens there
    with squat(port):
        assert not port_is_free(port)
    assert port_is_free(port)
