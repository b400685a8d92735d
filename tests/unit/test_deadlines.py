"""`--timeout` is a promise: `sandbox wait` and the stages of `up` poll until a deadline, and
never past it. On a fake clock, so the test asserts the sequence of looks and sleeps rather
than a wall-clock time: each look and each sleep moves the clock by a known amount."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import sandbox.cli.wait
import sandbox.plan.wait
import sandbox.runtime
from sandbox.plan.wait import Deadline, StageFailed, poll
from sandbox.runtime.base import ServiceStatus


class FakeClock:
    """Stands in for the `time` module of the code under test: `sleep` only moves the clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


HEALTHY = [ServiceStatus("crdb-1", "running", "healthy"), ServiceStatus("hydra", "running", "")]
HYDRA_EXITED = [HEALTHY[0], ServiceStatus("hydra", "exited", "")]


class SlowDriver:
    """A target whose every status look costs 0.25 s on the clock; records when it was asked."""

    target = "compose"

    def __init__(self, clock: FakeClock, answers: list[list[ServiceStatus]]) -> None:
        self.clock = clock
        self.answers = answers
        self.asked_at: list[float] = []

    def status(self) -> list[ServiceStatus]:
        self.asked_at.append(self.clock.now)
        self.clock.now += 0.25
        return self.answers[min(len(self.asked_at), len(self.answers)) - 1]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(sandbox.cli.wait, "time", fake)
    monkeypatch.setattr(sandbox.plan.wait, "time", fake)
    return fake


def run_wait(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, driver: SlowDriver, *args: str
) -> int:
    from sandbox.cli import main

    monkeypatch.setenv("SANDBOX_TIMEOUTS__POLL_INTERVAL", "0.5")
    monkeypatch.setattr(sandbox.runtime, "get_driver", lambda target, ctx: driver)
    argv = ["sandbox", "--state-dir", str(tmp_path / "s"), "wait", *args]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exited:
        main()
    return int(exited.value.code or 0)


def test_wait_looks_until_the_timeout_and_never_sleeps_past_it(
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    driver = SlowDriver(clock, [HYDRA_EXITED])
    code = run_wait(monkeypatch, tmp_path, driver, "--timeout", "2", "--output", "json")
    assert code == 1
    # A look every poll interval (0.5 s) after the last one ended. After the look that ends at
    # 1.75 s, another (0.25 s, as the last took) would end on the deadline: none is taken.
    assert driver.asked_at == [0.0, 0.75, 1.5]
    assert clock.sleeps == [0.5, 0.5]
    assert clock.now == 1.75
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert (report["healthy"], report["waited_s"]) == (False, 1.8)
    assert report["unhealthy"] == {"hydra": "exited"}
    assert err == "error: not healthy within 2s: hydra (exited)\n"


def test_wait_stops_at_the_first_healthy_look(
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    driver = SlowDriver(clock, [HYDRA_EXITED, HEALTHY])
    assert run_wait(monkeypatch, tmp_path, driver, "--timeout", "60") == 0
    assert driver.asked_at == [0.0, 0.75]
    assert clock.sleeps == [0.5]
    assert capsys.readouterr().err == "all 2 services healthy (compose, 1.0s)\n"


def test_a_zero_timeout_looks_once(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    driver = SlowDriver(clock, [HYDRA_EXITED])
    assert run_wait(monkeypatch, tmp_path, driver, "--timeout", "0") == 1
    assert driver.asked_at == [0.0]
    assert clock.sleeps == []


def test_poll_sleeps_the_interval_then_only_what_is_left_and_blames_the_first_waited_for(
    clock: FakeClock,
) -> None:
    looks: list[float] = []

    def check() -> dict[str, str]:
        looks.append(clock.now)
        return {"crdb-2": "ready", "crdb-3": "ready"}

    with pytest.raises(StageFailed) as failed:
        poll(check, Deadline.after(1.25), 0.5, "nodes ready")
    assert looks == [0.0, 0.5, 1.0, 1.25]
    assert clock.sleeps == [0.5, 0.5, 0.25]
    assert failed.value.service == "crdb-2"
    assert failed.value.message == (
        "stage 'nodes ready' failed (crdb-2): timed out waiting for crdb-2 ready, crdb-3 ready"
    )


def test_poll_returns_at_the_first_look_with_nothing_to_wait_for(clock: FakeClock) -> None:
    answers = [{"hydra": "healthy"}, {}]
    poll(lambda: answers.pop(0), Deadline.after(10), 0.5, "services ready")
    assert answers == [] and clock.sleeps == [0.5]


def test_a_spent_deadline_refuses_to_start_a_stage(clock: FakeClock) -> None:
    deadline = Deadline.after(4)
    deadline.require("migrations", ["hydra-migrate", "kratos-migrate"])  # time left: goes on
    clock.now = 4.0
    with pytest.raises(StageFailed) as failed:
        deadline.require("migrations", ["hydra-migrate", "kratos-migrate"])
    assert failed.value.service == "hydra-migrate"
    assert failed.value.message == (
        "stage 'migrations' failed (hydra-migrate): "
        "timed out before starting hydra-migrate, kratos-migrate"
    )
