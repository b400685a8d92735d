"""A failed stage shows the lines that explain it, not the stack trace at the end of the log."""

from __future__ import annotations

from pathlib import Path

from sandbox.plan.evidence import evidence_block, explaining_lines

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MIGRATION_LOG = FIXTURES / "hydra-migrate-v26.2.0-failed.log"
"""Written from the shape of a real Ory v26.2.0 migration failure: JSON records, the error
record with its SQLSTATE 166 lines above the end, then a Go stack trace for every cause."""


def test_failed_v26_migration_shows_its_sqlstate_error() -> None:
    log = MIGRATION_LOG.read_text()
    block = evidence_block("hydra-migrate", log).splitlines()
    assert block[0] == "--- log lines of hydra-migrate that explain the failure ---"
    assert len(block) == 2
    assert '"level":"error"' in block[1]
    assert (
        'ERROR: index \\"hydra_oauth2_access_client_id_idx\\" is in use as a foreign key '
        "constraint (SQLSTATE 2BP01)"
    ) in block[1]
    assert "20220210000001000009_nid" in block[1]
    # What the old block (the last 25 lines) showed instead: only the stack trace.
    tail = "\n".join(log.splitlines()[-25:])
    assert "SQLSTATE" not in tail and "runtime.goexit" in tail


def test_text_records_first_error_line_and_sqlstate_in_log_order() -> None:
    log = "\n".join(
        [
            "time=1 level=info msg=starting",
            "time=2 level=info msg=connecting",
            "pq: ERROR: relation already exists",
            "time=3 level=warning msg=retrying error=timeout",
            "detail: (SQLSTATE 42P07)",
            "time=4 level=error msg=giving up",
            "time=5 level=info msg=exiting",
            "goroutine 1 [running]:",
        ]
    )
    found = explaining_lines(log)
    assert found.matched
    assert found.lines == [
        "pq: ERROR: relation already exists",
        "detail: (SQLSTATE 42P07)",
        "time=4 level=error msg=giving up",
    ]


def test_falls_back_to_the_tail_when_nothing_matches() -> None:
    log = "\n".join(f"line {i}" for i in range(1, 41))
    block = evidence_block("crdb-init", log).splitlines()
    assert block[0] == "--- last 25 log lines of crdb-init ---"
    assert block[1] == "line 16" and block[-1] == "line 40"


def test_long_lines_are_clipped() -> None:
    found = explaining_lines('{"level":"error","msg":"' + "x" * 2000 + '"}')
    assert len(found.lines[0]) == 604 and found.lines[0].endswith(" ...")
