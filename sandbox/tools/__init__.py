"""Pinned command-line tools (kind, helm, kubectl, eksctl): found on PATH or fetched and verified.

No PyPI package wraps kind, so this is our own: one mechanism (`binary.Toolbox`) over a table
of tool specs (`specs.SPECS`); versions and optional checksums come from `settings.tools`.
"""

from sandbox.tools.binary import Toolbox, current_platform, parse_checksums
from sandbox.tools.specs import SPECS, ToolSpec

__all__ = ["SPECS", "ToolSpec", "Toolbox", "current_platform", "parse_checksums"]
