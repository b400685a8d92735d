"""Free ports on 127.0.0.1 for tests and benchmarks: the one place they are found.

`free_ports` lets the OS pick (bind to port 0), holding every socket until all are picked so
the ports are distinct; nothing listens on them afterwards, so a connection to one is refused.
`free_base` finds a whole block in the stand-in sandboxes' layout instead. Holding a port the
way another program would is `tests.support.squat`.
"""

from __future__ import annotations

import random
import socket
from contextlib import ExitStack

from sandbox.ci.ports import flat, port_block
from sandbox.probes import port_is_free


def free_ports(count: int) -> list[int]:
    """`count` distinct ports free on 127.0.0.1 right now."""
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
    return ports


def free_port() -> int:
    """One port free on 127.0.0.1 right now."""
    return free_ports(1)[0]


def free_base() -> int:
    """A base whose block of ports (`sandbox.ci.ports.port_block`) is all free now: below the
    ephemeral range (32768+), where outgoing connections could take a port by chance, and away
    from the defaults."""
    bases = [b for b in range(20000, 32000, 1000) if b != 26000]  # 26257-26260: the defaults
    for base in random.sample(bases, len(bases)):
        if all(port_is_free(port) for port in flat(port_block(base))):
            return base
    raise RuntimeError("no free block of ports between 20000 and 32000")
