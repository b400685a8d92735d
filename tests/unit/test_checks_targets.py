"""Where verify points: defaults < state < env < flags, and database URL handling."""

from __future__ import annotations

import pytest

from sandbox.checks.targets import libpq_url, mask_password, resolve, with_database

CA = "sslmode=verify-full&sslrootcert=/ca.crt"


def test_later_layers_win_key_by_key() -> None:
    targets = resolve(
        [
            ("defaults", {"HYDRA_ADMIN_URL": "http://a:1", "KETO_READ_REMOTE": "http://k:1"}),
            ("state", {"HYDRA_ADMIN_URL": "http://a:2"}),
            ("env", {"HYDRA_ADMIN_URL": "http://a:3/", "KETO_READ_REMOTE": ""}),
            ("flag", {}),
        ]
    )
    assert targets.urls == {"HYDRA_ADMIN_URL": "http://a:3", "KETO_READ_REMOTE": "http://k:1"}
    assert targets.sources == {"HYDRA_ADMIN_URL": "env", "KETO_READ_REMOTE": "defaults"}


def test_one_database_url_fans_out_to_the_three_databases() -> None:
    targets = resolve([("flag", {"DATABASE_URL": f"postgresql://ory:pw@db:26257/defaultdb?{CA}"})])
    assert targets.database_urls == {
        db: f"postgresql://ory:pw@db:26257/{db}?{CA}" for db in ("hydra", "kratos", "keto")
    }


def test_per_database_url_beats_the_same_layers_database_url() -> None:
    layer = {
        "DATABASE_URL": f"postgresql://ory@db/x?{CA}",
        "KETO_DATABASE_URL": f"postgresql://ory@other/keto?{CA}",
    }
    targets = resolve([("env", layer)])
    assert targets.database_urls["keto"] == f"postgresql://ory@other/keto?{CA}"
    assert targets.database_urls["hydra"] == f"postgresql://ory@db/hydra?{CA}"


def test_a_later_database_url_beats_earlier_per_database_urls() -> None:
    targets = resolve(
        [
            ("state", {"HYDRA_DATABASE_URL": f"postgresql://ory:s@state/hydra?{CA}"}),
            ("flag", {"DATABASE_URL": f"postgresql://ory:f@flag/any?{CA}"}),
        ]
    )
    assert targets.database_urls["hydra"] == f"postgresql://ory:f@flag/hydra?{CA}"
    assert targets.sources["HYDRA_DATABASE_URL"] == "flag"


def test_ory_dsn_becomes_a_libpq_url() -> None:
    dsn = f"cockroach://ory:p%40ss@crdb:26257/hydra?{CA}&max_conns=20&max_idle_conns=4"
    assert libpq_url(dsn) == f"postgresql://ory:p%40ss@crdb:26257/hydra?{CA}"


def test_non_postgres_url_is_refused_without_showing_the_password() -> None:
    with pytest.raises(ValueError, match="not a PostgreSQL") as info:
        libpq_url("mysql://ory:hunter2@db/hydra")
    assert "hunter2" not in str(info.value)


def test_mask_password_and_public_view() -> None:
    url = f"postgresql://ory:s3cr3t@localhost:26257/hydra?{CA}"
    assert mask_password(url) == f"postgresql://ory:***@localhost:26257/hydra?{CA}"
    assert mask_password("postgresql://ory@h/db") == "postgresql://ory@h/db"
    targets = resolve([("env", {"HYDRA_DATABASE_URL": url})])
    assert "s3cr3t" not in str(targets.public())


def test_with_database_keeps_everything_but_the_path() -> None:
    assert (
        with_database(f"postgresql://u:p@h:1/a?{CA}", "keto") == f"postgresql://u:p@h:1/keto?{CA}"
    )
