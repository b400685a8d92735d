"""The fixture's helpers in a real inner pytest session, against REAL Ory servers.

Hydra v2.3.0, Kratos v1.3.1 and Keto v0.13.0-alpha.0 built from their Go modules
(scripts/prepare-ory.sh) run as local processes with the configs the sandbox renders, on
Debian's PostgreSQL with TLS from the sandbox's PKI (see tests/support/ory.py). The inner
session finds them through the integration guide's variables (`--iam-sandbox-from-env`), as a
CI job would for a stack started in an earlier step.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.model.topology import Topology
from sandbox.pki.layout import CertLayout
from tests.support import ory

pytest_plugins = ["pytester"]
pytestmark = ory.real_ory_marks()

INNER = """
import uuid

import httpx
import pytest


def test_hydra_client_with_a_token(iam_sandbox):
    client = iam_sandbox.hydra_client()
    seen = httpx.post(
        f"{iam_sandbox.hydra_admin_url}/admin/oauth2/introspect",
        data={"token": client.access_token},
    ).json()
    assert seen["active"] is True and seen["client_id"] == client.client_id
    assert client.access_token not in repr(client) and client.client_secret not in repr(client)


def test_kratos_identity_with_a_session(iam_sandbox):
    who = iam_sandbox.kratos_identity()
    resp = httpx.get(
        f"{iam_sandbox.kratos_public_url}/sessions/whoami",
        headers={"X-Session-Token": who.session_token},
    )
    assert resp.status_code == 200
    assert resp.json()["identity"]["id"] == who.id
    assert resp.json()["identity"]["traits"]["email"] == who.email
    assert who.password not in repr(who) and who.session_token not in repr(who)


def test_keto_tuples(iam_sandbox):
    keto = iam_sandbox.keto
    doc = f"doc-{uuid.uuid4().hex[:8]}"
    keto.write("documents", doc, "owner", "user:maureen")
    keto.write("documents", doc, "viewer", f"documents:{doc}#owner")
    keto.write("documents", doc, "viewer", "user:alice")
    assert keto.check("documents", doc, "viewer", "user:alice") is True
    assert keto.check("documents", doc, "viewer", "user:maureen") is True
    assert keto.check("documents", doc, "viewer", "user:bob") is False
    keto.delete("documents", doc, "owner", "user:maureen")
    assert keto.check("documents", doc, "viewer", "user:maureen") is False


def test_sql_as_ory_over_verify_full(iam_sandbox):
    client = iam_sandbox.hydra_client()
    with iam_sandbox.connect("hydra") as conn:
        assert conn.info.pgconn.ssl_in_use and "sslmode=verify-full" in conn.info.dsn
        assert conn.info.user == "ory" and conn.info.dbname == "hydra"
        rows = conn.execute(
            "SELECT id FROM hydra_client WHERE id = %s", (client.client_id,)
        ).fetchall()
    assert rows == [(client.client_id,)]
    with pytest.raises(ValueError, match="database must be one of hydra, kratos, keto"):
        iam_sandbox.connect("postgres")
"""


@pytest.fixture(scope="module")
def stack(session_pki: tuple[Topology, CertLayout]) -> Iterator[ory.OryStack]:
    with ory.on_postgres(*session_pki) as running:
        yield running


def test_helpers_against_real_ory(
    stack: ory.OryStack, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in stack.env().items():
        monkeypatch.setenv(key, value)
    pytester.makepyfile(test_inner=INNER)
    result = pytester.runpytest("-p", "sandbox.pytest", "--iam-sandbox-from-env")
    result.assert_outcomes(passed=4)
    assert ory.DB_PASSWORD not in result.stdout.str()


def test_the_readme_example_passes(
    stack: ory.OryStack, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in stack.env().items():
        monkeypatch.setenv(key, value)
    example = Path(__file__).parents[2] / "examples" / "pytest" / "test_with_iam_sandbox.py"
    pytester.makepyfile(test_example=example.read_text())
    result = pytester.runpytest("-p", "sandbox.pytest", "--iam-sandbox-from-env")
    result.assert_outcomes(passed=4)
