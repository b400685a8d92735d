"""Printing for people (aligned tables) and for machines (JSON on stdout, nothing else)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from sandbox.cli.context import Output
from sandbox.text import table

__all__ = ["OutputOption", "emit_json", "info", "table", "warn"]

OutputOption = Annotated[
    Output, typer.Option("--output", "-o", help="table for people, json for scripts (on stdout).")
]


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def info(message: str) -> None:
    """Progress and notes go to stderr, so stdout stays clean for --output json."""
    sys.stderr.write(message + "\n")


def warn(message: str) -> None:
    sys.stderr.write(f"warning: {message}\n")
