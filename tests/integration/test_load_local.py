"""`sandbox load keto` through the real CLI against small local Keto look-alikes on 127.0.0.1.

- one that answers every 10th check with HTTP 503: errors by status, and --max-error-rate;

- an honest one (remembers tuples, answers checks from them): the run passes;
- a liar that allows everything: the deny checks count wrong answers and the run exits 1;
- one that stalls every request for 2 s once: in an open loop the latency from the due time
  includes the stall, and the requests that could not be sent on time are counted as late;
- `--metrics-port`: the endpoint parses with prometheus_client's own parser while it runs.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_sandbox, start_sandbox
from tests.support.ports import free_port

aiohttp_web = pytest.importorskip("aiohttp.web")


class FakeKeto:
    """Keto's write and check endpoints; `lie` allows everything, `stall_at` freezes once."""

    def __init__(
        self, lie: bool = False, stall_after: int | None = None, fail_every: int = 0
    ) -> None:
        self.lie = lie
        self.stall_after = stall_after
        self.fail_every = fail_every
        self.tuples: set[tuple[str, str, str, str]] = set()
        self.checks = 0
        self.port = free_port()
        self._gate: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: Any = None

    async def _write(self, request: Any) -> Any:
        t = await request.json()
        self.tuples.add((t["namespace"], t["object"], t["relation"], t["subject_id"]))
        return aiohttp_web.json_response(t, status=201)

    async def _check(self, request: Any) -> Any:
        assert self._gate is not None
        self.checks += 1
        if self.stall_after is not None and self.checks == self.stall_after:
            self._gate.clear()  # every request from now on waits: the server is frozen
            await asyncio.sleep(2.0)
            self._gate.set()
        await self._gate.wait()
        if self.fail_every and self.checks % self.fail_every == 0:
            return aiohttp_web.json_response({"error": {"code": 503}}, status=503)
        q = request.query
        key = (q["namespace"], q["object"], q["relation"], q["subject_id"])
        allowed = self.lie or key in self.tuples
        return aiohttp_web.json_response({"allowed": allowed}, status=200 if allowed else 403)

    async def _alive(self, request: Any) -> Any:
        return aiohttp_web.json_response({"status": "ok"})

    def _serve(self, started: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        app = aiohttp_web.Application()
        app.router.add_put("/admin/relation-tuples", self._write)
        app.router.add_get("/relation-tuples/check", self._check)
        app.router.add_get("/health/alive", self._alive)

        async def start() -> None:
            self._gate = asyncio.Event()
            self._gate.set()
            self._runner = aiohttp_web.AppRunner(app, access_log=None)
            await self._runner.setup()
            await aiohttp_web.TCPSite(self._runner, "127.0.0.1", self.port).start()

        self._loop.run_until_complete(start())
        started.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())

    def __enter__(self) -> FakeKeto:
        started = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(started,), daemon=True)
        self._thread.start()
        assert started.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _load(tmp_path: Path, keto: FakeKeto, *args: str, timeout: float = 60) -> Any:
    return run_sandbox(
        tmp_path,
        "--state-dir",
        str(tmp_path / "no-state"),
        "load",
        "keto",
        "--keto-read-url",
        keto.url,
        "--keto-write-url",
        keto.url,
        *args,
        timeout=timeout,
    )


@pytest.fixture
def honest() -> Iterator[FakeKeto]:
    with FakeKeto() as keto:
        yield keto


@pytest.mark.parametrize("client", ["wire", "aiohttp"])
def test_an_honest_server_passes_and_deny_checks_are_inactive(
    tmp_path: Path, honest: FakeKeto, client: str
) -> None:
    done = _load(
        tmp_path, honest, "--duration", "2s", "--warmup", "0s", "--read-ratio", "10",
        "--concurrency", "4", "--output", "json", "--client", client,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    ops = {r["operation"]: r for r in report["operations"]}
    assert ops["keto.check.allowed"]["wrong"] == 0
    assert ops["keto.check.denied"]["wrong"] == 0
    assert ops["keto.check.denied"]["ok"] > 0
    summary = report["summary"]
    assert summary["inactive"] == ops["keto.check.denied"]["ok"]
    assert summary["active"] == ops["keto.check.allowed"]["ok"]
    assert summary["wrong_answers"] == 0
    assert report["created"]["keto.tuples"] == len(honest.tuples)
    # the live progress line, once a second
    assert re.search(r"^\[\s+[12]s measured\] keto \d+/s p99 [\d.]+ms \| err 0 wrong 0 late 0$",
                     done.stderr, re.M), done.stderr  # fmt: skip


def test_a_server_that_allows_everything_fails_the_run(tmp_path: Path) -> None:
    with FakeKeto(lie=True) as liar:
        done = _load(
            tmp_path, liar, "--duration", "2s", "--warmup", "0s", "--read-ratio", "10",
            "--concurrency", "4", "--deny-share", "0.2", "--output", "json",
        )  # fmt: skip
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    ops = {r["operation"]: r for r in report["operations"]}
    denied = ops["keto.check.denied"]
    assert denied["wrong"] > 0
    assert denied["ok"] == 0
    assert denied["wrong_samples"][0] == "check: allowed a subject that was never granted"
    assert ops["keto.check.allowed"]["wrong"] == 0
    assert report["summary"]["wrong_answers"] == denied["wrong"]
    assert report["verdict"].startswith("FAIL: ")


def test_open_loop_latency_counts_a_stall_from_the_due_time(tmp_path: Path) -> None:
    with FakeKeto(stall_after=60) as stalling:
        done = _load(
            tmp_path, stalling, "--duration", "4s", "--warmup", "0s", "--rate", "100",
            "--concurrency", "4", "--read-ratio", "1000", "--output", "json",
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    ops = {r["operation"]: r for r in report["operations"]}
    allowed = ops["keto.check.allowed"]
    # The frozen request waited 2 s; requests due during the freeze queued behind it, and the
    # first of them was due about 2 s before it could be answered.
    assert allowed["latency_ms"]["max"] >= 1900
    assert allowed["latency_ms"]["p99"] >= 1000
    # 100/s for 2 s: about 200 requests were due while 4 connections were stuck.
    assert report["summary"]["late_sends"] >= 150
    assert allowed["late"] + ops["keto.check.denied"]["late"] >= 150
    # The timetable held: about 400 requests in 4 s, whatever the stall did.
    total = sum(r["count"] for r in report["operations"])
    assert 360 <= total <= 420


@pytest.mark.parametrize("client", ["wire", "aiohttp"])
def test_http_errors_are_counted_by_status_and_judged_by_max_error_rate(
    tmp_path: Path, client: str
) -> None:
    args = ("--duration", "2s", "--warmup", "0s", "--concurrency", "2", "--read-ratio", "1000",
            "--deny-share", "0", "--output", "json", "--client", client)  # fmt: skip
    with FakeKeto(fail_every=10) as flaky:
        strict = _load(tmp_path, flaky, *args)
        lenient = _load(tmp_path, flaky, *args, "--max-error-rate", "0.2")
    assert strict.returncode == 1, strict.stderr
    assert lenient.returncode == 0, lenient.stderr
    for done in (strict, lenient):
        report = json.loads(done.stdout)
        allowed = next(r for r in report["operations"] if r["operation"] == "keto.check.allowed")
        assert set(allowed["errors"]) == {"http 503"}
        share = allowed["error_count"] / allowed["count"]
        assert 0.08 <= share <= 0.12  # every 10th check
        assert report["summary"]["wrong_answers"] == 0


@pytest.mark.parametrize("client", ["wire", "aiohttp"])
def test_timeouts_are_errors_of_their_own_kind(tmp_path: Path, client: str) -> None:
    with FakeKeto(stall_after=40) as stalling:
        done = _load(
            tmp_path, stalling, "--duration", "3s", "--warmup", "0s", "--concurrency", "2",
            "--timeout", "0.5", "--read-ratio", "1000", "--output", "json", "--client", client,
        )  # fmt: skip
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    errors = [r["errors"] for r in report["operations"]]
    assert {kind for e in errors for kind in e} == {"timeout"}
    assert 1 <= report["summary"]["errors"] <= 10  # 2 workers, 0.5 s each over a 2 s stall
    assert report["summary"]["wrong_answers"] == 0
    assert report["verdict"].startswith("FAIL: error rate ")
    # the run went on after the stall, on fresh connections
    assert report["summary"]["reads"] > 100


def test_metrics_endpoint_parses_while_it_runs(tmp_path: Path, honest: FakeKeto) -> None:
    import subprocess

    from prometheus_client.parser import text_string_to_metric_families

    port = free_port()
    args = [
        "--state-dir", str(tmp_path / "s"), "load", "keto",
        "--keto-read-url", honest.url, "--keto-write-url", honest.url, "--duration", "4s",
        "--warmup", "0s", "--concurrency", "2", "--metrics-port", str(port),
    ]  # fmt: skip
    proc = start_sandbox(tmp_path, *args, stdout=subprocess.PIPE)
    try:
        text = ""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            time.sleep(0.5)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                    text = r.read().decode()
            except OSError:
                continue
            if 'outcome="ok"' in text:
                break
        families = {f.name: f for f in text_string_to_metric_families(text)}
    finally:
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    requests = families["sandbox_load_requests"]
    ok = [
        s for s in requests.samples if s.labels.get("outcome") == "ok" and s.name.endswith("_total")
    ]
    assert ok and ok[0].labels["service"] == "keto" and ok[0].value > 0
    run_id = ok[0].labels["run_id"]
    assert f"(run {run_id})" in out
    assert "sandbox_load_latency_seconds" in families


def test_plot_draws_throughput_and_latency(tmp_path: Path, honest: FakeKeto) -> None:
    pytest.importorskip("matplotlib", reason="--plot needs the `plot` extra (matplotlib)")
    png = tmp_path / "load.png"
    done = _load(
        tmp_path, honest, "--duration", "2s", "--warmup", "1s", "--concurrency", "2",
        "--plot", str(png),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"plot written to {png}" in done.stderr
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (900, 600)
