"""The rendered node command on a real CockroachDB (the image tests/support/cockroach.py
chooses: `$IAM_SANDBOX_TEST_COCKROACH_IMAGE`, else the pinned official image when present
locally; skipped, naming the image, without one), brought up by `sandbox up` on Compose:

- `sandbox logs crdb-N` shows the server's own log, because the nodes log to stderr;
- diagnostics reporting is off in a fresh cluster, because every node starts with
  COCKROACH_SKIP_ENABLING_DIAGNOSTIC_REPORTING=true.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.support.cockroach import SandboxHome, real_cockroach_problem, real_cockroach_sandbox

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(real_cockroach_problem() is not None, reason=str(real_cockroach_problem())),
]

LOG_LINE = re.compile(r"\b[IWEF]\d{6} \d{2}:\d{2}:\d{2}\.\d{6} \d+ \S+\.go:\d+")
"""CockroachDB's log format: severity and date, time, goroutine, source file and line."""


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHome]:
    home = tmp_path_factory.mktemp("crdb-node") / "home"
    with real_cockroach_sandbox(home, "node-flags") as box:
        yield box


def test_logs_of_each_node_show_the_server_log(box: SandboxHome) -> None:
    for node in ("crdb-1", "crdb-2", "crdb-3"):
        done = box.run("logs", node, timeout=120)
        assert done.returncode == 0, done.stderr
        lines = [line for line in done.stdout.splitlines() if LOG_LINE.search(line)]
        assert len(lines) >= 10, f"{node}: no server log in `sandbox logs`:\n{done.stdout[-2000:]}"
        assert "starting cockroach node" in done.stdout, node
        assert "cache size             160 MiB" in done.stdout, node  # the server's config dump


def test_diagnostics_reporting_is_off(box: SandboxHome) -> None:
    done = box.run("sql", "-e", "SHOW CLUSTER SETTING diagnostics.reporting.enabled", timeout=120)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^\s*false\s*$", done.stdout, re.MULTILINE), done.stdout
