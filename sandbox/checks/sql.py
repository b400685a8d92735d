"""SQL checks: the rows behind what the APIs returned, read over verified TLS.

Each check runs fixed SQL with parameters and compares the rows with the facts the API checks
learned. `render` shows the exact statement with its parameters inlined, for demos.
Rows arrive as dicts through `run.query(database, sql, params)`, so the comparisons are pure.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from sandbox.checks import keto
from sandbox.checks.http import CheckFailed
from sandbox.checks.run import Run

SERVICE = "sql"

HYDRA_CLIENT = """\
SELECT id, client_secret, grant_types, token_endpoint_auth_method
FROM hydra_client
WHERE id = %(client_id)s"""

HYDRA_ACCESS = """\
SELECT signature, request_id, client_id, subject, active
FROM hydra_oauth2_access
WHERE signature = %(signature)s"""
"""Hydra v2 keys a token by the SHA-384 hex of its signature; older releases by the signature."""

KRATOS_IDENTITY = """\
SELECT i.id, i.traits, ct.name AS credential_type, ci.identifier, c.config AS credential_config
FROM identities i
JOIN identity_credentials c ON c.identity_id = i.id
JOIN identity_credential_types ct ON ct.id = c.identity_credential_type_id
LEFT JOIN identity_credential_identifiers ci ON ci.identity_credential_id = c.id
WHERE i.id = %(identity_id)s"""

KETO_OBJECT_TYPE = """\
SELECT data_type
FROM information_schema.columns
WHERE table_schema = current_schema()
  AND table_name = 'keto_relation_tuples' AND column_name = 'object'"""

KETO_TUPLES_MAPPED = """\
SELECT t.namespace, o.string_representation AS object, t.relation,
       s.string_representation AS subject_id, t.subject_set_namespace,
       so.string_representation AS subject_set_object, t.subject_set_relation
FROM keto_relation_tuples t
JOIN keto_uuid_mappings o ON o.id = t.object
LEFT JOIN keto_uuid_mappings s ON s.id = t.subject_id
LEFT JOIN keto_uuid_mappings so ON so.id = t.subject_set_object
WHERE t.namespace = %(namespace)s AND o.string_representation = %(object)s"""
"""Keto versions that store objects and subjects as UUIDs (v0.9 and later, checked on v0.13)."""

KETO_TUPLES_PLAIN = """\
SELECT t.namespace, t.object, t.relation, t.subject_id, t.subject_set_namespace,
       t.subject_set_object, t.subject_set_relation
FROM keto_relation_tuples t
WHERE t.namespace = %(namespace)s AND t.object = %(object)s"""
"""Keto schemas that keep strings in keto_relation_tuples itself."""

_PARAM = re.compile(r"%\((\w+)\)s")


def literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def render(sql: str, params: dict[str, Any]) -> str:
    """The statement as it could be pasted into `cockroach sql` or psql."""
    return _PARAM.sub(lambda m: literal(params[m.group(1)]), sql)


def _run(run: Run, database: str, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    run.record_sql(render(sql, params))
    return run.query(database, sql, params)


def _json(value: Any) -> Any:
    """jsonb arrives decoded; TEXT columns (older schemas) arrive as strings."""
    if isinstance(value, str | bytes):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _looks_hashed(value: str) -> bool:
    """PHC / modular crypt strings: $pbkdf2-sha256$..., $2a$..., $argon2id$..."""
    return value.startswith("$") and value.count("$") >= 3


def _scheme(value: str) -> str:
    return value.split("$")[1] if value.startswith("$") else "?"


# -- hydra_client -------------------------------------------------------------------------------


def check_hydra_client(rows: list[dict[str, Any]], client_id: str, secret: str) -> str:
    if len(rows) != 1:
        raise CheckFailed(f"hydra_client: {len(rows)} rows for client {client_id}, expected 1")
    row = rows[0]
    stored = str(row.get("client_secret") or "")
    if not stored:
        raise CheckFailed("hydra_client: client_secret is empty")
    if secret in stored:
        raise CheckFailed("hydra_client: the client secret is stored in plain text")
    if not _looks_hashed(stored):
        raise CheckFailed("hydra_client: client_secret does not look like a password hash")
    grants = _json(row.get("grant_types"))
    if isinstance(grants, str):
        grants = grants.split("|")
    if grants != ["client_credentials"]:
        raise CheckFailed(f"hydra_client: grant_types is {grants!r}, expected client_credentials")
    return f"secret hashed ({_scheme(stored)}), grant types {grants}"


def hydra_client(run: Run) -> str:
    cid = run.facts["client_id"]
    rows = _run(run, "hydra", HYDRA_CLIENT, {"client_id": cid})
    return check_hydra_client(rows, cid, run.facts["client_secret"])


# -- hydra_oauth2_access ------------------------------------------------------------------------


def token_signatures(token: str) -> tuple[str, str]:
    """(SHA-384 hex of the token's HMAC signature, the signature): what Hydra keys it by."""
    signature = token.rsplit(".", 1)[-1]
    return hashlib.sha384(signature.encode()).hexdigest(), signature


def check_hydra_access(rows: list[dict[str, Any]], client_id: str) -> str:
    if len(rows) != 1:
        raise CheckFailed(f"hydra_oauth2_access: {len(rows)} rows for the token, expected 1")
    row = rows[0]
    if row.get("client_id") != client_id:
        raise CheckFailed(
            f"hydra_oauth2_access: client_id {row.get('client_id')!r} != {client_id!r}"
        )
    if row.get("active") is not True:
        raise CheckFailed(f"hydra_oauth2_access: active is {row.get('active')!r}")
    if not row.get("request_id"):
        raise CheckFailed("hydra_oauth2_access: no request_id")
    return f"request {row['request_id']}, active"


def hydra_access(run: Run) -> str:
    hashed, plain = token_signatures(run.facts["access_token"])
    rows = _run(run, "hydra", HYDRA_ACCESS, {"signature": hashed})
    if not rows:  # a release that stores the signature itself; it is shown masked
        rows = _run(run, "hydra", HYDRA_ACCESS, {"signature": run.secret(plain)})
    return check_hydra_access(rows, run.facts["client_id"])


# -- identities ---------------------------------------------------------------------------------


def check_identity(
    rows: list[dict[str, Any]], traits: dict[str, Any], email: str, password: str
) -> str:
    if not rows:
        raise CheckFailed("identities: no row for the registered identity")
    if _json(rows[0].get("traits")) != traits:
        raise CheckFailed("identities: the stored traits differ from the registered ones")
    passwords = [r for r in rows if r.get("credential_type") == "password"]
    if not passwords:
        types = sorted({str(r.get("credential_type")) for r in rows})
        raise CheckFailed(f"identity_credentials: no password credential (types: {types})")
    for row in rows:
        for column, value in row.items():
            if password in json.dumps(_json(value), default=str):
                raise CheckFailed(f"{column}: the plain password is stored")
    config = _json(passwords[0].get("credential_config"))
    hashed = config.get("hashed_password") if isinstance(config, dict) else None
    if not isinstance(hashed, str) or not _looks_hashed(hashed):
        raise CheckFailed("identity_credentials: no password hash in the password credential")
    identifiers = {r.get("identifier") for r in passwords}
    if email not in identifiers:
        raise CheckFailed(f"identity_credential_identifiers: {email} is not an identifier")
    return f"traits match, password hashed ({_scheme(hashed)}), identifier {email}"


def kratos_identity(run: Run) -> str:
    from sandbox.checks.kratos import traits

    rows = _run(run, "kratos", KRATOS_IDENTITY, {"identity_id": run.facts["identity_id"]})
    return check_identity(rows, traits(run), run.email, run.facts["password"])


# -- keto_relation_tuples -----------------------------------------------------------------------


def tuple_labels(rows: list[dict[str, Any]]) -> set[str]:
    labels = set()
    for r in rows:
        t: dict[str, Any] = {k: r.get(k) for k in ("namespace", "object", "relation")}
        if r.get("subject_id") is not None:
            t["subject_id"] = r["subject_id"]
        else:
            t["subject_set"] = {
                "namespace": r.get("subject_set_namespace"),
                "object": r.get("subject_set_object"),
                "relation": r.get("subject_set_relation"),
            }
        labels.add(keto.label(t))
    return labels


def check_tuples(rows: list[dict[str, Any]], written: list[dict[str, Any]]) -> str:
    found, wanted = tuple_labels(rows), {keto.label(t) for t in written}
    if found != wanted:
        missing, extra = sorted(wanted - found), sorted(found - wanted)
        parts = [f"missing {missing}" if missing else "", f"unexpected {extra}" if extra else ""]
        raise CheckFailed("keto_relation_tuples: " + "; ".join(p for p in parts if p))
    return f"{len(found)} tuples match"


def keto_tuples(run: Run) -> str:
    kinds = _run(run, "keto", KETO_OBJECT_TYPE, {})
    if not kinds:
        raise CheckFailed("keto_relation_tuples: the table does not exist (migrations not run?)")
    mapped = str(kinds[0].get("data_type", "")).lower() == "uuid"
    sql = KETO_TUPLES_MAPPED if mapped else KETO_TUPLES_PLAIN
    rows = _run(run, "keto", sql, {"namespace": keto.NAMESPACE, "object": run.document})
    note = check_tuples(rows, run.facts["tuples"])
    return note + (" (through keto_uuid_mappings)" if mapped else "")
