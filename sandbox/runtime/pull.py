"""Pull the images `up` lacks, with their bytes shown while they arrive.

`docker pull --quiet` says nothing until it ends, and a first `up` may wait minutes on it. The
Docker Engine API (`POST /images/create`) streams JSON messages per layer instead; this module
reads that stream over the engine's unix socket, sums the layers into bytes per image and feeds
a progress row. The engine's own error text becomes the one-line reason of today's message.

The API is used only where it pulls what the CLI would: the local engine, reached through its
default or a `unix://` DOCKER_HOST, with no credentials configured for the registry (the CLI
reads credential stores and helpers, which the API leaves to its client). Everywhere else the
CLI pulls as before, without byte counts.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox.errors import SandboxError
from sandbox.runtime.compose_docker import docker_error, missing_images_message

if TYPE_CHECKING:
    import httpx
    from python_on_whales import DockerClient

    from sandbox.plan.progress import ProgressHandle
    from sandbox.plan.status import Status
    from sandbox.runtime.compose_docker import ProjectDocker

DEFAULT_SOCKET = "/var/run/docker.sock"
DOCKER_HUB = "docker.io"
_SIZED = frozenset({"Downloading", "Extracting"})
_DOWNLOADED = frozenset({"Verifying Checksum", "Download complete", "Extracting", "Pull complete"})
_LAYER = frozenset({"Pulling fs layer", "Waiting", *_SIZED, *_DOWNLOADED})


class PullFailed(Exception):
    """A pull that did not end with the image; `reason` is one line, fit for a message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def one_line(text: str) -> str:
    """An engine's error text on one line (some carry newlines), never empty."""
    return " ".join(text.split()) or "unknown error"


@dataclass
class _Layer:
    current: int = 0
    total: int | None = None


@dataclass
class PullStream:
    """What the engine's message stream says so far: downloaded bytes per layer, an error.

    Messages are JSON objects, one a line; chunks of the response may cut them anywhere, so
    text is buffered until an object is whole (a line that is no JSON is skipped). Layers
    that already exist locally are not counted: their bytes are not fetched."""

    layers: dict[str, _Layer] = field(default_factory=dict)
    error: str | None = None
    _buffer: str = ""

    @property
    def completed(self) -> int:
        return sum(layer.current for layer in self.layers.values())

    @property
    def total(self) -> int | None:
        """Bytes to fetch: known once every layer to fetch has announced its size (layers
        wait their turn to start, so until then the sum would be too small)."""
        sizes = [layer.total for layer in self.layers.values()]
        if not sizes or None in sizes:
            return None
        return sum(size for size in sizes if size is not None)

    def feed(self, text: str) -> None:
        self._buffer += text
        decoder = json.JSONDecoder()
        while True:
            rest = self._buffer.lstrip()
            if not rest:
                self._buffer = ""
                return
            try:
                message, end = decoder.raw_decode(rest)
            except json.JSONDecodeError:
                if "\n" not in rest:
                    self._buffer = rest  # the rest of this object is in a later chunk
                    return
                rest = rest.split("\n", 1)[1]  # the engine writes one object a line: skip it
                self._buffer = rest
                continue
            self._buffer = rest[end:]
            if isinstance(message, dict):
                self._read(message)

    def _read(self, message: dict[str, Any]) -> None:
        detail = message.get("errorDetail")
        if message.get("error") or detail:
            text = detail.get("message") if isinstance(detail, dict) else None
            self.error = one_line(str(text or message.get("error") or ""))
            return
        status = str(message.get("status") or "")
        layer_id = str(message.get("id") or "")
        if not layer_id:
            return
        if status == "Already exists":
            self.layers.pop(layer_id, None)
            return
        if status not in _LAYER and not status.startswith("Retrying"):
            return  # "Pulling from library/x" names the tag, not a layer
        layer = self.layers.setdefault(layer_id, _Layer())
        numbers = message.get("progressDetail") or {}
        total = numbers.get("total") if isinstance(numbers, dict) else None
        if status in _SIZED and isinstance(total, int) and total > 0 and layer.total is None:
            layer.total = total
        if status == "Downloading" and isinstance(numbers.get("current"), int):
            layer.current = numbers["current"]
        elif status in _DOWNLOADED and layer.total is not None:
            layer.current = layer.total


def split_reference(image: str) -> tuple[str, str]:
    """(fromImage, tag) for the API; the tag is never empty, as an empty tag pulls every tag
    of the repository. A digest goes in the tag parameter, which the engine accepts."""
    if "@" in image:
        name, digest = image.split("@", 1)
        return name, digest
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon + 1 :]
    return image, "latest"


def registry_of(image: str) -> str:
    """The registry host an image reference names (Docker Hub when none is named)."""
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first
    return DOCKER_HUB


def engine_socket(env: Mapping[str, str]) -> str | None:
    """The unix socket of the engine the CLI talks to, or None when the CLI goes elsewhere
    (a TCP or SSH host, a context) and should pull itself."""
    host = env.get("DOCKER_HOST", "")
    if host:
        return host.removeprefix("unix://") if host.startswith("unix://") else None
    if env.get("DOCKER_CONTEXT", "default") != "default":
        return None
    if _docker_config(env).get("currentContext", "default") != "default":
        return None
    return DEFAULT_SOCKET


def _docker_config(env: Mapping[str, str]) -> dict[str, Any]:
    folder = Path(env["DOCKER_CONFIG"]) if env.get("DOCKER_CONFIG") else Path.home() / ".docker"
    try:
        loaded = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def has_credentials(registry: str, env: Mapping[str, str]) -> bool:
    """Whether the CLI would log in to `registry` (a credential store, a helper, or saved
    auth): only it knows how, so such pulls stay with it. Nothing secret is read out."""
    config = _docker_config(env)
    if config.get("credsStore") or registry in (config.get("credHelpers") or {}):
        return True
    hub = registry == DOCKER_HUB
    for key in config.get("auths") or {}:
        host = str(key).removeprefix("https://").removeprefix("http://").split("/")[0]
        if host == registry or (hub and host in ("index.docker.io", "registry-1.docker.io")):
            return True
    return False


def pull_through_api(
    image: str,
    row: ProgressHandle,
    socket: str,
    timeout: float = 30.0,
    transport: httpx.BaseTransport | None = None,
) -> None:
    """Pull `image` through the Engine API on `socket`, reporting bytes to `row`.

    Raises PullFailed with the engine's reason; a socket that does not answer raises
    httpx.TransportError, for the caller to fall back on the CLI. `timeout` bounds connecting,
    not the pull: a big layer may keep the stream silent for long. `transport` replaces the
    socket in tests."""
    import httpx

    name, tag = split_reference(image)
    transport = transport or httpx.HTTPTransport(uds=socket)
    limits = httpx.Timeout(timeout, read=None)  # a big layer may be silent for long
    stream = PullStream()
    with (
        httpx.Client(transport=transport, base_url="http://docker", timeout=limits) as client,
        client.stream("POST", "/images/create", params={"fromImage": name, "tag": tag}) as resp,
    ):
        if resp.status_code >= 400:
            raise PullFailed(f"Error response from daemon: {_api_message(resp.read())}")
        for chunk in resp.iter_text():
            stream.feed(chunk)
            if stream.error:
                raise PullFailed(stream.error)
            row.update(stream.completed, stream.total)
    if stream.error:
        raise PullFailed(stream.error)


def _api_message(body: bytes) -> str:
    """The `message` of an API error body, or the body itself."""
    try:
        loaded = json.loads(body)
    except ValueError:
        return one_line(body.decode(errors="replace"))
    message = loaded.get("message") if isinstance(loaded, dict) else None
    return one_line(str(message or body.decode(errors="replace")))


def pull(image: str, status: Status, docker: DockerClient, env: Mapping[str, str]) -> None:
    """Pull `image`, live through the API where it pulls as the CLI would, else by the CLI."""
    import httpx
    from python_on_whales.exceptions import DockerException

    socket = engine_socket(env)
    if socket is not None and not has_credentials(registry_of(image), env):
        row = status.progress(image, unit="bytes")
        try:
            pull_through_api(image, row, socket)
            return
        except httpx.TransportError:
            pass  # the socket is not ours to use after all: the CLI knows its way
        finally:
            row.done()
    try:
        docker.image.pull(image, quiet=True)
    except DockerException as exc:
        raise PullFailed(docker_error(exc)) from None


def ensure_images(project: ProjectDocker, status: Status) -> None:
    """Pull missing images now, so an offline machine fails before anything starts, and
    name every image that is still missing in one line."""
    topology = project.topology
    missing: list[str] = []
    reason = ""
    engine = topology.engine
    built = {topology.image(m.image_key) for m in engine.members(topology) if m.build}
    for image in dict.fromkeys(image for _, image in topology.image_settings()):
        if image in built:
            status.note(f"{image} is built by `up` from the rendered Dockerfile")
            continue
        if project.docker.image.exists(image):
            continue
        status.note(f"pulling {image}")
        try:
            pull(image, status, project.docker, os.environ)
        except PullFailed as exc:
            missing.append(image)
            reason = reason or exc.reason
    if missing:
        raise SandboxError(missing_images_message(topology, missing, reason))
