"""pytest plugin: an ephemeral IAM sandbox for a test run, as the session fixture `iam_sandbox`.

Off unless asked for: `pytest --iam-sandbox` or `pytest -p sandbox.pytest`. The package's
`pytest11` entry point only adds the options; it registers no fixture and runs no hook in a
run that did not ask.

- `iam_sandbox` brings the stack up with `sandbox up` (or reuses a healthy one) and yields an
  `IamSandbox`: every endpoint, the database URLs, the CA path, and helpers.
- At the end of the run the stack this run started is removed with `sandbox down --volumes`,
  unless `--iam-sandbox-keep`; a stack that was already running is left as found.
- `--iam-sandbox-project NAME`: that Compose project, its own state directory and a claimed
  block of free ports, so parallel jobs on one machine do not collide.
- `--iam-sandbox-snapshot ARCHIVE`: start from that snapshot when the file exists (a CI cache
  restored it), with the data already migrated; a plain `sandbox up` otherwise.
- pytest-xdist: the workers of one run share one stack. The first worker that needs it starts
  it (the others wait on a lock and reuse it); the controller takes it down at the very end.
- A failed start becomes the error of the first test using the fixture: the failing stage and
  the lines that explain it.
"""

from __future__ import annotations

import pytest

PLUGIN_NAME = "sandbox.pytest"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("iam-sandbox", "IAM sandbox (Ory Hydra, Kratos, Keto, CockroachDB)")
    group.addoption(
        "--iam-sandbox",
        action="store_true",
        help="Provide the iam_sandbox fixture (same as -p sandbox.pytest).",
    )
    group.addoption(
        "--iam-sandbox-keep",
        action="store_true",
        help="Leave the sandbox running after the run (the next run reuses it).",
    )
    group.addoption(
        "--iam-sandbox-project",
        metavar="NAME",
        help="Run the sandbox as this project, on a free block of ports, with its own state "
        "directory (.sandbox-NAME).",
    )
    group.addoption(
        "--iam-sandbox-state-dir",
        metavar="DIR",
        help="State directory (default: .sandbox, or .sandbox-NAME with a project).",
    )
    group.addoption(
        "--iam-sandbox-target", metavar="TARGET", help="compose (default), kind or aws."
    )
    group.addoption(
        "--iam-sandbox-timeout",
        type=float,
        metavar="S",
        help="Seconds `sandbox up` may take (default: the settings' timeouts.up).",
    )
    group.addoption(
        "--iam-sandbox-snapshot",
        metavar="ARCHIVE",
        help="Start the sandbox from this snapshot (`sandbox snapshot save`) when the file "
        "exists, e.g. restored by a CI cache; otherwise a plain `sandbox up`.",
    )
    group.addoption(
        "--iam-sandbox-from-env",
        action="store_true",
        help="Start nothing: use the stack named by HYDRA_ADMIN_URL, ..., DATABASE_URL.",
    )


def _asked(config: pytest.Config) -> bool:
    """--iam-sandbox, or loaded on purpose (-p, pytest_plugins) rather than by entry point."""
    if config.getoption("iam_sandbox") or config.getoption("iam_sandbox_from_env"):
        return True
    if PLUGIN_NAME in (config.getoption("plugins", None) or []):
        return True
    me = config.pluginmanager.get_plugin(PLUGIN_NAME)
    return not any(plugin is me for plugin, _ in config.pluginmanager.list_plugin_distinfo())


def pytest_configure(config: pytest.Config) -> None:
    if _asked(config):
        from sandbox.ci import fixture
        from sandbox.ci.plugin import IamSandboxPlugin

        config.pluginmanager.register(IamSandboxPlugin(config), fixture.STATE)
        config.pluginmanager.register(fixture, "iam-sandbox-fixture")
