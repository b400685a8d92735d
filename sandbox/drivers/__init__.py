"""Drivers apply rendered artifacts to a target; the CLI picks one by `--target`."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from sandbox.errors import BadInput

if TYPE_CHECKING:
    from sandbox.drivers.base import Driver, DriverContext

TARGETS = {
    "compose": "sandbox.drivers.compose:ComposeDriver",
    "kind": "sandbox.drivers.kind:KindDriver",
    "aws": "sandbox.drivers.aws:AwsDriver",
    "k8s": "sandbox.drivers.k8s:K8sDriver",
}


def get_driver(target: str, ctx: DriverContext) -> Driver:
    """The driver for `target`, imported only when asked for (keeps start-up fast)."""
    if target not in TARGETS:
        raise BadInput(f"--target: unknown target {target!r} (choose from {', '.join(TARGETS)})")
    module, _, name = TARGETS[target].partition(":")
    try:
        cls = getattr(import_module(module), name)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        raise BadInput(f"--target {target}: this target is not available in this build") from None
    return cls(ctx)  # type: ignore[no-any-return]
