"""The shipped GitHub Actions workflow, linted by actionlint built from its Go module
(scripts/prepare-actionlint.sh): it passes, and deliberately broken copies fail."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.ci import ACTIONLINT_VERSION, actionlint

WORKFLOW = Path(__file__).parents[2] / ".github" / "workflows" / "sandbox.yml"
pytestmark = pytest.mark.skipif(
    actionlint() is None,
    reason=f"actionlint {ACTIONLINT_VERSION} not built: run scripts/prepare-actionlint.sh",
)


def lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(actionlint()), "-no-color", "-oneline", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_shipped_workflow_passes() -> None:
    done = lint(WORKFLOW)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""


def test_the_workflow_does_what_it_promises() -> None:
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["sandbox"]["steps"]
    runs = {s.get("name"): s for s in steps}
    assert runs["sandbox up"]["run"] == (
        'if [ -f "$SNAPSHOT" ]; then\n'
        '  sandbox up --export github --from-snapshot "$SNAPSHOT"\n'
        "else\n"
        "  sandbox up --export github\n"
        "fi\n"
    )
    assert runs["Restore the migrated snapshot"]["with"]["key"] == (
        "${{ steps.snapshot.outputs.key }}"
    )
    save = runs["Save a snapshot for the next runs (the cache stores it at the end of the job)"]
    assert save["if"] == "steps.snapshot-cache.outputs.cache-hit != 'true'"
    assert save["run"].startswith("sandbox snapshot save ci\n")
    assert runs["sandbox verify"]["run"].startswith("sandbox verify --junit reports/")
    assert runs["sandbox down"] == {
        "name": "sandbox down",
        "if": "always()",
        "run": "sandbox down --volumes",
    }
    assert runs["Upload the JUnit reports"]["if"] == "always()"
    assert "sandbox logs" in runs["Collect the logs"]["run"]
    assert runs["Upload the logs"]["if"] == "failure()"
    assert runs["Restore the images"]["uses"] == "actions/cache@v4"


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        (("path: reports/", "pathh: reports/"), 'input "pathh" is not defined'),
        (
            ("steps.image-cache.outputs.cache-hit == 'true'", "steps.nope.outputs.hit == 'true'"),
            'property "nope" is not defined',
        ),
        (("runs-on: ubuntu-24.04", "runs-on: [ubuntu-24.04"), "could not parse as YAML"),
    ],
)
def test_a_broken_copy_fails(tmp_path: Path, broken: tuple[str, str], expected: str) -> None:
    old, new = broken
    text = WORKFLOW.read_text()
    assert text.count(old) == 1
    copy = tmp_path / ".github" / "workflows" / "sandbox.yml"
    copy.parent.mkdir(parents=True)
    copy.write_text(text.replace(old, new))
    done = lint(copy)
    assert done.returncode == 1
    assert expected in done.stdout, done.stdout
