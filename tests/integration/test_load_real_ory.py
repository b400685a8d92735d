"""`sandbox load` against REAL Ory servers on a real PostgreSQL, through the real CLI.

The servers are the suite's (tests/support/ory.py: hydra v2.3.0, kratos v1.3.1, keto
v0.13.0-alpha.0 built from their Go modules, on a TLS PostgreSQL from Debian's packages). For
each workload: no wrong answer, every acknowledged write is a row found by SQL afterwards, and
the table and the JSON report of the same run agree. `--cleanup` leaves none of the run's rows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sandbox.model.topology import Topology
from sandbox.pki.layout import CertLayout
from tests.support import ory
from tests.support.cli import run_sandbox
from tests.support.load_counts import load_counts

pytestmark = ory.real_ory_marks()


@dataclass
class Live:
    stack: ory.OryStack

    def rows(self, database: str, sql: str, like: str) -> int:
        import psycopg
        from psycopg.rows import dict_row

        with psycopg.connect(self.stack.database_urls[database], row_factory=dict_row) as conn:
            row = conn.execute(sql, {"like": like}).fetchone()
        assert row is not None
        return int(row["n"])

    def counts(self, run_id: str) -> dict[str, int]:
        return load_counts(self.stack.database_urls, run_id)


@pytest.fixture(scope="module")
def live(session_pki: tuple[Topology, CertLayout]) -> Iterator[Live]:
    with ory.on_postgres(*session_pki) as stack:
        yield Live(stack)


def load(live: Live, tmp_path: Path, *args: str) -> tuple[dict[str, Any], str, str]:
    """Run `sandbox load ARGS` with the integration guide's variables; (JSON report, table,
    stderr)."""
    report = tmp_path / "report.json"
    done = run_sandbox(
        tmp_path,
        *("--state-dir", str(tmp_path / "none"), "load", *args, "--report", str(report)),
        env=live.stack.urls,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(report.read_text()), done.stdout, done.stderr


def table_rows(table: str) -> dict[str, list[str]]:
    """operation -> its cells, from the table's operation section."""
    rows = {}
    for line in table.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells and re.match(r"^(hydra|kratos|keto)\.", cells[0]):
            rows[cells[0]] = cells
    return rows


def assert_table_matches_json(table: str, report: dict[str, Any]) -> None:
    rows = table_rows(table)
    assert set(rows) == {r["operation"] for r in report["operations"]}
    for r in report["operations"]:
        cells = rows[r["operation"]]
        assert cells[1:3] == [str(r["count"]), str(r["ok"])]
        assert cells[4:6] == [str(r["wrong"]), str(r["late"])]
        assert float(cells[6]) == pytest.approx(r["throughput"], abs=0.051)
        assert float(cells[9]) == pytest.approx(r["latency_ms"]["p99"], abs=0.006)
    summary = report["summary"]
    for label, key in (("Reads", "reads"), ("Writes", "writes"), ("Active", "active")):
        assert re.search(rf"^{label}\s+{summary[key]}$", table, re.M), label
    assert f"(run {report['run_id']})" in table


def assert_clean_run(report: dict[str, Any], ops: set[str]) -> None:
    assert {r["operation"] for r in report["operations"]} == ops
    assert report["summary"]["wrong_answers"] == 0
    assert report["summary"]["errors"] == 0
    for r in report["operations"]:
        assert r["ok"] > 0, r
        assert r["latency_ms"]["p50"] > 0
    assert report["summary"]["reads"] > report["summary"]["writes"] > 0


def test_hydra_tokens_introspect_active_and_every_write_is_a_row(
    live: Live, tmp_path: Path
) -> None:
    report, table, stderr = load(
        live, tmp_path, "hydra", "--duration", "5s", "--warmup", "1s", "--concurrency", "8",
        "--read-ratio", "50",
    )  # fmt: skip
    assert_clean_run(report, {"hydra.client.create", "hydra.token.issue", "hydra.token.introspect"})
    assert report["summary"]["active"] == report["summary"]["reads"]
    found = live.counts(report["run_id"])
    assert found["hydra.clients"] == report["created"]["hydra.clients"] > 0
    assert found["hydra.tokens"] == report["created"]["hydra.tokens"] > 0
    assert_table_matches_json(table, report)
    assert re.search(
        r"^\[\s+\d+s measured\] hydra \d+/s p99 [\d.]+ms \| err 0 wrong 0", stderr, re.M
    )


def test_kratos_whoami_and_lookups_return_the_registered_identity(
    live: Live, tmp_path: Path
) -> None:
    report, table, _ = load(
        live, tmp_path, "kratos", "--duration", "5s", "--warmup", "2s", "--concurrency", "8",
        "--read-ratio", "50",
    )  # fmt: skip
    assert_clean_run(report, {"kratos.register", "kratos.whoami", "kratos.identity.get"})
    found = live.counts(report["run_id"])
    assert found["kratos.identities"] == report["created"]["kratos.identities"] > 0
    assert_table_matches_json(table, report)


def test_keto_written_tuples_allowed_others_denied(live: Live, tmp_path: Path) -> None:
    report, table, _ = load(
        live, tmp_path, "keto", "--duration", "5s", "--warmup", "1s", "--concurrency", "8",
        "--read-ratio", "50", "--deny-share", "0.25",
    )  # fmt: skip
    assert_clean_run(report, {"keto.tuple.write", "keto.check.allowed", "keto.check.denied"})
    ops = {r["operation"]: r for r in report["operations"]}
    assert report["summary"]["inactive"] == ops["keto.check.denied"]["ok"]
    reads = report["summary"]["reads"]
    assert ops["keto.check.denied"]["ok"] == pytest.approx(reads * 0.25, abs=8)
    found = live.counts(report["run_id"])
    assert found["keto.tuples"] == report["created"]["keto.tuples"] > 0
    assert_table_matches_json(table, report)


def test_all_with_jwt_two_processes_and_cleanup_leaves_no_row(live: Live, tmp_path: Path) -> None:
    report, table, _ = load(
        live, tmp_path, "all", "--duration", "3s", "--warmup", "2s", "--concurrency", "6",
        "--processes", "2", "--hydra-token", "jwt", "--read-ratio", "20", "--cleanup",
    )  # fmt: skip
    assert report["summary"]["wrong_answers"] == 0
    assert report["settings"]["processes"] == 2
    created = report["created"]
    assert set(created) == {"hydra.clients", "hydra.tokens", "kratos.identities", "keto.tuples"}
    assert all(n > 0 for n in created.values())
    assert report["removed"] == {
        "hydra": created["hydra.clients"],
        "kratos": created["kratos.identities"],
        "keto": created["keto.tuples"],
    }
    assert live.counts(report["run_id"]) == {
        "hydra.clients": 0,
        "hydra.tokens": 0,
        "kratos.identities": 0,
        "keto.tuples": 0,
    }
    assert_table_matches_json(table, report)
