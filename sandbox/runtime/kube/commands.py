"""Commands as data, and who runs them.

Every step of the Kubernetes runtime and of a cluster provider is planned as `Command`s
(argv, timeout, what goes to stdin) before any of them runs; an `Executor` runs them. The real
executor is `sandbox.exec.run`; tests inject a `Recorder`, which keeps every argv and answers
reads from canned outputs, so a test states the exact argv lists of an `up` or a `down` without
a cluster. A dry run shows each command (shlex-quoted, for the user) and hands it to the
executor's `skip`, so a recorder sees dry runs too and a real executor runs nothing.

A `Session` is one `up` or `down`: dry or not, which executor, how tools are found. It is
passed along, never stored, so no object carries a `dry_run` flag between calls.

Secrets go to stdin and are described by a label: they never appear in an argv or on screen.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from sandbox.errors import CommandFailed

if TYPE_CHECKING:
    from sandbox.plan.status import Status
    from sandbox.tools import Toolbox


@dataclass(frozen=True)
class Command:
    """One planned command: its argv, its time limit, and what goes to its stdin (described,
    never shown)."""

    argv: tuple[str, ...]
    timeout: float | None = None
    stdin: Callable[[], str] | None = field(default=None, compare=False)
    stdin_label: str = ""

    def shown(self) -> str:
        text = shlex.join(self.argv)
        return f"{text}  < {self.stdin_label}" if self.stdin is not None else text


@dataclass(frozen=True)
class Completed:
    """What a command answered."""

    code: int = 0
    stdout: str = ""
    stderr: str = ""


class Executor(Protocol):
    """Runs planned commands. The runtime never spawns a process any other way."""

    def run(self, command: Command, *, check: bool = True) -> Completed:
        """Run it, capturing its output; `CommandFailed` when `check` and it fails."""
        ...

    def attach(self, command: Command) -> int:
        """Run it on the user's terminal (logs, an interactive shell); its exit code."""
        ...

    def skip(self, command: Command) -> None:
        """A dry run: this command would run now (shown already; never run it)."""
        ...


class ProcessExecutor:
    """The real thing: `sandbox.exec.run` for captured commands, the terminal for attached."""

    def run(self, command: Command, *, check: bool = True) -> Completed:
        from sandbox.exec import run

        done = run(
            command.argv,
            input=command.stdin() if command.stdin is not None else None,
            timeout=command.timeout,
            check=check,
        )
        return Completed(done.returncode, done.stdout, done.stderr)

    def attach(self, command: Command) -> int:
        # Streams to the terminal, so it is not captured (as the Compose runtime does).
        return subprocess.run(list(command.argv), check=False).returncode

    def skip(self, command: Command) -> None:
        return None


class Recorder:
    """A stand-in executor for tests: records every command, runs none.

    `answers` maps a piece of a command line (`"get nodes"`) to what the command answers (its
    stdout, or a `Completed`); the first piece found in `shlex.join(argv)` wins, anything else
    answers success with no output.
    """

    def __init__(self, answers: Mapping[str, str | Completed] | None = None) -> None:
        self.answers = dict(answers or {})
        self.commands: list[Command] = []
        self.skipped: list[Command] = []

    @property
    def argvs(self) -> list[list[str]]:
        """Every argv seen, run or skipped, in order."""
        return [list(c.argv) for c in self.commands]

    def _answer(self, command: Command) -> Completed:
        line = shlex.join(command.argv)
        for piece, answer in self.answers.items():
            if piece in line:
                return answer if isinstance(answer, Completed) else Completed(0, answer)
        return Completed()

    def run(self, command: Command, *, check: bool = True) -> Completed:
        self.commands.append(command)
        done = self._answer(command)
        if check and done.code != 0:
            raise CommandFailed(command.argv, done.code, done.stdout, done.stderr)
        return done

    def attach(self, command: Command) -> int:
        self.commands.append(command)
        return self._answer(command).code

    def skip(self, command: Command) -> None:
        self.commands.append(command)
        self.skipped.append(command)


ToolResolver = Callable[[str, bool], str]
"""(tool name, dry run) -> the binary to run."""


class Tools:
    """Binaries from the toolbox: found or fetched; in a dry run only found (else the bare name,
    so a dry run downloads nothing)."""

    def __init__(self, toolbox: Toolbox) -> None:
        self.toolbox = toolbox
        self._found: dict[tuple[str, bool], str] = {}

    def __call__(self, name: str, dry_run: bool) -> str:
        if (name, dry_run) not in self._found:
            if dry_run:
                located = self.toolbox.locate(name)
                self._found[name, dry_run] = str(located) if located else name
            else:
                self._found[name, dry_run] = str(self.toolbox.ensure(name))
        return self._found[name, dry_run]


@dataclass(frozen=True)
class Session:
    """One `up` or `down`: how its commands run, and whether they run at all."""

    status: Status
    executor: Executor
    tools: ToolResolver
    dry_run: bool = False

    def tool(self, name: str) -> str:
        return self.tools(name, self.dry_run)

    def note(self, message: str) -> None:
        self.status.note(message)

    def show(self, commands: Sequence[Command]) -> None:
        """A dry run's `$ ...` lines (and the executor's record of them)."""
        for command in commands:
            self.status.note(f"$ {command.shown()}")
            self.executor.skip(command)

    def step(self, title: str, commands: Sequence[Command]) -> None:
        """Run `commands` as one status step (✓/✗); a dry run shows them under `[title]`."""
        if self.dry_run:
            self.status.note(f"[{title}]")
            self.show(commands)
            return
        with self.status.step(title):
            for command in commands:
                self.executor.run(command)

    def read(self, command: Command) -> Completed | None:
        """A question to the cluster or the cloud; None in a dry run, which asks nothing."""
        if self.dry_run:
            return None
        return self.executor.run(command, check=False)
