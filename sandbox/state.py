"""The state directory: everything one sandbox owns, in one place with tight modes.

Directories are 0700 and secret files 0600. Writes go through a temporary file and a rename,
so an interrupted run never leaves a half-written key or secret behind.
"""

from __future__ import annotations

import os
import secrets
import string
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sandbox.errors import BadInput

if TYPE_CHECKING:
    from sandbox.render.ory import OrySecrets

DEFAULT_STATE_DIR = Path(".sandbox")
DIR_MODE = 0o700
SECRET_MODE = 0o600
PUBLIC_MODE = 0o644


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


def write_atomic(path: Path, data: bytes, mode: int, dir_mode: int = DIR_MODE) -> None:
    """Write `data` to `path` with `mode` set before the file becomes visible. Missing folders
    get `dir_mode` (0700 in the state directory; 0755 for a render folder meant to be shared)."""
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
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


def ory_secrets(state: StateDir) -> OrySecrets:
    """The Ory services' secrets for this sandbox: made on first use, then reused."""
    from sandbox.render.ory import OrySecrets

    return OrySecrets(
        db_password=state.secret("ory-db-password", 24),
        hydra_system=state.secret("hydra-secrets-system", 32),
        kratos_default=state.secret("kratos-secrets-default", 32),
        kratos_cookie=state.secret("kratos-secrets-cookie", 32),
        kratos_cipher=state.secret("kratos-secrets-cipher", 32)[:32],
    )
