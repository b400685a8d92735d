"""The live part of the status lines: what `up` is waiting for, while it waits, on a terminal.

`Status` (sandbox.plan.status) keeps printing its `✓ stage (3.1s)` lines; on a terminal a
`Board` shows, below them, the open stage with its elapsed time ticking and rows of progress
under it (bytes of an image pull, migrations applied/total with the current one's name). The
board is transient: when the last stage closes it is erased and only the plain lines remain, so
a terminal's scroll-back reads as a log does.

Built on rich's Progress (a maintained progress library, already installed with typer) rather
than on hand-written cursor control. Runtimes see only `ProgressHandle`: a pull or a migration
wait reports numbers and never learns whether anyone watches them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, Protocol

from rich.filesize import decimal
from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, Task, TaskID
from rich.table import Column
from rich.text import Text

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

Unit = Literal["count", "bytes"]
"""How a row's numbers read: `3/60` (migrations) or `12.3 MB/45.6 MB` (image bytes)."""


class ProgressHandle(Protocol):
    """One row of progress, fed by whoever does the work."""

    def update(self, completed: float, total: float | None = None, detail: str = "") -> None:
        """`completed` so far out of `total` (None: keep the last known total, or none yet);
        `detail` says what is in hand (a migration's name), "" shows nothing."""

    def done(self) -> None:
        """The work ended; the row stays (finished) until its stage closes."""


class NoProgress:
    """The handle where nobody watches live (not a terminal, or quiet): every call is a no-op,
    so the line-based output that tests and CI logs parse never changes."""

    def update(self, completed: float, total: float | None = None, detail: str = "") -> None:
        return None

    def done(self) -> None:
        return None


def amount(completed: float, total: float | None, unit: Unit) -> str:
    """`3/60`, `3` (no total known), `12.3 MB/45.6 MB` or `12.3 MB`."""
    if unit == "bytes":
        done = decimal(int(completed))
        return f"{done}/{decimal(int(total))}" if total else done
    return f"{int(completed)}/{int(total)}" if total is not None else str(int(completed))


def _is_step(task: Task) -> bool:
    return bool(task.fields.get("step"))


class _Spinner(SpinnerColumn):
    """A spinner on stage rows only; progress rows are indented under their stage instead."""

    def render(self, task: Task) -> RenderableType:
        return super().render(task) if _is_step(task) else Text("")


class _Label(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(task.description if _is_step(task) else f"  {task.description}")


class _Bar(ProgressColumn):
    """A bar only where a total is known: a stage's length, or a pull still waiting for its
    layers' sizes, has none, and a pulsing bar would claim more than is known."""

    def __init__(self, width: int) -> None:
        super().__init__(table_column=Column(no_wrap=True, min_width=width))
        self._bar = BarColumn(bar_width=width)

    def render(self, task: Task) -> RenderableType:
        if _is_step(task) or not task.total:
            return Text("")
        return self._bar.render(task)


class _Amount(ProgressColumn):
    """A stage's elapsed seconds (as its final line prints them), or a row's numbers."""

    def render(self, task: Task) -> Text:
        if _is_step(task):
            return Text(f"{task.elapsed or 0.0:.1f}s")
        return Text(amount(task.completed, task.total, task.fields.get("unit", "count")))


class _Detail(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(str(task.fields.get("detail", "")), no_wrap=True, overflow="ellipsis")


class _Row:
    """The handle of one live row."""

    def __init__(self, board: Board, task: TaskID) -> None:
        self._board = board
        self._task = task
        self._finished = False

    def update(self, completed: float, total: float | None = None, detail: str = "") -> None:
        if not self._finished:
            self._board.update(self._task, completed, total, detail)

    def done(self) -> None:
        if not self._finished:
            self._finished = True
            self._board.finish(self._task)


class Board:
    """The live display of one console: stage rows, each with its progress rows beneath.

    Started by the first row and stopped (erased) when the last goes, so nothing lingers
    between stages; a line printed meanwhile appears above it."""

    def __init__(self, console: Console, clock: Callable[[], float], ticking: bool = True) -> None:
        self.console = console
        self.clock = clock
        self.ticking = ticking
        """Redraw on a timer so elapsed seconds tick; tests draw only on changes."""
        self._progress: Progress | None = None
        self._stages: list[list[TaskID]] = []
        """Open stages, outermost first: each one's own row, then the rows opened under it."""
        self._loose: list[TaskID] = []

    @property
    def active(self) -> bool:
        return self._progress is not None

    def _live(self) -> Progress:
        if self._progress is None:
            # Names and numbers keep their width; a narrow terminal cuts the detail instead.
            self._progress = Progress(
                _Spinner(table_column=Column(no_wrap=True)),
                _Label(table_column=Column(no_wrap=True)),
                _Bar(20),
                _Amount(table_column=Column(no_wrap=True)),
                _Detail(table_column=Column(overflow="ellipsis")),
                console=self.console,
                get_time=self.clock,
                auto_refresh=self.ticking,
                refresh_per_second=4,
                transient=True,
                redirect_stdout=False,  # stdout belongs to `--output json`
            )
            self._progress.start()
        return self._progress

    def print(self, line: str) -> None:
        """A plain status line, above the live rows when there are any."""
        self.console.print(line, markup=False, highlight=False, emoji=False, soft_wrap=True)

    def open_stage(self, name: str) -> None:
        task = self._live().add_task(name, total=None, step=True)
        self._stages.append([task])

    def close_stage(self, line: str) -> None:
        """Remove the innermost stage with its rows, then print its final line; the display
        stops first when nothing is left, so the line lands where the rows were."""
        rows = self._stages.pop() if self._stages else []
        self._remove(rows)
        self.print(line)

    def add(self, label: str, total: float | None, unit: Unit) -> ProgressHandle:
        task = self._live().add_task(label, total=total, unit=unit, detail="")
        (self._stages[-1] if self._stages else self._loose).append(task)
        return _Row(self, task)

    def update(self, task: TaskID, completed: float, total: float | None, detail: str) -> None:
        if self._progress is None:
            return
        self._progress.update(task, completed=completed, total=total, detail=detail, refresh=True)

    def finish(self, task: TaskID) -> None:
        """A stage's row keeps showing its end until the stage closes; a row opened outside
        any stage has nothing to wait for and goes now."""
        if task in self._loose:
            self._loose.remove(task)
            self._remove([task])

    def _remove(self, tasks: list[TaskID]) -> None:
        progress = self._progress
        if progress is None:
            return
        for task in tasks:
            progress.remove_task(task)
        if not self._stages and not self._loose:
            progress.stop()
            self._progress = None
        else:
            progress.refresh()
