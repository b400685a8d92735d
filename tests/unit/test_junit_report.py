"""`sandbox verify --junit` and the GitHub step summary, from hand-made reports.

The XML is read back with junitparser (a JUnit library) and validated against the Jenkins
junit-10.xsd shipped in pytest's source distribution (scripts/prepare-junit-xsd.sh).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from junitparser import Failure, JUnitXml, Skipped

from sandbox.checks.report import Check, Report, Result, junit_xml, markdown_summary
from tests.support.ci import junit_xsd

SQL = "SELECT id FROM hydra_client\nWHERE id = 'c-1';"


def report() -> Report:
    return Report(
        run_id="r1",
        checks=[
            Check("hydra.client.create", "hydra", Result.passed, 12.3456, "client c-1"),
            Check("kratos.login", "kratos", Result.failed, 40.0, "HTTP 400 from POST /login | bad"),
            Check("kratos.whoami", "kratos", Result.skipped, 0.0, "needs kratos.login"),
            Check("sql.hydra_client", "sql", Result.passed, 3.0, "1 row", sql=SQL),
        ],
    )


def write(tmp_path: Path) -> Path:
    path = tmp_path / "verify.xml"
    path.write_text(junit_xml(report(), "2026-11-23T00:00:00+00:00", "ci-host"))
    return path


def test_one_testcase_per_check_with_reason_and_sql(tmp_path: Path) -> None:
    xml = JUnitXml.fromfile(str(write(tmp_path)))
    suites = list(xml)
    assert len(suites) == 1
    suite = suites[0]
    assert (suite.name, suite.tests, suite.failures, suite.errors, suite.skipped) == (
        "sandbox verify",
        4,
        1,
        0,
        1,
    )
    assert suite.hostname == "ci-host" and suite.timestamp == "2026-11-23T00:00:00+00:00"
    cases = {case.name: case for case in suite}
    assert list(cases) == [
        "hydra.client.create",
        "kratos.login",
        "kratos.whoami",
        "sql.hydra_client",
    ]
    assert cases["hydra.client.create"].classname == "sandbox.verify.hydra"
    assert cases["hydra.client.create"].time == 0.012
    assert cases["hydra.client.create"].is_passed
    failed = cases["kratos.login"].result
    assert len(failed) == 1 and isinstance(failed[0], Failure)
    assert failed[0].message == "HTTP 400 from POST /login | bad"
    assert failed[0].text == "HTTP 400 from POST /login | bad"
    skipped = cases["kratos.whoami"].result
    assert isinstance(skipped[0], Skipped) and skipped[0].message == "needs kratos.login"
    assert cases["sql.hydra_client"].system_out == SQL
    assert cases["hydra.client.create"].system_out is None
    assert [(p.name, p.value) for p in suite.properties()] == [("run_id", "r1")]


@pytest.mark.skipif(
    junit_xsd() is None, reason="junit-10.xsd not fetched: run scripts/prepare-junit-xsd.sh"
)
def test_validates_against_the_junit_schema(tmp_path: Path) -> None:
    import xmlschema

    schema = xmlschema.XMLSchema(str(junit_xsd()))
    schema.validate(str(write(tmp_path)))
    broken = tmp_path / "broken.xml"
    broken.write_text(write(tmp_path).read_text().replace('name="kratos.login"', ""))
    with pytest.raises(xmlschema.XMLSchemaValidationError, match="name"):
        schema.validate(str(broken))


def test_markdown_summary_is_a_table_with_the_sql_folded() -> None:
    text = markdown_summary(report())
    lines = text.splitlines()
    assert lines[0] == (
        "### sandbox verify: verification FAILED: 2 passed, 1 failed, 1 skipped in 0.06s (run r1)"
    )
    assert lines[2:8] == [
        "| service | check | result | ms | detail |",
        "| --- | --- | --- | ---: | --- |",
        "| hydra | `hydra.client.create` | ✅ pass | 12 | client c-1 |",
        "| kratos | `kratos.login` | ❌ **fail** | 40 | HTTP 400 from POST /login \\| bad |",
        "| kratos | `kratos.whoami` | ⏭️ skip | 0 | needs kratos.login |",
        "| sql | `sql.hydra_client` | ✅ pass | 3 | 1 row |",
    ]
    assert "<details><summary>SQL behind the database checks</summary>" in lines
    assert "```sql\nSELECT id FROM hydra_client\nWHERE id = 'c-1';\n```" in text


def test_verify_that_cannot_start_still_writes_a_report(tmp_path: Path) -> None:
    """Nothing answers: the one-line error, and a report with one testcase in error."""
    from tests.support.cli import run_sandbox

    flags = [
        f"--{name}=http://127.0.0.1:9"
        for name in (
            "hydra-public-url",
            "hydra-admin-url",
            "kratos-public-url",
            "kratos-admin-url",
            "keto-read-url",
            "keto-write-url",
        )
    ]
    report = tmp_path / "out" / "verify.xml"
    args = ("--state-dir", str(tmp_path / "none"), "verify", *flags, "--junit", str(report))
    done = run_sandbox(tmp_path, *args)
    assert done.returncode == 1
    assert done.stderr.startswith("error: no Ory service answers (HYDRA_PUBLIC_URL=")
    (suite,) = list(JUnitXml.fromfile(str(report)))
    assert (suite.tests, suite.failures, suite.errors) == (1, 0, 1)
    (case,) = list(suite)
    assert (case.classname, case.name) == ("sandbox.verify", "verify.start")
    assert case.result[0].message.startswith("no Ory service answers (HYDRA_PUBLIC_URL=")
    if junit_xsd() is not None:
        import xmlschema

        xmlschema.XMLSchema(str(junit_xsd())).validate(str(report))
