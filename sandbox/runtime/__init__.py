"""Runtimes apply rendered artifacts to a target; the CLI picks one by `--target`.

Which runtime (and which cluster provider) a target gets is the table in `sandbox.targets`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.runtime.base import Driver, DriverContext


def get_driver(target: str, ctx: DriverContext) -> Driver:
    """The driver for `target`, imported only when asked for (keeps start-up fast)."""
    from sandbox.targets import target as row

    return row(target)(ctx)
