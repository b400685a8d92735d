"""`sandbox load` input errors: one line naming the flag, exit 2, nothing started."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from tests.support.cli import run_sandbox
from tests.support.ports import free_port


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


def test_nothing_answering_fails_on_one_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = _load(tmp_path, "keto", "--keto-read-url", url, "--keto-write-url", url)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: KETO_READ_REMOTE={url} does not answer (ConnectError)")


class RefusingClient:
    """Stands in for `httpx.Client`: records every client made and every request, and answers
    each request the way a port nobody listens on does."""

    made: ClassVar[list[RefusingClient]] = []

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.asked: list[str] = []
        RefusingClient.made.append(self)

    def __enter__(self) -> RefusingClient:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def get(self, url: str) -> None:
        self.asked.append(url)
        raise httpx.ConnectError("[Errno 111] Connection refused")


def test_nothing_answering_is_asked_once_with_a_short_timeout_and_nothing_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Failing fast, in events: one client with a 3 s timeout (not the 10 s per request of the
    run), one request to the first URL, no retry, and the load never starts."""
    import sandbox.load.runner
    from sandbox.cli import main

    runs: list[object] = []
    monkeypatch.setattr(RefusingClient, "made", [])
    monkeypatch.setattr(httpx, "Client", RefusingClient)
    monkeypatch.setattr(sandbox.load.runner, "run", lambda *args: runs.append(args))
    url = "http://127.0.0.1:9"
    argv = ["sandbox", "--state-dir", str(tmp_path / "none"), "load", "keto"]
    argv += ["--keto-read-url", url, "--keto-write-url", url]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    assert [(c.timeout, c.asked) for c in RefusingClient.made] == [
        (3.0, ["http://127.0.0.1:9/health/alive"])
    ]
    assert runs == []
    first = capsys.readouterr().err.splitlines()[0]
    assert first.startswith("error: KETO_READ_REMOTE=http://127.0.0.1:9 does not answer")
