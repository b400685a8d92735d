"""GitHub Actions files: the step summary (Markdown) and `$GITHUB_ENV` (NAME=value lines).

The runner sets `GITHUB_ACTIONS=true` and gives each step the paths of these files; a step
appends to them, and GitHub renders the summary and exports the variables to later steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sandbox.errors import BadInput


def in_actions(env: Mapping[str, str]) -> bool:
    return env.get("GITHUB_ACTIONS") == "true"


def summary_path(env: Mapping[str, str]) -> Path | None:
    """Where a step's Markdown summary goes, when running in GitHub Actions."""
    path = env.get("GITHUB_STEP_SUMMARY")
    return Path(path) if in_actions(env) and path else None


def env_lines(values: Mapping[str, str]) -> str:
    """NAME=value lines as `$GITHUB_ENV` reads them (values are single lines)."""
    for name, value in values.items():
        if "\n" in value or "\r" in value:
            raise ValueError(f"{name}: a value for $GITHUB_ENV must be one line")
    return "".join(f"{name}={value}\n" for name, value in values.items())


def github_env_path(env: Mapping[str, str]) -> Path:
    """`$GITHUB_ENV`, or bad input naming the flag when the job is not on GitHub Actions."""
    path = env.get("GITHUB_ENV")
    if not path:
        raise BadInput("--export github: GITHUB_ENV is not set (not a GitHub Actions step)")
    return Path(path)


def append(path: Path, text: str) -> None:
    """Append to a file the runner reads after the step (it may not exist yet)."""
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)
