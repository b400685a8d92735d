"""CockroachDB's licence and diagnostics: what a v24.3+ cluster needs to stay unthrottled.

Since v24.3 a Free or Trial licence requires diagnostics reporting
(`pkg/server/license/enforcer.go`, `licenseRequiresTelemetry`): with reporting skipped the
cluster is throttled 7 days on even with a key. Only an Enterprise key works with it off. The
sandbox keeps diagnostics off unless `cockroach.diagnostics` turns them on, and says which
licences need that.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from sandbox.config.settings import Settings
from sandbox.model.topology import Topology
from sandbox.render import compose, k8s, ory

SECRETS = ory.OrySecrets(
    "pw", "sys", "default", "cookie", "c" * 32, "su-pw", "repl-pw", "ui-ck", "ui-csrf"
)
KEY = "crl-0-ABCDEFGH"


def topology(**cockroach: object) -> Topology:
    return Topology(Settings.model_validate({"cockroach": cockroach}))


def services(t: Topology) -> dict[str, Any]:
    text = compose.render_project(t, SECRETS).public["compose.yaml"]
    return yaml.safe_load(text)["services"]


def test_diagnostics_on_drops_the_skip_variable_on_compose_and_kubernetes() -> None:
    t = topology(diagnostics=True)
    assert "environment" not in services(t)["crdb-2"]
    (statefulset,) = k8s.manifests(t)["20-crdb-2.yaml"]
    (container,) = statefulset["spec"]["template"]["spec"]["containers"]
    assert container["env"] == []


def test_the_bootstrap_sets_diagnostics_to_match_the_setting() -> None:
    assert services(topology())["crdb-bootstrap"]["environment"] == {
        "SQL_HOST": "crdb:26257",
        "COCKROACH_DIAGNOSTICS": "false",
    }
    on = services(topology(diagnostics=True, organization="Acme Labs"))["crdb-bootstrap"]
    assert on["environment"] == {
        "SQL_HOST": "crdb:26257",
        "COCKROACH_DIAGNOSTICS": "true",
        "COCKROACH_ORGANIZATION": "Acme Labs",
    }


def test_the_kubernetes_bootstrap_job_gets_the_same_plain_settings() -> None:
    (job,) = k8s.manifests(topology(organization="Acme Labs"))["50-crdb-bootstrap.yaml"]
    env = job["spec"]["template"]["spec"]["containers"][0]["env"]
    plain = {e["name"]: e["value"] for e in env if "value" in e}
    assert plain == {
        "SQL_HOST": "crdb:26257",
        "COCKROACH_DIAGNOSTICS": "false",
        "COCKROACH_ORGANIZATION": "Acme Labs",
    }


def statements(t: Topology, env: dict[str, str], tmp_path: Path) -> list[str]:
    """The SQL the bootstrap script pipes into `cockroach sql`, by running the script with a
    `cockroach` stand-in that prints its standard input."""
    (shot,) = [s for s in t.engine.one_shots(t) if s.name == "crdb-bootstrap"]
    script = re.sub(r"/cockroach/cockroach sql [^)]*2>&1", "cat", shot.script)
    path = tmp_path / "bootstrap.sh"
    path.write_text(script)
    done = subprocess.run(
        ["/bin/sh", str(path)],
        env={"PATH": "/usr/bin:/bin", "ORY_PASSWORD": "pw", **shot.env, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return [line for line in done.stdout.splitlines() if line.startswith("SET CLUSTER")]


def test_the_organization_goes_before_the_key(tmp_path: Path) -> None:
    t = topology(license_key=KEY, organization="Acme Labs", diagnostics=True)
    assert statements(t, {"COCKROACH_LICENSE_KEY": KEY}, tmp_path) == [
        "SET CLUSTER SETTING diagnostics.reporting.enabled = true;",
        "SET CLUSTER SETTING cluster.organization = 'Acme Labs';",
        f"SET CLUSTER SETTING enterprise.license = '{KEY}';",
    ]


def test_without_a_key_only_diagnostics_are_set(tmp_path: Path) -> None:
    assert statements(topology(), {}, tmp_path) == [
        "SET CLUSTER SETTING diagnostics.reporting.enabled = false;",
    ]


@pytest.mark.parametrize(
    ("cockroach", "expected"),
    [
        ({}, ["no CockroachDB license key is set (cockroach.license_key)"]),
        (
            {"license_key": KEY},
            [
                "cockroach.license_key is set with cockroach.diagnostics off",
                "cockroach.license_key is set without cockroach.organization",
            ],
        ),
        (
            {"license_key": KEY, "organization": "Acme"},
            ["cockroach.license_key is set with cockroach.diagnostics off"],
        ),
        ({"license_key": KEY, "organization": "Acme", "diagnostics": True}, []),
    ],
)
def test_the_warnings_say_which_licences_need_diagnostics(
    cockroach: dict[str, object], expected: list[str]
) -> None:
    t = topology(**cockroach)
    warnings = t.engine.warnings(t)
    assert [w.split(":")[0] for w in warnings] == expected
    if cockroach.get("license_key") and not cockroach.get("diagnostics"):
        assert "Free or Trial license requires diagnostics reporting" in warnings[0]


def test_an_organization_with_a_quote_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match=r"cockroach\.organization"):
        Settings.model_validate({"cockroach": {"organization": "Acme's"}})
