"""A real PostgreSQL accepts the sandbox's PKI exactly as CockroachDB must.

The server runs with `crdb-1`'s node certificate and requires client certificates mapped to the
SQL user (`hostssl ... cert clientcert=verify-full`); psycopg connects with `verify-full`.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from sandbox.model.topology import Topology
from sandbox.pki.layout import CertLayout
from sandbox.pki.store import ensure_pki
from tests.support.postgres import Server, postgres_bin

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        postgres_bin() is None,
        reason="PostgreSQL server not installed (scripts/test.sh installs it)",
    ),
]


@pytest.fixture(scope="module")
def server(cert_postgres: Server) -> Server:
    cert_postgres.psql("CREATE USER ory")
    return cert_postgres


def connect(
    server: Server,
    layout: CertLayout,
    *,
    user: str = "ory",
    host: str = "localhost",
    ca: Path | None = None,
    cert_user: str | None = None,
) -> psycopg.Connection:
    cert_user = cert_user or user
    client = layout.client_dir(cert_user)
    return psycopg.connect(
        host=host,
        hostaddr="127.0.0.1",
        port=server.port,
        dbname="postgres",
        user=user,
        sslmode="verify-full",
        sslrootcert=str(ca or client / "ca.crt"),
        sslcert=str(client / f"client.{cert_user}.crt"),
        sslkey=str(client / f"client.{cert_user}.key"),
        connect_timeout=5,
    )


@pytest.mark.parametrize(
    "host", ["localhost", "crdb", "crdb-1", "crdb.iam-sandbox.svc.cluster.local"]
)
def test_ory_connects_with_verify_full(
    server: Server, session_pki: tuple[Topology, CertLayout], host: str
) -> None:
    _, layout = session_pki
    with connect(server, layout, host=host) as conn:
        row = conn.execute(
            "select current_user, ssl from pg_stat_ssl "
            "join pg_stat_activity using (pid) where pid = pg_backend_pid()"
        ).fetchone()
    assert row == ("ory", True)


def test_foreign_ca_fails(
    server: Server, session_pki: tuple[Topology, CertLayout], tmp_path: Path
) -> None:
    topology, layout = session_pki
    foreign = CertLayout(tmp_path / "foreign")
    ensure_pki(topology, foreign)
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        connect(server, layout, ca=foreign.ca_cert)


def test_host_outside_sans_fails(server: Server, session_pki: tuple[Topology, CertLayout]) -> None:
    _, layout = session_pki
    with pytest.raises(psycopg.OperationalError, match="does not match host name"):
        connect(server, layout, host="db.example.invalid")


def test_root_cert_cannot_log_in_as_ory(
    server: Server, session_pki: tuple[Topology, CertLayout]
) -> None:
    _, layout = session_pki
    with pytest.raises(psycopg.OperationalError, match="certificate authentication failed"):
        connect(server, layout, user="ory", cert_user="root")
