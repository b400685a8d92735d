"""The SQL checks' comparisons and rendering, on rows shaped like the real schemas'."""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg
import pytest

from sandbox.checks import keto, sql
from sandbox.checks.http import CheckFailed
from sandbox.checks.run import Run
from sandbox.checks.targets import Targets
from sandbox.checks.verify import explain

HASH = "$pbkdf2-sha256$i=25000,l=32$c2FsdA$aGFzaA"


def test_render_inlines_quoted_literals() -> None:
    text = sql.render(
        "WHERE a = %(a)s AND b = %(b)s AND c = %(c)s", {"a": "it's", "b": 3, "c": None}
    )
    assert text == "WHERE a = 'it''s' AND b = 3 AND c = NULL"


def test_hydra_client_accepts_hashed_secret_and_jsonb_or_text_grants() -> None:
    row = {"client_secret": HASH, "grant_types": ["client_credentials"]}
    assert "pbkdf2-sha256" in sql.check_hydra_client([row], "c1", "plain-secret")
    text_row = {"client_secret": HASH, "grant_types": '["client_credentials"]'}
    sql.check_hydra_client([text_row], "c1", "plain-secret")
    legacy = {"client_secret": HASH, "grant_types": "client_credentials"}
    sql.check_hydra_client([legacy], "c1", "plain-secret")


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        ([], "0 rows"),
        ([{"client_secret": "", "grant_types": []}], "empty"),
        ([{"client_secret": "s3cret", "grant_types": ["client_credentials"]}], "plain text"),
        ([{"client_secret": "abcdef", "grant_types": ["client_credentials"]}], "does not look"),
        ([{"client_secret": HASH, "grant_types": ["implicit"]}], "grant_types is ['implicit']"),
    ],
)
def test_hydra_client_failures(rows: list[dict[str, Any]], reason: str) -> None:
    with pytest.raises(CheckFailed, match=reason.replace("[", r"\[")):
        sql.check_hydra_client(rows, "c1", "s3cret")


def test_token_signature_is_hashed_like_hydra_v2() -> None:
    hashed, plain = sql.token_signatures("ory_at_KEYPART.SIGPART")
    assert plain == "SIGPART"
    assert hashed == hashlib.sha384(b"SIGPART").hexdigest()


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        ([], "0 rows"),
        ([{"client_id": "other", "active": True, "request_id": "r"}], "client_id 'other'"),
        ([{"client_id": "c1", "active": False, "request_id": "r"}], "active is False"),
        ([{"client_id": "c1", "active": True, "request_id": ""}], "no request_id"),
    ],
)
def test_hydra_access_failures(rows: list[dict[str, Any]], reason: str) -> None:
    with pytest.raises(CheckFailed, match=reason):
        sql.check_hydra_access(rows, "c1")


def _run(query: Any) -> Run:
    return Run(run_id="r1", targets=Targets({}, {}), http=None, query=query)  # type: ignore[arg-type]


def test_hydra_access_falls_back_to_the_plain_signature_and_masks_it() -> None:
    seen: list[str] = []

    def query(db: str, statement: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        seen.append(params["signature"])
        if params["signature"] == "SIGPART":
            return [{"client_id": "c1", "active": True, "request_id": "r"}]
        return []

    run = _run(query)
    run.facts.update(access_token="ory_at_KEY.SIGPART", client_id="c1")
    sql.hydra_access(run)
    assert seen == [hashlib.sha384(b"SIGPART").hexdigest(), "SIGPART"]
    assert "SIGPART" not in run.redact("\n".join(run.statements()))


TRAITS = {"email": "a@example.org", "name": {"first": "A", "last": "B"}}


def _identity_row(**over: Any) -> dict[str, Any]:
    row = {
        "traits": TRAITS,
        "credential_type": "password",
        "identifier": "a@example.org",
        "credential_config": {"hashed_password": "$2a$12$abcdefghijklmnopqrstuv"},
    }
    return {**row, **over}


def test_identity_passes_on_hashed_password() -> None:
    assert "2a" in sql.check_identity([_identity_row()], TRAITS, "a@example.org", "pw-123456")


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"traits": {**TRAITS, "email": "x@y.z"}}, "traits differ"),
        ({"credential_type": "oidc"}, "no password credential"),
        ({"credential_config": {"hashed_password": "pw-123456"}}, "plain password is stored"),
        ({"credential_config": {}}, "no password hash"),
        ({"identifier": "other@example.org"}, "is not an identifier"),
    ],
)
def test_identity_failures(row: dict[str, Any], reason: str) -> None:
    with pytest.raises(CheckFailed, match=reason):
        sql.check_identity([_identity_row(**row)], TRAITS, "a@example.org", "pw-123456")


def test_identity_without_rows_fails() -> None:
    with pytest.raises(CheckFailed, match="no row"):
        sql.check_identity([], TRAITS, "a@example.org", "pw")


def _keto_rows(run: Run) -> list[dict[str, Any]]:
    rows = []
    for t in keto.tuples(run):
        s = t.get("subject_set") or {}
        rows.append(
            {
                **{k: t[k] for k in ("namespace", "object", "relation")},
                "subject_id": t.get("subject_id"),
                "subject_set_namespace": s.get("namespace"),
                "subject_set_object": s.get("object"),
                "subject_set_relation": s.get("relation"),
            }
        )
    return rows


@pytest.mark.parametrize(("data_type", "table"), [("uuid", "keto_uuid_mappings"), ("text", None)])
def test_keto_tuples_choose_the_query_by_schema(data_type: str, table: str | None) -> None:
    def query(db: str, statement: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        if statement == sql.KETO_OBJECT_TYPE:
            return [{"data_type": data_type}]
        expected = sql.KETO_TUPLES_MAPPED if data_type == "uuid" else sql.KETO_TUPLES_PLAIN
        assert statement == expected
        return _keto_rows(run)

    run = _run(query)
    run.facts["tuples"] = keto.tuples(run)
    assert "3 tuples match" in sql.keto_tuples(run)
    shown = "\n".join(run.statements())
    assert ("keto_uuid_mappings" in shown) == (table is not None)


def test_keto_tuples_report_missing_and_extra() -> None:
    run = _run(None)
    rows = _keto_rows(run)
    extra = {**rows[0], "subject_id": "user:bob"}
    with pytest.raises(CheckFailed) as info:
        sql.check_tuples([*rows[1:], extra], keto.tuples(run))
    assert "missing ['documents:doc-r1#viewer@user:alice']" in str(info.value)
    assert "unexpected ['documents:doc-r1#viewer@user:bob']" in str(info.value)


def test_keto_table_missing() -> None:
    run = _run(lambda *a: [])
    run.facts["tuples"] = []
    with pytest.raises(CheckFailed, match="does not exist"):
        sql.keto_tuples(run)


def test_sql_errors_are_explained_with_their_sqlstate() -> None:
    exc = psycopg.errors.UndefinedTable('relation "hydra_client" does not exist\nLINE 2: ...')
    assert explain(exc, 5).startswith("SQL error")
    assert 'relation "hydra_client" does not exist' in explain(exc, 5)
    assert "LINE 2" not in explain(exc, 5)
