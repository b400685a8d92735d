"""A client-side deadline for SQL during faults: a server-side timeout cannot help when the
gateway itself is frozen, so a thread shuts the socket of any operation that outlives it (the
operation then fails at once and the caller decides what it means)."""

from __future__ import annotations

import os
import socket
import threading
import time


class Watchdog:
    """Closes the socket of any operation that outlives its deadline."""

    def __init__(self) -> None:
        self._armed: dict[int, tuple[float, int]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.fired = 0
        self._thread = threading.Thread(target=self._loop, name="chaos-watchdog", daemon=True)
        self._thread.start()

    def arm(self, owner: int, fd: int, seconds: float) -> None:
        with self._lock:
            self._armed[owner] = (time.monotonic() + seconds, fd)

    def disarm(self, owner: int) -> None:
        with self._lock:
            self._armed.pop(owner, None)

    def _loop(self) -> None:
        while not self._stop.wait(0.05):
            now = time.monotonic()
            with self._lock:
                due = [(o, fd) for o, (t, fd) in self._armed.items() if t <= now]
                for owner, _ in due:
                    self._armed.pop(owner, None)
            for _, fd in due:
                self.fired += 1
                try:
                    sock = socket.socket(fileno=os.dup(fd))
                except OSError:
                    continue
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                finally:
                    sock.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
