"""Hold a port the way another program would, for the tests of busy-port pre-flights."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def squat(port: int) -> Iterator[socket.socket]:
    """Listen on 127.0.0.1:`port` until the block ends.

    SO_REUSEADDR, because an earlier test of the same run may have left connections of that
    port in TIME_WAIT: the pre-flight counts such a port as free (it is), so the squatter must
    be able to take it too. A listening socket still blocks every other bind on Linux.
    """
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()
        yield sock
