"""The run's sandbox session behind the `iam_sandbox` fixture, registered by `sandbox.pytest`
only when a run asks for it (see that module for the options)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from sandbox.ci.handle import IamSandbox
    from sandbox.ci.session import SandboxSession

RUN_KEY = "iam_sandbox_run"


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
                snapshot=(cwd / snap).resolve() if (snap := opt("iam_sandbox_snapshot")) else None,
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
