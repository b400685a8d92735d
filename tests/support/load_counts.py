"""What a `sandbox load` run wrote, found by its run id with SQL of our own: the independent
count that acknowledged writes are held to."""

from __future__ import annotations

from collections.abc import Mapping

# What the run wrote, found by its run id. Hydra deletes a client's tokens with the client.
CLIENTS = "SELECT count(*) AS n FROM hydra_client WHERE client_name LIKE %(like)s"
TOKENS = """\
SELECT count(*) AS n FROM hydra_oauth2_access a JOIN hydra_client c ON c.id = a.client_id
WHERE c.client_name LIKE %(like)s"""
IDENTITIES = "SELECT count(*) AS n FROM identities WHERE traits->>'email' LIKE %(like)s"
TUPLES = """\
SELECT count(*) AS n FROM keto_relation_tuples t JOIN keto_uuid_mappings o ON o.id = t.object
WHERE t.namespace = 'documents' AND o.string_representation LIKE %(like)s"""


def _rows(url: str, sql: str, like: str) -> int:
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(url, row_factory=dict_row, connect_timeout=10) as conn:
        row = conn.execute(sql, {"like": like}).fetchone()
    assert row is not None
    return int(row["n"])


def load_counts(database_urls: Mapping[str, str], run_id: str) -> dict[str, int]:
    """Rows of the run per kind, read through each database's URL (as `ory`)."""
    return {
        "hydra.clients": _rows(database_urls["hydra"], CLIENTS, f"sandbox-load-{run_id}-%"),
        "hydra.tokens": _rows(database_urls["hydra"], TOKENS, f"sandbox-load-{run_id}-%"),
        "kratos.identities": _rows(database_urls["kratos"], IDENTITIES, f"%.load-{run_id}-%"),
        "keto.tuples": _rows(database_urls["keto"], TUPLES, f"load-{run_id}-%"),
    }
