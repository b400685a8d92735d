"""The sandbox's own errors. Each carries the exit code the CLI returns.

SandboxError (1)          something failed while doing the work
 +-- BadInput (2)         the user's settings, flags, environment or state directory are wrong
 +-- CommandFailed (1)    a child process failed; keeps argv, code and stderr
 +-- Interrupted (130)    Ctrl-C: says what was left behind and how to go on
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_NO_SANDBOX = 3
"""`sandbox status`: nothing of this sandbox exists."""
EXIT_INTERRUPTED = 130


class SandboxError(Exception):
    """A failure to report on one line, without a traceback."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        """Extra lines (logs, stderr) shown after the one-line message."""


class BadInput(SandboxError):
    exit_code = EXIT_BAD_INPUT


class CommandFailed(SandboxError):
    def __init__(self, argv: Sequence[str], code: int, stdout: str = "", stderr: str = "") -> None:
        self.argv = list(argv)
        self.code = code
        self.stdout = stdout
        self.stderr = stderr
        last = (stderr or stdout).strip().splitlines()
        reason = last[-1] if last else f"exit code {code}"
        super().__init__(f"{shlex.join(self.argv[:3])}: {reason}", detail=stderr or stdout)


class Interrupted(SandboxError):
    exit_code = EXIT_INTERRUPTED
