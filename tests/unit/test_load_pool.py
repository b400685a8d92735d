"""The Ory database pool setting and where it lands: every Ory DSN, never a libpq URL."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sandbox.cli.load import parse_duration
from sandbox.config.settings import Settings
from sandbox.errors import BadInput
from sandbox.model.topology import Topology
from sandbox.render import ory


def test_default_pool_is_in_every_rendered_dsn() -> None:
    topology = Topology(Settings())
    assert ory.dsn(topology, "keto") == (
        "cockroach://ory@crdb:26257/keto?sslmode=verify-full&sslrootcert=/etc/sandbox/ca.crt"
        "&max_conns=16&max_idle_conns=16"
    )
    for name, cfg in ory.configs(topology).items():
        assert cfg["dsn"].endswith("&max_conns=16&max_idle_conns=16"), name
    secrets = ory.OrySecrets(
        "pw", "s" * 16, "d" * 16, "c" * 16, "x" * 32, "su-pw", "repl-pw", "ui-ck", "ui-csrf"
    )
    envs = ory.secret_env(topology, secrets)
    assert set(envs) == {"hydra", "kratos", "keto", "ui"}
    for name in ("hydra", "kratos", "keto"):
        assert envs[name]["DSN"].endswith("&max_conns=16&max_idle_conns=16"), name
    # the login UI has no database, so no DSN
    assert envs["ui"] == {"COOKIE_SECRET": "ui-ck", "CSRF_COOKIE_SECRET": "ui-csrf"}


def test_pool_can_be_tuned_or_left_to_ory() -> None:
    tuned = Topology(Settings(db_pool={"max_conns": 32, "max_idle_conns": 8,
                                       "max_conn_lifetime": "30m"}))  # fmt: skip
    assert ory.dsn(tuned, "hydra").endswith("&max_conns=32&max_idle_conns=8&max_conn_lifetime=30m")
    ory_default = Topology(Settings(db_pool={"max_conns": None, "max_idle_conns": None}))
    assert ory.dsn(ory_default, "hydra").endswith("sslrootcert=/etc/sandbox/ca.crt")
    libpq = ory.dsn(Topology(Settings()), "hydra", "pw", scheme="postgresql", pool=False)
    assert "max_conns" not in libpq


@pytest.mark.parametrize(
    ("pool", "message"),
    [
        ({"max_conns": 0}, "greater than or equal to 1"),
        ({"max_conns": 4, "max_idle_conns": 8}, "max_idle_conns (8) exceeds max_conns (4)"),
        ({"max_conn_lifetime": "forever"}, "expected a duration such as 30s"),
        ({"max_conns_typo": 4}, "Extra inputs are not permitted"),
    ],
)
def test_bad_pool_settings_are_refused(pool: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings(db_pool=pool)


def test_durations() -> None:
    assert parse_duration("90", "--duration") == 90.0
    assert parse_duration("1.5m", "--duration") == 90.0
    assert parse_duration("500ms", "--warmup") == 0.5
    with pytest.raises(BadInput, match=r"--warmup: '5 sec' is not a duration"):
        parse_duration("5 sec", "--warmup")
