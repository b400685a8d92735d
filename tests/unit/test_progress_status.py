"""Status lines with live progress: unchanged plain lines off a terminal, live rows on one.

The terminal is rich's Console writing to a StringIO with `force_terminal=True`; `screen`
replays the few control sequences rich's live display writes (carriage return, erase line,
cursor up) so a test can say what a person would see, now and after the step. The clock is a
list the test moves by hand: no assertion depends on wall-clock time.
"""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from sandbox.plan.progress import Board, NoProgress, amount
from sandbox.plan.status import Status, StepRecord, is_terminal

CONTROL = re.compile(r"(\x1b\[[0-9;?]*[A-Za-z]|\r|\n)")


def screen(raw: str) -> list[str]:
    """The lines a terminal shows after `raw`, trailing blanks dropped."""
    lines, row, col = [""], 0, 0
    for token in CONTROL.split(raw):
        if not token:
            continue
        if token == "\r":
            col = 0
        elif token == "\n":
            row, col = row + 1, 0
            lines += [""] * (row + 1 - len(lines))
        elif token.startswith("\x1b["):
            if token.endswith("A"):
                row -= int(token[2:-1] or 1)
            elif token == "\x1b[2K":
                lines[row] = ""
        else:
            line = lines[row].ljust(col)
            lines[row] = line[:col] + token + line[col + len(token) :]
            col += len(token)
    shown = [line.rstrip() for line in lines]
    while shown and not shown[-1]:
        shown.pop()
    return shown


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def terminal(width: int = 80) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=width, color_system=None), out


def test_off_a_terminal_the_lines_are_exactly_the_old_ones() -> None:
    out, clock = io.StringIO(), Clock()
    status = Status(stream=out, clock=clock)
    with status.step("pre-flight"):
        status.note("pulling oryd/hydra:v2.3.0")
        row = status.progress("oryd/hydra:v2.3.0", unit="bytes")
        row.update(1_000, 2_000, "layer")
        clock.now += 2.5
        row.done()
        status.warn("careful")
    assert out.getvalue() == (
        "• pre-flight ...\n  pulling oryd/hydra:v2.3.0\n! careful\n✓ pre-flight (2.5s)\n"
    )
    assert status.steps == [StepRecord("pre-flight", True, 2.5)]


def test_quiet_says_nothing_even_on_a_terminal() -> None:
    console, out = terminal()
    status = Status(quiet=True, console=console)
    with status.step("pre-flight"):
        assert isinstance(status.progress("x"), NoProgress)
        status.note("n")
    assert (status.live, out.getvalue()) == (False, "")


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class Closed(io.StringIO):
    def isatty(self) -> bool:
        raise ValueError("I/O operation on closed file")


def test_a_terminal_is_a_tty_that_can_move_its_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    assert is_terminal(Tty()) is True
    assert is_terminal(io.StringIO()) is False
    assert is_terminal(Closed()) is False
    monkeypatch.setenv("TERM", "dumb")
    assert is_terminal(Tty()) is False


def test_terminal_ness_is_decided_once_when_the_status_is_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TERM", "xterm")
    status = Status(stream=Tty())
    monkeypatch.setenv("TERM", "dumb")
    assert status.live is True
    assert Status(stream=io.StringIO()).live is False


def test_on_a_terminal_the_step_ticks_with_its_rows_then_leaves_its_line() -> None:
    console, out = terminal()
    clock = Clock()
    status = Status(console=console, clock=clock, ticking=False)
    with status.step("migrations done"):
        hydra = status.progress("hydra-migrate")
        keto = status.progress("keto-migrate")
        clock.now += 1.5
        hydra.update(30, 60, "20211004110003000000_change_client_primary_key")
        keto.update(4)
        assert screen(out.getvalue()) == [
            "⠇ migrations done                      1.5s",
            "    hydra-migrate ━━━━━━━━━━           30/60 20211004110003000000_change_client…",
            "    keto-migrate                       4",
        ]
        status.note("a note goes above the rows")
    assert screen(out.getvalue()) == ["  a note goes above the rows", "✓ migrations done (1.5s)"]
    assert "•" not in out.getvalue()  # the live row stands in for the `• ...` line


def test_image_bytes_read_as_sizes() -> None:
    console, out = terminal()
    clock = Clock()
    status = Status(console=console, clock=clock, ticking=False)
    with status.step("pre-flight"):
        row = status.progress("oryd/hydra:v2.3.0", unit="bytes")
        row.update(1_234_567)
        assert screen(out.getvalue())[1:] == ["    oryd/hydra:v2.3.0                      1.2 MB"]
        row.update(12_003_000, 12_003_000)
        assert screen(out.getvalue())[1:] == [
            "    oryd/hydra:v2.3.0 ━━━━━━━━━━━━━━━━━━━━ 12.0 MB/12.0 MB"
        ]


def test_a_failed_step_is_crossed_out_and_the_display_stops() -> None:
    console, out = terminal()
    clock = Clock()
    status = Status(console=console, clock=clock, ticking=False)
    with pytest.raises(KeyboardInterrupt), status.step("cluster initialised"):
        status.progress("crdb-init").update(1, 2)
        clock.now += 0.5
        raise KeyboardInterrupt
    assert screen(out.getvalue()) == ["✗ cluster initialised (0.5s)"]
    assert status.steps == [StepRecord("cluster initialised", False, 0.5)]


def test_a_step_inside_a_step_shares_the_display() -> None:
    console, out = terminal()
    clock = Clock()
    status = Status(console=console, clock=clock, ticking=False)
    with status.step("outer"):
        with status.step("inner"):
            assert screen(out.getvalue()) == [
                "⠋ outer                      0.0s",
                "⠋ inner                      0.0s",
            ]
            clock.now += 1.0
        assert screen(out.getvalue()) == ["✓ inner (1.0s)", "⠹ outer                      1.0s"]
    assert screen(out.getvalue()) == ["✓ inner (1.0s)", "✓ outer (1.0s)"]


def test_a_finished_row_stays_until_its_step_ends_and_takes_no_more_numbers() -> None:
    console, out = terminal()
    status = Status(console=console, clock=Clock(), ticking=False)
    with status.step("migrations done"):
        row = status.progress("kratos-migrate", total=3)
        row.update(3, detail="last")
        row.done()
        row.update(1, detail="late")
        assert screen(out.getvalue())[1] == ("    kratos-migrate ━━━━━━━━━━━━━━━━━━━━ 3/3  last")


def test_a_row_outside_any_step_goes_when_done() -> None:
    console, out = terminal()
    board = Board(console, Clock(), ticking=False)
    row = board.add("oryd/keto:v0.13.0", None, "bytes")
    assert board.active is True
    row.done()
    assert board.active is False
    assert screen(out.getvalue()) == []


@pytest.mark.parametrize(
    ("completed", "total", "unit", "text"),
    [
        (3, 60, "count", "3/60"),
        (3, None, "count", "3"),
        (0, 0, "count", "0/0"),
        (1_234_567, 45_600_000, "bytes", "1.2 MB/45.6 MB"),
        (1_234_567, None, "bytes", "1.2 MB"),
        (999, None, "bytes", "999 bytes"),
    ],
)
def test_amounts(completed: int, total: int | None, unit: str, text: str) -> None:
    assert amount(completed, total, unit) == text  # type: ignore[arg-type]
