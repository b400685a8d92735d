"""Status lines that cannot lie: a step shows ✓ only when it ended well, ✗ otherwise.

    with status.step("nodes ready"):
        wait_for_nodes()

prints `• nodes ready ...` when it starts and `✓ nodes ready (3.1s)` or `✗ nodes ready (3.1s)`
when it ends. Lines go to stderr so stdout stays clean for `--output json`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class StepRecord:
    name: str
    ok: bool
    seconds: float


@dataclass
class Status:
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    quiet: bool = False
    steps: list[StepRecord] = field(default_factory=list)

    def _write(self, line: str) -> None:
        if not self.quiet:
            self.stream.write(line + "\n")
            self.stream.flush()

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        self._write(f"• {name} ...")
        ok = False
        try:
            yield
            ok = True
        finally:
            seconds = time.monotonic() - start
            self.steps.append(StepRecord(name, ok, seconds))
            self._write(f"{'✓' if ok else '✗'} {name} ({seconds:.1f}s)")

    def note(self, message: str) -> None:
        self._write(f"  {message}")

    def warn(self, message: str) -> None:
        self._write(f"! {message}")
