"""The snapshot archive: one zstd-compressed tar, read and written as a stream.

Members, in this order (a reader stops as soon as it has what it needs):

    manifest.json                  what the snapshot matches (`snapshot_key`), when, how big
    state/certs/..., state/secrets/...   the certificates and secrets the data was made with
    volumes/<member>.tar           each database member's data folder, as `docker cp` gives it

zstd (the `zstandard` library, level 3, all cores) keeps a save and a restore within seconds for
the few hundred MB of a migrated stack, several times faster than gzip at a similar ratio.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from sandbox.errors import BadInput

MANIFEST = "manifest.json"
STATE_PREFIX = "state/"
VOLUME_PREFIX = "volumes/"
STATE_DIRS = ("certs", "secrets")
"""What of the state directory a snapshot carries: Ory's encrypted columns need the same
secrets, the database users the same passwords, the clients the same CA."""
LEVEL = 3


@dataclass
class Manifest:
    key: str
    inputs: dict[str, str]
    created: float
    """Seconds since the epoch, when the snapshot was saved."""
    engine: str
    image_ids: dict[str, str] = field(default_factory=dict)
    """`images.<key>` -> the image ID it had when the snapshot was saved."""
    volumes: dict[str, str] = field(default_factory=dict)
    """Member -> the folder its data tar is copied into (the data folder's parent)."""
    sandbox_version: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    tar.addfile(info, io.BytesIO(data))


def write_archive(
    path: Path, manifest: Manifest, state_root: Path, volume_tars: dict[str, Path]
) -> int:
    """Write the archive atomically (0600: it holds the CA key and every secret); returns its
    size."""
    import zstandard

    from sandbox.state import SECRET_MODE, atomic_file

    with atomic_file(path, SECRET_MODE) as raw:
        compressor = zstandard.ZstdCompressor(level=LEVEL, threads=-1)
        with (
            compressor.stream_writer(raw, closefd=False) as stream,
            tarfile.open(fileobj=stream, mode="w|") as tar,
        ):
            _add_bytes(tar, MANIFEST, json.dumps(asdict(manifest), indent=2).encode())
            for name in STATE_DIRS:
                folder = state_root / name
                if folder.is_dir():
                    tar.add(folder, arcname=f"{STATE_PREFIX}{name}")
            for member, tar_path in volume_tars.items():
                tar.add(tar_path, arcname=f"{VOLUME_PREFIX}{member}.tar")
    return path.stat().st_size


@contextmanager
def _members(path: Path) -> Iterator[Iterator[tuple[tarfile.TarInfo, tarfile.TarFile]]]:
    import zstandard

    try:
        raw = path.open("rb")
    except OSError as exc:
        raise BadInput(f"{path}: cannot read the snapshot ({exc.strerror or exc})") from None
    with raw, zstandard.ZstdDecompressor().stream_reader(raw) as stream:
        try:
            with tarfile.open(fileobj=stream, mode="r|") as tar:
                yield ((info, tar) for info in tar)
        except (tarfile.TarError, zstandard.ZstdError) as exc:
            raise BadInput(f"{path}: not a sandbox snapshot ({exc})") from None


def read_manifest(path: Path) -> Manifest:
    with _members(path) as members:
        for info, tar in members:
            if info.name != MANIFEST:
                break
            handle = tar.extractfile(info)
            if handle is None:
                break
            try:
                return Manifest.from_json(json.loads(handle.read()))
            except (ValueError, TypeError) as exc:
                raise BadInput(f"{path}: its manifest is unreadable ({exc})") from None
    raise BadInput(f"{path}: not a sandbox snapshot (no {MANIFEST} first)")


def restore(
    path: Path,
    state_root: Path,
    volume: Callable[[str, IO[bytes]], None] | None,
    restore_state: bool = True,
) -> dict[str, int]:
    """Put the snapshot's state files under `state_root` (replacing `certs/` and `secrets/`)
    and hand each volume's tar to `volume(member, stream)` (None: stop before the volumes);
    returns the bytes per volume."""
    import shutil

    if restore_state:
        for name in STATE_DIRS:
            shutil.rmtree(state_root / name, ignore_errors=True)
    sizes: dict[str, int] = {}
    with _members(path) as members:
        for info, tar in members:
            if info.name.startswith(STATE_PREFIX):
                if not restore_state:
                    continue
                relative = info.name[len(STATE_PREFIX) :]
                if ".." in Path(relative).parts or Path(relative).is_absolute():
                    raise BadInput(f"{path}: unsafe path {info.name!r} in the snapshot")
                target = state_root / relative
                if info.isdir():
                    target.mkdir(mode=0o700, parents=True, exist_ok=True)
                    os.chmod(target, 0o700)
                elif info.isfile():
                    _write_member(tar, info, target)
            elif info.name.startswith(VOLUME_PREFIX) and info.isfile():
                if volume is None:
                    break
                member = info.name[len(VOLUME_PREFIX) :].removesuffix(".tar")
                handle = tar.extractfile(info)
                if handle is not None:
                    volume(member, handle)
                    sizes[member] = info.size
    return sizes


def _write_member(tar: tarfile.TarFile, info: tarfile.TarInfo, target: Path) -> None:
    from sandbox.state import write_atomic

    handle: IO[bytes] | None = tar.extractfile(info)
    if handle is None:
        return
    write_atomic(target, handle.read(), info.mode & 0o777)
