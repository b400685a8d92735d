"""Find or fetch a pinned tool binary: one mechanism for kind, helm, kubectl and eksctl.

    toolbox = Toolbox(settings.tools)
    kind = toolbox.ensure("kind")          # a path to an executable at the pinned release

A binary on PATH is used when its version is acceptable (see `ToolSpec.minor_skew`).
Otherwise the release asset for this platform is downloaded into the cache, its SHA-256 is
checked against the pin in the settings (or, without one, the release's published checksum
file), the binary is marked executable and put in place with one rename. A download that fails
or does not match leaves nothing behind. The cache keeps a `.sha256` of each binary beside it,
so a cached file that changed since it was checked is fetched again rather than run.
"""

from __future__ import annotations

import hashlib
import io
import os
import platform
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from sandbox.config.tools import ToolPin, Tools
from sandbox.errors import BadInput, SandboxError
from sandbox.tools.specs import SPECS, ToolSpec

_OS = {"linux": "linux", "darwin": "darwin"}
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
_MAX_CHECKSUM_FILE = 1 << 20


def current_platform() -> tuple[str, str]:
    """(os, arch) in release-asset spelling: linux|darwin, amd64|arm64."""
    system, machine = platform.system().lower(), platform.machine().lower()
    if system not in _OS or machine not in _ARCH:
        raise BadInput(
            f"tools: no release binaries for {system}/{machine} (linux or darwin, amd64 or arm64)"
        )
    return _OS[system], _ARCH[machine]


def default_cache_dir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "iam-sandbox" / "tools"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def parse_checksums(text: str, file_name: str) -> str | None:
    """The hex digest for `file_name` in a `sha256sum`-style file, or a lone digest."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if len(lines) == 1 and len(lines[0]) == 1:
        candidate = lines[0][0].lower()
        return candidate if _is_hex64(candidate) else None
    for fields in lines:
        if len(fields) >= 2 and fields[-1].lstrip("*").rsplit("/", 1)[-1] == file_name:
            candidate = fields[0].lower()
            return candidate if _is_hex64(candidate) else None
    return None


def _triple(version: str) -> tuple[int, int, int] | None:
    match = re.match(r"v?(\d+)\.(\d+)\.(\d+)", version)
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def _is_hex64(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


class Toolbox:
    """The pinned tools of one sandbox: located on PATH or fetched into the cache."""

    def __init__(
        self,
        tools: Tools,
        *,
        cache_dir: Path | None = None,
        search_path: str | None = None,
        target_platform: tuple[str, str] | None = None,
        timeout: float = 120.0,
        notify: Callable[[str], None] | None = None,
        specs: dict[str, ToolSpec] | None = None,
    ) -> None:
        self.tools = tools
        self.cache_dir = cache_dir or (
            Path(tools.cache_dir).expanduser() if tools.cache_dir else default_cache_dir()
        )
        self.search_path = search_path
        self._platform = target_platform
        self.timeout = timeout
        self.notify = notify or (lambda _message: None)
        self.specs = specs or SPECS

    # -- what is pinned -------------------------------------------------------------------

    def spec(self, name: str) -> ToolSpec:
        if name not in self.specs:
            raise BadInput(f"tools: unknown tool {name!r} (known: {', '.join(self.specs)})")
        return self.specs[name]

    def pin(self, name: str) -> ToolPin:
        pin = getattr(self.tools, name, None)
        if not isinstance(pin, ToolPin):
            raise BadInput(f"tools.{name}: no pinned version in the settings")
        return pin

    @property
    def platform(self) -> tuple[str, str]:
        if self._platform is None:
            self._platform = current_platform()
        return self._platform

    def cached_path(self, name: str) -> Path:
        os_name, arch = self.platform
        return self.cache_dir / name / self.pin(name).version / f"{os_name}-{arch}" / name

    def urls(self, name: str) -> tuple[str, str]:
        """(asset URL, checksum file URL) of `name` for this platform."""
        spec, pin = self.spec(name), self.pin(name)
        os_name, arch = self.platform
        base = pin.base_url or spec.base
        return (
            spec.url(spec.asset, base, pin.version, os_name, arch),
            spec.url(spec.checksums, base, pin.version, os_name, arch),
        )

    # -- finding ----------------------------------------------------------------------------

    def acceptable(self, name: str, found: tuple[int, int, int]) -> bool:
        spec = self.spec(name)
        wanted = _triple(self.pin(name).version)
        if wanted is None:
            return False
        if spec.minor_skew is None:
            return found == wanted
        return found[0] == wanted[0] and abs(found[1] - wanted[1]) <= spec.minor_skew

    def on_path(self, name: str) -> Path | None:
        """A binary on PATH whose version is acceptable, or None."""
        from sandbox.exec import run

        found = shutil.which(name, path=self.search_path)
        if found is None:
            return None
        try:
            done = run([found, *self.spec(name).version_argv], timeout=15, check=False)
        except SandboxError:
            return None
        version = self.spec(name).found_version(done.stdout + done.stderr)
        if version is None or not self.acceptable(name, version):
            return None
        return Path(found)

    def cached(self, name: str) -> Path | None:
        """The cached binary when it is still the file that was checked, or None."""
        path = self.cached_path(name)
        record = path.with_name(f"{name}.sha256")
        if not (path.is_file() and record.is_file() and os.access(path, os.X_OK)):
            return None
        if sha256_of(path) != record.read_text().strip():
            self.notify(f"{path}: changed since it was verified, fetching it again")
            return None
        return path

    def locate(self, name: str) -> Path | None:
        """The binary to run, without downloading: PATH first, then the cache."""
        return self.on_path(name) or self.cached(name)

    def ensure(self, name: str) -> Path:
        """The binary to run, downloaded and verified first when needed."""
        return self.locate(name) or self.download(name)

    # -- fetching ---------------------------------------------------------------------------

    def _get(self, name: str, url: str, limit: int | None = None) -> bytes:
        version = self.pin(name).version
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:
                data: bytes = response.read() if limit is None else response.read(limit)
                return data
        except urllib.error.HTTPError as exc:
            reason = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            reason = str(getattr(exc, "reason", exc))
        raise SandboxError(
            f"{name} {version}: cannot download {url} ({reason}); put {name} {version} on PATH "
            f"or set tools.{name}.base_url to a reachable mirror"
        )

    def expected_sha256(self, name: str) -> str:
        pin = self.pin(name)
        os_name, arch = self.platform
        pinned = pin.sha256.get(f"{os_name}-{arch}")
        if pinned:
            return pinned
        asset_url, checksum_url = self.urls(name)
        text = self._get(name, checksum_url, _MAX_CHECKSUM_FILE).decode("utf-8", "replace")
        digest = parse_checksums(text, asset_url.rsplit("/", 1)[-1])
        if digest is None:
            raise SandboxError(
                f"{name} {pin.version}: {checksum_url} lists no SHA-256 for "
                f"{asset_url.rsplit('/', 1)[-1]}"
            )
        return digest

    def download(self, name: str) -> Path:
        spec, pin = self.spec(name), self.pin(name)
        os_name, arch = self.platform
        asset_url, _ = self.urls(name)
        final = self.cached_path(name)
        self.notify(f"downloading {name} {pin.version} ({os_name}/{arch}) from {asset_url}")
        expected = self.expected_sha256(name)
        data = self._get(name, asset_url)
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise SandboxError(
                f"{name} {pin.version}: checksum mismatch for {asset_url} "
                f"(expected {expected}, got {actual}); refusing it"
            )
        binary = data
        if spec.member is not None:
            member = spec.url(spec.member, "", pin.version, os_name, arch)
            binary = _extract(data, member, f"{name} {pin.version}")
        _install(final, binary)
        return final


def _extract(archive: bytes, member: str, label: str) -> bytes:
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            for info in tar.getmembers():
                if info.name.removeprefix("./") == member and info.isfile():
                    handle = tar.extractfile(info)
                    if handle is not None:
                        return handle.read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise SandboxError(f"{label}: the release archive is unreadable ({exc})") from None
    raise SandboxError(f"{label}: the release archive has no {member}")


def _install(final: Path, binary: bytes) -> None:
    """Put `binary` at `final` (0755) and its SHA-256 beside it, each with one rename."""
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(binary)
        os.chmod(tmp, 0o755)
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    record = final.with_name(f"{final.name}.sha256")
    fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=f".{record.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(hashlib.sha256(binary).hexdigest() + "\n")
        os.replace(tmp, record)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
