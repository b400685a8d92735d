"""`sandbox verify --junit` and the GitHub step summary, through the real CLI, against REAL Ory
servers on PostgreSQL (see tests/support/ory.py); read back with junitparser and validated
against the Jenkins junit-10.xsd from pytest's sdist (scripts/prepare-junit-xsd.sh)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from junitparser import Failure, JUnitXml

from sandbox.model.topology import Topology
from sandbox.pki.layout import CertLayout
from tests.support import ory
from tests.support.ci import junit_xsd
from tests.support.cli import run_sandbox

pytestmark = [
    *ory.real_ory_marks(),
    pytest.mark.skipif(
        junit_xsd() is None, reason="junit-10.xsd not fetched: run scripts/prepare-junit-xsd.sh"
    ),
]
SQL_CHECKS = [
    "sql.hydra_client",
    "sql.hydra_oauth2_access",
    "sql.identities",
    "sql.keto_relation_tuples",
]


@pytest.fixture(scope="module")
def stack(session_pki: tuple[Topology, CertLayout]) -> Iterator[ory.OryStack]:
    with ory.on_postgres(*session_pki) as running:
        yield running


def verify(tmp_path: Path, env: dict[str, str]) -> tuple[int, JUnitXml, str]:
    report, summary = tmp_path / "reports" / "verify.xml", tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    github = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    args = ("--state-dir", str(tmp_path / "none"), "verify", "--junit", str(report))
    done = run_sandbox(tmp_path, *args, env={**env, **github}, timeout=180)
    import xmlschema

    xmlschema.XMLSchema(str(junit_xsd())).validate(str(report))
    return done.returncode, JUnitXml.fromfile(str(report)), summary.read_text()


def test_every_check_is_a_passing_testcase(stack: ory.OryStack, tmp_path: Path) -> None:
    code, xml, summary = verify(tmp_path, stack.env())
    assert code == 0
    (suite,) = list(xml)
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (29, 0, 0, 0)
    cases = {case.name: case for case in suite}
    assert all(case.is_passed for case in cases.values())
    assert cases["kratos.login"].classname == "sandbox.verify.kratos"
    assert "FROM hydra_client" in (cases["sql.hydra_client"].system_out or "")
    assert "JOIN identity_credentials" in (cases["sql.identities"].system_out or "")
    assert cases["kratos.login"].system_out is None
    text = xml.tostring().decode()
    assert ory.DB_PASSWORD not in text and "ory_st_" not in text and "ory_at_" not in text
    assert summary.startswith("earlier step\n### sandbox verify: all checks passed: 29 passed")
    assert "| kratos | `kratos.login` | ✅ pass |" in summary


def test_a_failing_check_is_a_failure_with_its_reason(stack: ory.OryStack, tmp_path: Path) -> None:
    env = stack.env()
    env["DATABASE_URL"] = env["DATABASE_URL"].replace(
        ory.DB_PASSWORD.replace("/", "%2F").replace(":", "%3A").replace("@", "%40"), "wrong-pw"
    )
    assert "wrong-pw" in env["DATABASE_URL"]
    code, xml, summary = verify(tmp_path, env)
    assert code == 1
    (suite,) = list(xml)
    assert (suite.tests, suite.failures, suite.skipped) == (29, 4, 0)
    failed = {case.name: case.result[0] for case in suite if not case.is_passed}
    assert sorted(failed) == SQL_CHECKS
    for name, result in failed.items():
        assert isinstance(result, Failure), name
        assert 'password authentication failed for user "ory"' in (result.message or ""), name
    assert "wrong-pw" not in xml.tostring().decode()
    assert "| sql | `sql.hydra_client` | ❌ **fail** |" in summary
