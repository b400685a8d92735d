"""An application's tests against the IAM sandbox.

    pytest -p sandbox.pytest examples/pytest      # brings the sandbox up, and down at the end

Each test asks for `iam_sandbox`: one stack for the whole run, reused when one is already
healthy.
"""

import httpx


def test_a_service_gets_an_active_token(iam_sandbox):
    client = iam_sandbox.hydra_client()
    seen = httpx.post(
        f"{iam_sandbox.hydra_admin_url}/admin/oauth2/introspect",
        data={"token": client.access_token},
    ).json()
    assert seen["active"] is True and seen["client_id"] == client.client_id


def test_a_user_logs_in(iam_sandbox):
    user = iam_sandbox.kratos_identity()
    me = httpx.get(
        f"{iam_sandbox.kratos_public_url}/sessions/whoami",
        headers={"X-Session-Token": user.session_token},
    ).json()
    assert me["identity"]["id"] == user.id


def test_only_viewers_may_read(iam_sandbox):
    iam_sandbox.keto.write("documents", "report-1", "viewer", "user:alice")
    assert iam_sandbox.keto.check("documents", "report-1", "viewer", "user:alice")
    assert not iam_sandbox.keto.check("documents", "report-1", "viewer", "user:bob")


def test_the_identity_is_in_the_database(iam_sandbox):
    user = iam_sandbox.kratos_identity()
    with iam_sandbox.connect("kratos") as conn:
        row = conn.execute(
            "SELECT traits->>'email' FROM identities WHERE id = %s", (user.id,)
        ).fetchone()
    assert row == (user.email,)
