"""The `iam_sandbox` fixture, registered by `sandbox.pytest` only when a run asks for it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from sandbox.ci.handle import IamSandbox
    from sandbox.pytest import IamSandboxPlugin

STATE = "iam-sandbox-session"


@pytest.fixture(scope="session")
def iam_sandbox(request: pytest.FixtureRequest) -> Iterator[IamSandbox]:
    """The run's IAM sandbox: up (or reused) before the first test that asks, down at the end."""
    plugin: IamSandboxPlugin = request.config.pluginmanager.get_plugin(STATE)
    yield plugin.start()
    plugin.finish()
