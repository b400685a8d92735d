"""matplotlib for the `--plot` of `load` and `chaos`, from the optional extra `plot`.

Imported only when a plot is asked for, with the non-interactive Agg backend, so the CLI starts
fast and needs no display.
"""

from __future__ import annotations

from types import ModuleType

from sandbox.errors import BadInput

INSTALL_HINT = "--plot needs matplotlib: pip install 'iam-sandbox[plot]'"


def require_matplotlib() -> None:
    """Fail before the run, not after it, when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise BadInput(INSTALL_HINT) from None


def pyplot() -> ModuleType:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
