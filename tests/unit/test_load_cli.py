"""`sandbox load` input errors: one line naming the flag, exit 2, nothing started."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.cli import run_sandbox
from tests.support.postgres import free_port


def _load(tmp_path: Path, *args: str):  # type: ignore[no-untyped-def]
    return run_sandbox(tmp_path, "--state-dir", str(tmp_path / "none"), "load", *args)


def test_a_bad_duration_names_the_flag(tmp_path: Path) -> None:
    done = _load(tmp_path, "keto", "--duration", "5x")
    assert done.returncode == 2
    assert done.stderr == "error: --duration: '5x' is not a duration (examples: 30s, 2m, 500ms)\n"


def test_all_needs_a_worker_per_service(tmp_path: Path) -> None:
    done = _load(tmp_path, "all", "--concurrency", "2")
    assert done.returncode == 2
    assert done.stderr.startswith("error: --concurrency: 2 is fewer than one worker per service")
    assert done.stdout == ""


def test_nothing_answering_fails_fast_on_one_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    done = _load(tmp_path, "keto", "--keto-read-url", url, "--keto-write-url", url)
    assert time.monotonic() - started < 15
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: KETO_READ_REMOTE={url} does not answer (ConnectError)")
