"""Pick the log lines that explain a failed container, not merely its last lines.

A failed Ory migration logs its real error (an error-level record with the SQLSTATE) far above
the end of its log, which is a Go stack trace. So the failure block shows error-level records,
the first `ERROR`/`error=` line and SQLSTATE messages, and falls back to the tail only when no
line matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SCAN_LINES = 1000
"""How much of a container's log is searched (a real error sits ~170 lines above the end)."""
SHOW_LINES = 25
MAX_LINE = 600

_ERROR_RECORD = re.compile(r'"level"\s*:\s*"(error|fatal|panic)"|\blevel=(error|fatal|panic)\b')
_FIRST_ERROR = re.compile(r"\bERROR\b|\berror=")
_SQLSTATE = re.compile(r"SQLSTATE")


@dataclass(frozen=True)
class Evidence:
    lines: list[str]
    matched: bool
    """True: the lines explain the failure; False: nothing matched, they are the log's tail."""


def explaining_lines(log: str, limit: int = SHOW_LINES) -> Evidence:
    """The lines of `log` that say why it failed, in log order, at most `limit` of them."""
    lines = log.rstrip().splitlines()
    first_error = next((i for i, line in enumerate(lines) if _FIRST_ERROR.search(line)), None)
    picked = [
        i
        for i, line in enumerate(lines)
        if i == first_error or _ERROR_RECORD.search(line) or _SQLSTATE.search(line)
    ]
    if not picked:
        return Evidence([_clip(line) for line in lines[-limit:]], matched=False)
    return Evidence([_clip(lines[i]) for i in picked[:limit]], matched=True)


def evidence_block(service: str, log: str) -> str:
    """The failure block under `✗ <stage>`: a heading that says what the lines are, then them."""
    found = explaining_lines(log)
    if found.matched:
        heading = f"--- log lines of {service} that explain the failure ---"
    else:
        heading = f"--- last {len(found.lines)} log lines of {service} ---"
    return "\n".join([heading, *found.lines])


def _clip(line: str) -> str:
    return line if len(line) <= MAX_LINE else line[:MAX_LINE] + " ..."
