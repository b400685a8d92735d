"""The pytest plugin's parts without Docker: activation, the handle from the environment, port
blocks, the failure text, and which services count as healthy."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.ci import ports
from sandbox.ci.session import _anything_exists, failure_text
from sandbox.probes import port_is_free
from sandbox.runtime.base import ServiceStatus
from tests.support.squat import squat

pytest_plugins = ["pytester"]

GUIDE_VARIABLES = {
    "HYDRA_PUBLIC_URL": "http://127.0.0.1:4444",
    "HYDRA_ADMIN_URL": "http://127.0.0.1:4445",
    "KRATOS_PUBLIC_URL": "http://127.0.0.1:4433",
    "KRATOS_ADMIN_URL": "http://127.0.0.1:4434",
    "KETO_READ_REMOTE": "http://127.0.0.1:4466",
    "KETO_WRITE_REMOTE": "http://127.0.0.1:4467",
    "DATABASE_URL": "cockroach://ory:s3cret-pw@localhost:26257/defaultdb"
    "?sslmode=verify-full&sslrootcert=/certs/ca.crt&max_conns=5",
}

USES_FIXTURE = """
def test_uses(iam_sandbox):
    assert iam_sandbox is not None
"""


def test_off_unless_asked(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(USES_FIXTURE)
    plain = pytester.runpytest()
    plain.assert_outcomes(errors=1)
    plain.stdout.fnmatch_lines(["*fixture 'iam_sandbox' not found*"])
    assert "iam_sandbox" not in pytester.runpytest("--fixtures").stdout.str()
    for asked in (["--iam-sandbox"], ["-p", "sandbox.pytest"]):
        listed = pytester.runpytest(*asked, "--fixtures").stdout.str()
        assert "iam_sandbox [session scope]" in listed, asked


def test_the_entry_point_adds_the_options(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(USES_FIXTURE)
    blocked = pytester.runpytest("-p", "no:sandbox.pytest", "--iam-sandbox")
    assert blocked.ret == pytest.ExitCode.USAGE_ERROR
    blocked.stderr.fnmatch_lines(["*unrecognized arguments: --iam-sandbox*"])


def test_handle_from_the_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in GUIDE_VARIABLES.items():
        monkeypatch.setenv(key, value)
    pytester.makepyfile(
        """
        from pathlib import Path

        def test_endpoints(iam_sandbox):
            assert iam_sandbox.hydra_admin_url == "http://127.0.0.1:4445"
            assert iam_sandbox.keto_write_remote == "http://127.0.0.1:4467"
            assert iam_sandbox.ca_path == Path("/certs/ca.crt")
            assert iam_sandbox.database_urls["kratos"] == (
                "postgresql://ory:s3cret-pw@localhost:26257/kratos"
                "?sslmode=verify-full&sslrootcert=/certs/ca.crt"
            )
            assert iam_sandbox.env["KETO_DATABASE_URL"].endswith("/keto?sslmode=verify-full"
                                                                  "&sslrootcert=/certs/ca.crt")
            assert "s3cret-pw" not in repr(iam_sandbox)
        """
    )
    pytester.runpytest("-p", "sandbox.pytest", "--iam-sandbox-from-env").assert_outcomes(passed=1)


def test_port_block_keeps_the_default_digits() -> None:
    block = ports.port_block(21000)
    assert block == {
        "sql": 21257,
        "node_sql": [21258, 21259, 21260],
        "node_http": [21080, 21081, 21082],
        "hydra_public": 21444,
        "hydra_admin": 21445,
        "kratos_public": 21433,
        "kratos_admin": 21434,
        "keto_read": 21466,
        "keto_write": 21467,
        "ui": 21455,
    }
    env = ports.as_env(block)
    assert env["SANDBOX_PORTS__NODE_SQL"] == "[21258, 21259, 21260]"
    assert env["SANDBOX_PORTS__KETO_WRITE"] == "21467"


def test_claims_are_exclusive_until_their_owner_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ports, "BASES", (21000, 22000))
    monkeypatch.setattr(ports, "port_is_free", lambda port: True)  # whatever else runs here
    claims = tmp_path / "claims"
    owner_a, owner_b = tmp_path / "a.json", tmp_path / "b.json"
    owner_a.write_text("{}")
    owner_b.write_text("{}")
    first = ports.claim_block(claims, owner_a)
    second = ports.claim_block(claims, owner_b)
    assert {first, second} == {21000, 22000}
    with pytest.raises(RuntimeError, match="every base in 21000-22000 is taken"):
        ports.claim_block(claims, owner_b)
    owner_a.unlink()  # that run is over: its claim is stale
    assert ports.claim_block(claims, owner_b) == first
    ports.release_block(claims, second)
    assert ports.claim_block(claims, owner_b) == second


def test_a_block_with_a_busy_port_is_not_claimed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = next(
        b
        for b in range(20000, 32000, 1000)
        if all(map(port_is_free, ports.flat(ports.port_block(b))))
    )
    monkeypatch.setattr(ports, "BASES", (base,))
    owner = tmp_path / "owner"
    owner.write_text("{}")
    with squat(base + 445), pytest.raises(RuntimeError, match="no free block"):
        ports.claim_block(tmp_path / "claims", owner)
    assert list((tmp_path / "claims").iterdir()) == [], "the failed claim was withdrawn"


def test_failure_text_is_the_stage_and_the_error_onwards() -> None:
    stderr = "\n".join(
        [
            "• pre-flight ...",
            "✓ pre-flight (1.0s)",
            "• migrations done ...",
            "✗ migrations done (3.2s)",
            "error: stage 'migrations done' failed (hydra-migrate): exited with code 1",
            "--- last 2 log lines of hydra-migrate ---",
            "level=error msg=could not apply migrations",
            "hint: `sandbox logs hydra-migrate` shows more",
        ]
    )
    assert failure_text(stderr, 1).splitlines() == [
        "`sandbox up` failed (exit 1) at stage 'migrations done'",
        "error: stage 'migrations done' failed (hydra-migrate): exited with code 1",
        "--- last 2 log lines of hydra-migrate ---",
        "level=error msg=could not apply migrations",
        "hint: `sandbox logs hydra-migrate` shows more",
    ]
    assert failure_text("boom", 2) == "`sandbox up` failed (exit 2)\nboom"


@pytest.mark.parametrize(
    ("state", "health", "problem"),
    [
        ("running", "", None),
        ("running", "healthy", None),
        ("exited", "completed", None),
        ("running", "starting", "starting"),
        ("running", "unhealthy", "unhealthy"),
        ("exited", "failed (1)", "failed (1)"),
        ("exited", "", "exited"),
        ("missing", "", "missing"),
        ("failed", "starting", "failed"),
    ],
)
def test_which_services_are_healthy(state: str, health: str, problem: str | None) -> None:
    assert ServiceStatus("svc", state, health).problem() == problem


def test_anything_exists_reads_wait_json() -> None:
    assert _anything_exists('{"services": [{"state": "missing"}, {"state": "running"}]}')
    assert not _anything_exists('{"services": [{"state": "missing"}]}')
    assert not _anything_exists("not json")
