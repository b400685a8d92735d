"""The `iam_sandbox` fixture, registered by `sandbox.pytest` only when a run asks for it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from sandbox.ci.handle import IamSandbox

STATE = "iam-sandbox-session"


@pytest.fixture(scope="session")
def iam_sandbox(request: pytest.FixtureRequest) -> Iterator[IamSandbox]:
    """The run's IAM sandbox: up (or reused) before the first test that asks, down at the end."""
    from sandbox.ci.plugin import IamSandboxPlugin

    plugin = request.config.pluginmanager.get_plugin(STATE)
    if not isinstance(plugin, IamSandboxPlugin):
        # sandbox.pytest registers this fixture only together with its plugin.
        raise RuntimeError(f"iam_sandbox: no {STATE!r} plugin registered by sandbox.pytest")
    yield plugin.start()
    plugin.finish()
