"""The pure core of `sandbox load`: mix, timetable, tallies, HDR totals, report and verdict."""

from __future__ import annotations

import asyncio

import pytest

from sandbox.load.engine import Plan, Recorder
from sandbox.load.ops import CONNECTION, TIMEOUT, HttpStatus, Kind, Op, WrongAnswer, classify
from sandbox.load.report import MEASURED, WARMUP, Aggregator, RunInfo, build_report
from sandbox.load.schedule import Mix, Timetable, is_late
from sandbox.load.stats import OpStats, Tally
from sandbox.load.text import progress_line, render

W = Op("keto.tuple.write", Kind.write)
A = Op("keto.check.allowed", Kind.read)
D = Op("keto.check.denied", Kind.read, positive=False)
OPS = {op.name: op for op in (W, A, D)}


def tally(ok: int = 0, positive: int | None = None, wrong: int = 0, late: int = 0,
          errors: dict[str, int] | None = None, lat: dict[int, int] | None = None,
          samples: list[str] | None = None) -> dict:  # fmt: skip
    return {
        "ok": ok,
        "positive": ok if positive is None else positive,
        "wrong": wrong,
        "late": late,
        "errors": errors or {},
        "latency_us": lat or {},
        "samples": samples or [],
    }


def info(measured_s: float = 10.0, max_error_rate: float = 0.0) -> RunInfo:
    return RunInfo(
        run_id="r1", workload="keto", mode="closed", concurrency=4, rate=None, processes=2,
        duration_s=9.5, warmup_s=2.0, measured_s=measured_s, read_ratio=100, deny_share=0.1,
        hydra_token="opaque", max_error_rate=max_error_rate,
    )  # fmt: skip


# -- mix and timetable --------------------------------------------------------------------------


def test_mix_writes_first_then_every_read_ratio_reads() -> None:
    mix = Mix(read_ratio=3)
    pattern = [mix.next_is_write(have_entities=True) for _ in range(9)]
    assert pattern == [False, False, False, True, False, False, False, True, False]
    assert Mix(read_ratio=3).next_is_write(have_entities=False) is True


def test_mix_spreads_denied_reads_evenly() -> None:
    mix = Mix(read_ratio=100, deny_share=0.25)
    assert [mix.next_read_denied() for _ in range(8)] == [False, False, False, True] * 2
    none = Mix(read_ratio=100, deny_share=0.0)
    assert not any(none.next_read_denied() for _ in range(50))


def test_timetable_gives_fixed_due_times_until_the_end() -> None:
    table = Timetable(start=100.0, rate=4.0, end=101.0)
    due = [table.take() for _ in range(5)]
    assert due == [100.0, 100.25, 100.5, 100.75, None]


def test_late_means_more_than_ten_milliseconds_after_due() -> None:
    assert not is_late(10.0, 10.009)
    assert is_late(10.0, 10.011)


def test_workers_are_split_over_processes() -> None:
    plan = Plan(run_id="x", services=("keto",), urls={}, duration_s=1, concurrency=7, processes=3)
    assert [plan.workers(i) for i in range(3)] == [3, 2, 2]


# -- outcomes -----------------------------------------------------------------------------------


def test_classify_errors_by_kind() -> None:
    import aiohttp

    assert classify(HttpStatus(503)) == "http 503"
    assert classify(TimeoutError()) == TIMEOUT
    assert classify(aiohttp.ServerTimeoutError("slow")) == TIMEOUT
    assert classify(ConnectionRefusedError()) == CONNECTION
    assert classify(aiohttp.ServerDisconnectedError()) == CONNECTION
    assert classify(KeyError("bug")) is None


def _attempt(rec: Recorder, op: Op, due: float, exc: BaseException | None) -> bool:
    async def call() -> bool:
        if exc is not None:
            raise exc
        return True

    return asyncio.run(rec.attempt(op, due, call))


def test_recorder_files_each_outcome_under_its_phase() -> None:
    now = Recorder.now()
    rec = Recorder(warmup_end=now, open_loop=False)
    assert _attempt(rec, A, now - 1, None) is True  # due before the warm-up ended
    assert _attempt(rec, A, now + 0.001, None) is True
    assert _attempt(rec, D, now + 0.001, WrongAnswer("check: allowed")) is False
    assert _attempt(rec, W, now + 0.001, HttpStatus(500)) is False
    assert _attempt(rec, W, now + 0.001, ConnectionResetError()) is False
    with pytest.raises(KeyError):
        _attempt(rec, W, now + 0.001, KeyError("a bug surfaces"))
    out = rec.flush()
    assert out[WARMUP][A.name]["ok"] == 1
    assert out[MEASURED][A.name]["ok"] == 1
    assert out[MEASURED][D.name]["wrong"] == 1
    assert out[MEASURED][D.name]["samples"] == ["check: allowed"]
    assert out[MEASURED][W.name]["errors"] == {"http 500": 1, "connection": 1}
    # an HTTP error has a latency (the service answered), a lost connection has none
    assert sum(out[MEASURED][W.name]["latency_us"].values()) == 1
    assert rec.flush() == {WARMUP: {}, MEASURED: {}}


def test_open_loop_counts_late_sends_and_latency_from_the_due_time() -> None:
    rec = Recorder(warmup_end=0.0, open_loop=True)
    due = Recorder.now() - 2.0  # due two seconds ago: queued behind a stall
    _attempt(rec, A, due, None)
    t = rec.flush()[MEASURED][A.name]
    assert t["late"] == 1
    [(us, n)] = t["latency_us"].items()
    assert n == 1 and 2_000_000 <= us < 2_500_000


# -- totals and report --------------------------------------------------------------------------


def test_opstats_percentiles_come_from_the_merged_histogram() -> None:
    a, b = OpStats(), OpStats()
    a.add(tally(ok=98, lat={1000: 98}))
    b.add(tally(ok=1, lat={100_000: 1}))
    b.add(tally(ok=1, lat={2_000_000: 1}))
    a.merge(b)
    lat = a.latency_ms()
    assert a.ok == 100
    assert lat["p50"] == pytest.approx(1.0, rel=1e-3)
    assert lat["p99"] == pytest.approx(100.0, rel=1e-3)
    assert lat["p99.9"] == pytest.approx(2000.0, rel=1e-3)
    assert lat["max"] == pytest.approx(2000.0, rel=1e-3)
    assert OpStats().latency_ms() == {
        "p50": 0.0, "p90": 0.0, "p99": 0.0, "p99.9": 0.0, "max": 0.0
    }  # fmt: skip


def test_tally_records_whole_microseconds() -> None:
    t = Tally()
    t.record(0.0015)
    t.record(0.0015, positive=False)
    t.record_wrong(0.0000001, "x")
    assert t.as_dict()["latency_us"] == {1500: 2, 1: 1}
    assert (t.ok, t.positive, t.wrong) == (2, 1, 1)


def _aggregated() -> Aggregator:
    agg = Aggregator(dict(OPS))
    # process 0 and process 1 both flush second 0 (warm-up) and second 2 (measured)
    agg.add_tick(0, {WARMUP: {W.name: tally(ok=5, lat={2000: 5})}, MEASURED: {}})
    agg.add_tick(0, {WARMUP: {A.name: tally(ok=50, lat={1000: 50})}, MEASURED: {}})
    agg.add_tick(2, {WARMUP: {}, MEASURED: {
        W.name: tally(ok=10, errors={"http 503": 1}, lat={3000: 11}),
        A.name: tally(ok=900, lat={1000: 890, 9000: 10}),
    }})  # fmt: skip
    agg.add_tick(2, {WARMUP: {}, MEASURED: {
        D.name: tally(ok=99, positive=0, wrong=1, late=4, lat={1000: 100},
                      samples=["check: allowed a subject that was never granted"]),
    }})  # fmt: skip
    return agg


def test_report_keeps_warmup_apart_and_fills_the_simulators_summary() -> None:
    report = build_report(info(), _aggregated(), {"keto.tuples": 15})
    rows = {r["operation"]: r for r in report.rows}
    assert rows["keto.tuple.write"]["count"] == 11
    assert rows["keto.tuple.write"]["errors"] == {"http 503": 1}
    assert rows["keto.check.allowed"]["throughput"] == 90.0
    assert rows["keto.check.allowed"]["latency_ms"]["p50"] == 1.0
    assert rows["keto.check.denied"]["late"] == 4
    assert report.summary == {
        "duration_s": 10.0,
        "concurrency": 4,
        "checks_per_sec": 99.9,
        "mode": "LIVE",
        "active": 900,
        "inactive": 99,
        "writes": 10,
        "reads": 999,
        "read_write_ratio": 99.9,
        "failed_writes": 1,
        "failed_reads": 1,
        "late_sends": 4,
        "wrong_answers": 1,
        "errors": 1,
        "error_rate": round(2 / 1066, 6),
    }
    assert report.warmup == {"count": 55, "errors": 0, "wrong": 0}
    assert report.exit_code == 1
    assert report.verdict().startswith("FAIL: 1 wrong answer(s), error rate 0.1876%")
    assert [row["t"] for row in report.timeline] == [0, 2]
    assert report.timeline[1]["phase"] == MEASURED
    keto = report.timeline[1]["services"]["keto"]
    assert (keto["attempts"], keto["ok"], keto["errors"], keto["wrong"]) == (1011, 1009, 1, 1)


def test_a_busy_generator_is_called_out() -> None:
    busy = build_report(info(), _aggregated(), {}, generator={"processes": 1, "cpu_s": 9.1,
                                                               "busy": 0.91})  # fmt: skip
    calm = build_report(info(), _aggregated(), {}, generator={"processes": 2, "cpu_s": 4.0,
                                                               "busy": 0.2})  # fmt: skip
    assert busy.generator_bound() and not calm.generator_bound()
    assert busy.as_dict()["generator"]["may_be_the_limit"] is True
    assert "generator: 1 process(es), 9.10 s CPU in the measured window, 91% of a core each" in (
        render(busy)
    )
    assert "warning: the generator was nearly CPU-bound" in render(busy)
    assert "warning" not in render(calm)


def test_error_rate_within_the_limit_passes_but_a_wrong_answer_never_does() -> None:
    agg = Aggregator(dict(OPS))
    agg.add_tick(0, {WARMUP: {}, MEASURED: {A.name: tally(ok=99, errors={"timeout": 1})}})
    assert build_report(info(max_error_rate=0.01), agg, {}).exit_code == 0
    assert build_report(info(max_error_rate=0.009), agg, {}).exit_code == 1
    agg.add_tick(1, {WARMUP: {D.name: tally(wrong=1)}, MEASURED: {}})  # even in the warm-up
    assert build_report(info(max_error_rate=1.0), agg, {}).exit_code == 1


def test_progress_line_and_table() -> None:
    agg = _aggregated()
    row = agg.seconds[2]
    assert progress_line(row) == "[   3s measured] keto 1011/s p99 3.0ms | err 1 wrong 1 late 4"
    text = render(build_report(info(), agg, {"keto.tuples": 15}, None))
    assert (
        "keto.check.allowed  900    900  0            0      0     90.0   1.00    1.00    9.01"
        in text
    )
    assert "Read/Write ratio  99.9:1" in text
    assert "Checks/sec        99.9" in text
    assert "created: keto.tuples 15" in text
    assert "wrong answer in keto.check.denied: check: allowed a subject that was never granted" in (
        text
    )
    assert text.endswith(
        "FAIL: 1 wrong answer(s), error rate 0.1876% over --max-error-rate 0.0000%"
    )
