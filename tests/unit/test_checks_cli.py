"""`sandbox verify` target resolution from the CLI's point of view: state, env, flags."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sandbox.cli.context import AppContext
from sandbox.cli.verify import resolve_targets


def _ctx(state: Path) -> AppContext:
    return AppContext(config=None, state_dir=state)


def test_without_a_state_dir_only_defaults_and_nothing_is_created(tmp_path: Path) -> None:
    state = tmp_path / "absent"
    targets = resolve_targets(_ctx(state), {}, {})
    assert targets.urls["HYDRA_ADMIN_URL"] == "http://127.0.0.1:4445"
    assert targets.database_urls == {}
    assert not state.exists()


def test_state_gives_database_urls_with_its_password(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (state / "secrets").mkdir(parents=True)
    (state / "secrets" / "ory-db-password").write_text("pw/with:chars" + "x" * 20)
    targets = resolve_targets(_ctx(state), {}, {})
    url = targets.database_urls["kratos"]
    assert url.startswith("postgresql://ory:pw%2Fwith%3Achars")
    assert "@localhost:26257/kratos?sslmode=verify-full&sslrootcert=" in url
    assert url.endswith("/certs/clients/ory/ca.crt")
    assert targets.sources["KRATOS_DATABASE_URL"] == "state"
    assert "pw%2Fwith" not in str(targets.public())


def test_state_without_a_password_does_not_invent_one(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    targets = resolve_targets(_ctx(state), {}, {})
    assert targets.database_urls["hydra"].startswith("postgresql://ory@localhost:")
    assert not (state / "secrets").exists()


def test_env_beats_state_and_flags_beat_env(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    env = {
        "HYDRA_ADMIN_URL": "http://127.0.0.1:1111",
        "KETO_READ_REMOTE": "http://127.0.0.1:2222",
        "DATABASE_URL": "postgresql://ory:e@127.0.0.1:5/x?sslmode=verify-full",
        "UNRELATED": "ignored",
    }
    flags = {"HYDRA_ADMIN_URL": "http://127.0.0.1:3333", "KETO_READ_REMOTE": None}
    targets = resolve_targets(_ctx(state), env, flags)
    assert targets.urls["HYDRA_ADMIN_URL"] == "http://127.0.0.1:3333"
    assert targets.urls["KETO_READ_REMOTE"] == "http://127.0.0.1:2222"
    assert targets.urls["KRATOS_PUBLIC_URL"] == "http://127.0.0.1:4433"
    assert targets.sources["HYDRA_ADMIN_URL"] == "flag"
    assert targets.database_urls["keto"].startswith("postgresql://ory:e@127.0.0.1:5/keto?")


def test_a_secret_file_keeps_its_mode(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (state / "secrets").mkdir(parents=True)
    secret = state / "secrets" / "ory-db-password"
    secret.write_text("p" * 24)
    os.chmod(secret, 0o600)
    resolve_targets(_ctx(state), {}, {})
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
