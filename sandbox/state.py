"""The state directory: everything one sandbox owns, in one place with tight modes.

Directories are 0700 and secret files 0600. Writes go through a temporary file and a rename,
so an interrupted run never leaves a half-written key or secret behind.
"""

from __future__ import annotations

import os
import secrets
import string
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sandbox.errors import BadInput

DEFAULT_STATE_DIR = Path(".sandbox")
DIR_MODE = 0o700
SECRET_MODE = 0o600
PUBLIC_MODE = 0o644
TARGET_FILE = "target"
"""In the state directory: the target the last `up` used, so later commands default to it."""


def unwritable(directory: Path, exc: OSError) -> BadInput:
    """An unusable folder is the user's input (--state-dir, --out), not a failure of ours."""
    return BadInput(f"{directory}: cannot create or write this directory ({exc.strerror or exc})")


def ensure_dir(path: Path, mode: int = DIR_MODE) -> Path:
    """Create `path` and any missing parents with `mode` (mkdir's umask would loosen them)."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    try:
        for directory in reversed(missing):
            directory.mkdir(mode=mode, exist_ok=True)
            os.chmod(directory, mode)
        if not missing:
            os.chmod(path, mode)
    except OSError as exc:
        raise unwritable(path, exc) from None
    return path


@contextmanager
def atomic_file(path: Path, mode: int, dir_mode: int = DIR_MODE) -> Iterator[BinaryIO]:
    """A file that appears at `path`, with `mode` from its start, only once the block ends
    well (a temporary file, fsync, then a rename); on any error nothing is left behind."""
    if dir_mode == DIR_MODE:
        ensure_dir(path.parent)
    try:
        if dir_mode != DIR_MODE:
            path.parent.mkdir(mode=dir_mode, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError as exc:
        raise unwritable(path.parent, exc) from None
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: bytes, mode: int, dir_mode: int = DIR_MODE) -> None:
    """Write `data` to `path` with `mode` set before the file becomes visible. Missing folders
    get `dir_mode` (0700 in the state directory; 0755 for a render folder meant to be shared)."""
    with atomic_file(path, mode, dir_mode) as handle:
        handle.write(data)


@dataclass(frozen=True)
class StateDir:
    root: Path

    @property
    def certs(self) -> Path:
        return self.root / "certs"

    @property
    def secrets_dir(self) -> Path:
        return self.root / "secrets"

    @property
    def rendered(self) -> Path:
        return self.root / "rendered"

    def create(self) -> StateDir:
        ensure_dir(self.root)
        return self

    def secret(self, name: str, length: int = 32) -> str:
        """A generated secret, created once, kept 0600 and reused on every later run."""
        path = self.secrets_dir / name
        if path.is_file():
            value = path.read_text(encoding="utf-8").strip()
            if len(value) >= length:
                return value
        alphabet = string.ascii_letters + string.digits
        value = "".join(secrets.choice(alphabet) for _ in range(length))
        write_atomic(path, value.encode(), SECRET_MODE)
        return value


@dataclass(frozen=True)
class OrySecrets:
    """Generated once per sandbox and kept in its state directory (see `StateDir.secret`)."""

    db_password: str
    hydra_system: str
    kratos_default: str
    kratos_cookie: str
    kratos_cipher: str  # exactly 32 characters
    db_superuser: str
    """The engine's superuser password, where its engine logs it in by password (Patroni)."""
    db_replication: str
    """The engine's replication password, where it has one (PostgreSQL)."""
    ui_cookie: str
    """The login UI's cookie-signing secret (`COOKIE_SECRET`)."""
    ui_csrf: str
    """The login UI's CSRF-cookie secret (`CSRF_COOKIE_SECRET`): its consent page needs it."""


def ory_secrets(state: StateDir) -> OrySecrets:
    """The stack's secrets for this sandbox (Ory's and the database's): made on first use,
    then reused."""
    return OrySecrets(
        db_password=state.secret("ory-db-password", 24),
        hydra_system=state.secret("hydra-secrets-system", 32),
        kratos_default=state.secret("kratos-secrets-default", 32),
        kratos_cookie=state.secret("kratos-secrets-cookie", 32),
        kratos_cipher=state.secret("kratos-secrets-cipher", 32)[:32],
        db_superuser=state.secret("db-superuser-password", 24),
        db_replication=state.secret("db-replication-password", 24),
        ui_cookie=state.secret("ui-cookie-secret", 32),
        ui_csrf=state.secret("ui-csrf-cookie-secret", 32),
    )
