"""Status lines that cannot lie: a step shows ✓ only when it ended well, ✗ otherwise.

    with status.step("nodes ready"):
        wait_for_nodes()

prints `• nodes ready ...` when it starts and `✓ nodes ready (3.1s)` or `✗ nodes ready (3.1s)`
when it ends. Lines go to stderr so stdout stays clean for `--output json`.

On a terminal the `• ...` line gives way to a live row (sandbox.plan.progress) with the step's
elapsed time ticking and whatever progress the runtime reports beneath it; the `✓`/`✗` line
is left behind as before. Anywhere else (a pipe, a CI log, a test's StringIO) the lines are
exactly the plain ones above, because tests and scripts parse them.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from sandbox.plan.progress import Board, NoProgress, ProgressHandle, Unit

if TYPE_CHECKING:
    from rich.console import Console


@dataclass
class StepRecord:
    name: str
    ok: bool
    seconds: float


def is_terminal(stream: TextIO) -> bool:
    """A person watches `stream`: a tty, and not a terminal that cannot move its cursor."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):  # a closed or stripped-down stream
        return False
    return tty and os.environ.get("TERM", "") != "dumb"


@dataclass
class Status:
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    quiet: bool = False
    steps: list[StepRecord] = field(default_factory=list)
    live: bool | None = None
    """Show live rows: None decides once, here, from the stream (or the console given)."""
    console: Console | None = None
    """Where live output goes; made on `stream` when needed (tests give a forced terminal)."""
    clock: Callable[[], float] = time.monotonic
    ticking: bool = True
    """Redraw live rows on a timer so seconds tick; tests turn it off to draw only on change."""
    _board: Board | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.quiet:
            self.live = False
        elif self.live is None:
            self.live = self.console.is_terminal if self.console else is_terminal(self.stream)

    def _live_board(self) -> Board:
        if self._board is None:
            from rich.console import Console

            console = self.console or Console(file=self.stream)
            self._board = Board(console, self.clock, ticking=self.ticking)
        return self._board

    def _write(self, line: str) -> None:
        if self.quiet:
            return
        if self.live:
            self._live_board().print(line)
            return
        self.stream.write(line + "\n")
        self.stream.flush()

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = self.clock()
        if self.live:
            self._live_board().open_stage(name)
        else:
            self._write(f"• {name} ...")
        ok = False
        try:
            yield
            ok = True
        finally:
            seconds = self.clock() - start
            self.steps.append(StepRecord(name, ok, seconds))
            line = f"{'✓' if ok else '✗'} {name} ({seconds:.1f}s)"
            if self.live:
                self._live_board().close_stage(line)
            else:
                self._write(line)

    def progress(
        self, label: str, total: float | None = None, unit: Unit = "count"
    ) -> ProgressHandle:
        """A row of progress under the current step, shown live on a terminal; elsewhere a
        handle that does nothing, so runtimes report without asking who is watching."""
        if not self.live:
            return NoProgress()
        return self._live_board().add(label, total, unit)

    def note(self, message: str) -> None:
        self._write(f"  {message}")

    def warn(self, message: str) -> None:
        self._write(f"! {message}")
