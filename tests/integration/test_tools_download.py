"""The tool wrapper for real over HTTP: a local server on 127.0.0.1 plays the release sites.

Each tool's site is laid out as upstream publishes it (kind: raw binary + `.sha256sum`;
kubectl: raw binary + lone-digest `.sha256`; helm: `.tar.gz` + `.sha256sum`; eksctl:
`.tar.gz` + one `eksctl_checksums.txt`), and the settings point `tools.<name>.base_url` at it.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sandbox.config.tools import Tools
from sandbox.errors import SandboxError
from sandbox.tools import Toolbox, current_platform
from tests.support.ports import free_port

VERSIONS = {"kind": "v0.32.0", "kubectl": "v1.36.1", "helm": "v3.19.0", "eksctl": "v0.230.0"}
OUTPUT = {
    "kind": "kind v0.32.0 go1.25 linux/amd64",
    "kubectl": "Client Version: v1.36.1",
    "helm": "v3.19.0+gabcdef",
    "eksctl": "0.230.0",
}


def script(name: str, marker: str = "") -> bytes:
    return f"#!/bin/sh\n# {marker}\necho '{OUTPUT[name]}'\n".encode()


def tar_gz(member: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo(member)
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class ReleaseSite:
    root: Path
    port: int
    requests: list[str] = field(default_factory=list)

    def base(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def publish(self, name: str, binary: bytes, published: bytes | None = None) -> None:
        """Put `binary` as the release asset; the checksum file describes `published`."""
        os_name, arch = current_platform()
        version = VERSIONS[name]
        if name == "kind":
            asset_path, data = f"kind/{version}/kind-{os_name}-{arch}", binary
        elif name == "kubectl":
            asset_path, data = f"kubectl/{version}/bin/{os_name}/{arch}/kubectl", binary
        elif name == "helm":
            asset_path = f"helm/helm-{version}-{os_name}-{arch}.tar.gz"
            data = tar_gz(f"{os_name}-{arch}/helm", binary)
        else:
            asset_path = f"eksctl/{version}/eksctl_{os_name.capitalize()}_{arch}.tar.gz"
            data = tar_gz("eksctl", binary)
        digest = sha(data) if published is None else sha(published)
        file_name = asset_path.rsplit("/", 1)[-1]
        if name == "kubectl":
            checksums = {f"{asset_path}.sha256": digest + "\n"}
        elif name == "eksctl":
            other = f"{'0' * 64}  eksctl_Windows_amd64.zip\n"
            checksums = {
                f"eksctl/{version}/eksctl_checksums.txt": f"{other}{digest}  {file_name}\n"
            }
        else:
            checksums = {f"{asset_path}.sha256sum": f"{digest}  {file_name}\n"}
        for rel, content in {asset_path: data, **checksums}.items():
            target = self.root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content if isinstance(content, bytes) else content.encode())

    def asset_bytes(self, name: str) -> bytes:
        """What the published asset is (for a pinned checksum)."""
        matches = [p for p in self.root.joinpath(name).rglob("*") if p.is_file()]
        asset = next(p for p in matches if not p.name.endswith(("sha256sum", ".sha256", ".txt")))
        return asset.read_bytes()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[ReleaseSite]:
    root = tmp_path / "site"
    root.mkdir()
    state = ReleaseSite(root, 0)

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            state.requests.append(self.path)

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def toolbox(site: ReleaseSite, tmp_path: Path, **pins: dict[str, Any]) -> Toolbox:
    data = {
        name: {"version": version, "base_url": site.base(name), **pins.get(name, {})}
        for name, version in VERSIONS.items()
    }
    return Toolbox(
        Tools.model_validate(data),
        cache_dir=tmp_path / "cache",
        search_path=str(tmp_path / "empty-path"),
        timeout=5,
    )


def cache_files(tmp_path: Path) -> list[Path]:
    root = tmp_path / "cache"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.mark.parametrize("name", list(VERSIONS))
def test_download_verify_and_run_each_tool(site: ReleaseSite, tmp_path: Path, name: str) -> None:
    site.publish(name, script(name))
    box = toolbox(site, tmp_path)
    path = box.ensure(name)
    assert path == box.cached_path(name) and path.name == name
    assert path.stat().st_mode & stat.S_IXUSR
    assert (
        subprocess.run([str(path)], capture_output=True, text=True).stdout.strip() == OUTPUT[name]
    )
    assert [p.name for p in cache_files(tmp_path)] == sorted([name, f"{name}.sha256"])


def test_the_cache_is_reused_without_the_network(site: ReleaseSite, tmp_path: Path) -> None:
    site.publish("kind", script("kind"))
    first = toolbox(site, tmp_path).ensure("kind")
    asked = len(site.requests)
    assert asked == 2  # the checksum file and the asset
    for path in site.root.rglob("*"):
        if path.is_file():
            path.unlink()  # the site is empty now: only the cache can answer
    second = toolbox(site, tmp_path).ensure("kind")
    assert second == first and len(site.requests) == asked


def test_a_tampered_asset_is_refused_and_nothing_is_written(
    site: ReleaseSite, tmp_path: Path
) -> None:
    site.publish("kind", script("kind", "evil"), published=script("kind"))
    with pytest.raises(SandboxError, match=r"kind v0\.32\.0: checksum mismatch .*refusing it"):
        toolbox(site, tmp_path).ensure("kind")
    assert cache_files(tmp_path) == []
    assert not any(p.name.startswith(".") for p in (tmp_path / "cache").rglob("*"))


def test_a_pinned_checksum_wins_over_the_published_one(site: ReleaseSite, tmp_path: Path) -> None:
    # The site is consistent with itself (a swapped release and checksum file), but the
    # settings pin the real asset's digest.
    site.publish("helm", script("helm"))
    os_name, arch = current_platform()
    genuine = sha(site.asset_bytes("helm"))
    site.publish("helm", script("helm", "swapped"))
    pins = {"helm": {"sha256": {f"{os_name}-{arch}": genuine}}}
    with pytest.raises(SandboxError, match="checksum mismatch"):
        toolbox(site, tmp_path, **pins).ensure("helm")
    assert cache_files(tmp_path) == []
    assert not any(r.endswith("sha256sum") for r in site.requests)  # the pin was used


def test_offline_is_one_clear_error(tmp_path: Path) -> None:
    closed = ReleaseSite(tmp_path, port=free_port())
    with pytest.raises(SandboxError) as caught:
        toolbox(closed, tmp_path).ensure("kubectl")
    message = caught.value.message
    assert message.startswith("kubectl v1.36.1: cannot download http://127.0.0.1:")
    assert "\n" not in message and "put kubectl v1.36.1 on PATH" in message
    assert cache_files(tmp_path) == []


def test_a_missing_release_is_one_clear_error(site: ReleaseSite, tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match=r"eksctl v0\.230\.0: cannot download .*HTTP 404"):
        toolbox(site, tmp_path).ensure("eksctl")


def test_a_cached_binary_that_changed_is_fetched_again(site: ReleaseSite, tmp_path: Path) -> None:
    site.publish("kind", script("kind"))
    path = toolbox(site, tmp_path).ensure("kind")
    path.write_bytes(script("kind", "modified in the cache"))
    asked = len(site.requests)
    again = toolbox(site, tmp_path).ensure("kind")
    assert again == path and again.read_bytes() == script("kind")
    assert len(site.requests) == asked + 2


def test_a_binary_on_path_is_used_when_its_version_fits(site: ReleaseSite, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    local = bin_dir / "kubectl"
    local.write_text("#!/bin/sh\necho 'Client Version: v1.35.4'\n")  # one minor behind: fine
    local.chmod(0o755)
    box = toolbox(site, tmp_path)
    box.search_path = str(bin_dir)
    assert box.ensure("kubectl") == local and site.requests == []
    local.write_text("#!/bin/sh\necho 'Client Version: v1.32.4'\n")  # too old: fetched
    site.publish("kubectl", script("kubectl"))
    assert box.ensure("kubectl") == box.cached_path("kubectl")


def test_no_temporary_files_survive_an_interrupted_install(
    site: ReleaseSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.publish("kind", script("kind"))

    def broken_chmod(path: Any, mode: int) -> None:
        raise OSError("disk went away")

    monkeypatch.setattr(os, "chmod", broken_chmod)
    with pytest.raises(OSError):
        toolbox(site, tmp_path).ensure("kind")
    assert cache_files(tmp_path) == []
