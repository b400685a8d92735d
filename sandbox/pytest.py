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
- pytest-xdist: the workers of one run share one stack. The first worker that needs it starts
  it (the others wait on a lock and reuse it); the controller takes it down at the very end.
- A failed start becomes the error of the first test using the fixture: the failing stage and
  the lines that explain it.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from sandbox.ci.handle import IamSandbox
    from sandbox.ci.session import SandboxSession

PLUGIN_NAME = "sandbox.pytest"
RUN_KEY = "iam_sandbox_run"


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

        config.pluginmanager.register(IamSandboxPlugin(config), fixture.STATE)
        config.pluginmanager.register(fixture, "iam-sandbox-fixture")


class IamSandboxPlugin:
    """Registered only when asked for: the run's sandbox session and its end-of-run teardown
    (the fixture itself is in `sandbox.ci.fixture`)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
        self.is_worker = workerinput is not None
        self.run_id = (workerinput or {}).get(RUN_KEY) or uuid.uuid4().hex
        self.uses_xdist = self.is_worker or bool(getattr(config.option, "numprocesses", None))
        self._session: SandboxSession | None = None

    def session(self) -> SandboxSession:
        from sandbox.ci.session import SandboxSession, SessionOptions

        if self._session is None:
            opt = self.config.getoption
            project = opt("iam_sandbox_project")
            cwd = self.config.invocation_params.dir
            state = opt("iam_sandbox_state_dir") or (
                f".sandbox-{project}" if project else ".sandbox"
            )
            options = SessionOptions(
                cwd=cwd,
                state_dir=(cwd / Path(state)).resolve(),
                project=project,
                keep=bool(opt("iam_sandbox_keep")),
                target=opt("iam_sandbox_target"),
                timeout=opt("iam_sandbox_timeout"),
            )
            self._session = SandboxSession(options, self.run_id)
        return self._session

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """pytest-xdist controller: every worker joins this run's stack."""
        node.workerinput[RUN_KEY] = self.run_id

    def start(self) -> IamSandbox:
        import os

        from sandbox.ci.handle import IamSandbox
        from sandbox.ci.session import StartFailed

        if self.config.getoption("iam_sandbox_from_env"):
            return IamSandbox.from_env(os.environ)
        try:
            return self.session().start()
        except (StartFailed, RuntimeError) as exc:
            failure = f"iam_sandbox: {exc}"
        pytest.fail(failure, pytrace=False)  # outside `except`: no chained traceback

    def finish(self) -> None:
        """Without xdist: the fixture's teardown takes the stack down."""
        if self.uses_xdist or self.config.getoption("iam_sandbox_from_env"):
            return
        problem = self.session().stop()
        if problem:
            pytest.fail(f"iam_sandbox teardown: {problem}", pytrace=False)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """pytest-xdist: the controller takes the shared stack down once every worker is done."""
        if self.uses_xdist and not self.is_worker and self._session_started():
            problem = self.session().stop()
            if problem:
                reporter = self.config.pluginmanager.get_plugin("terminalreporter")
                if reporter is not None:
                    reporter.write_line(f"iam_sandbox teardown: {problem}", red=True)

    def _session_started(self) -> bool:
        from sandbox.ci.session import RECORD

        return (self.session().options.state_dir / RECORD).is_file()
