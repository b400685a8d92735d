"""Image pulls through the Docker Engine API: the stream read into bytes per image, the choice
between the API and the CLI, and the one-line error.

No registry is reachable from this machine, so the stream in
tests/fixtures/docker-pull-stream-handwritten.json is written by hand after the Engine API's
message format (`status`, `id`, `progressDetail.current/total`, `\\r\\n` after each object); it
is not a recording. The error path runs against the real engine where there is one.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import pytest

from sandbox.config.settings import Settings
from sandbox.errors import SandboxError
from sandbox.model.topology import Topology
from sandbox.plan.status import Status
from sandbox.runtime.pull import (
    DEFAULT_SOCKET,
    PullFailed,
    PullStream,
    engine_socket,
    ensure_images,
    has_credentials,
    pull_through_api,
    registry_of,
    split_reference,
)

STREAM = Path(__file__).parent.parent / "fixtures" / "docker-pull-stream-handwritten.json"
PULLED = 12_003_000  # the two layers fetched; the layer that "Already exists" is not counted


class Row:
    """A progress handle that remembers what it was told."""

    def __init__(self) -> None:
        self.updates: list[tuple[float, float | None]] = []
        self.finished = False

    def update(self, completed: float, total: float | None = None, detail: str = "") -> None:
        self.updates.append((completed, total))

    def done(self) -> None:
        self.finished = True


def test_each_message_moves_the_bytes_of_the_image() -> None:
    stream = PullStream()
    seen = []
    for line in STREAM.read_text().splitlines():
        stream.feed(line + "\r\n")
        seen.append((stream.completed, stream.total))
    assert seen == [
        (0, None),  # "Pulling from": the tag, not a layer
        (0, None),  # "Already exists": nothing to fetch
        (0, None),
        (0, None),
        (0, None),  # a layer waiting its turn: its size is not known yet
        (524_288, None),
        (6_000_000, None),
        (6_001_000, PULLED),  # every layer to fetch has announced its size
        (6_003_000, PULLED),  # verified: the whole layer is here
        (6_003_000, PULLED),
        (12_003_000, PULLED),
        *[(PULLED, PULLED)] * 8,  # extracting counts no bytes twice
    ]
    assert stream.error is None


def test_chunks_may_cut_messages_anywhere() -> None:
    text = STREAM.read_text()
    stream = PullStream()
    for start in range(0, len(text), 7):
        stream.feed(text[start : start + 7])
    assert (stream.completed, stream.total, stream.error) == (PULLED, PULLED, None)


def test_a_size_known_only_when_extracting_still_counts() -> None:
    stream = PullStream()
    stream.feed('{"status":"Pulling fs layer","progressDetail":{},"id":"l1"}\r\n')
    stream.feed('{"status":"Download complete","progressDetail":{},"id":"l1"}\r\n')
    assert (stream.completed, stream.total) == (0, None)
    extracting = {"status": "Extracting", "progressDetail": {"current": 10, "total": 500}}
    stream.feed(json.dumps({**extracting, "id": "l1"}))
    assert (stream.completed, stream.total) == (500, 500)


def test_a_line_that_is_no_json_is_skipped() -> None:
    stream = PullStream()
    stream.feed('{"status":"Downloading","progressDetail":{"current":1,"total":9},"id":"l1"\r\n')
    stream.feed('{"status":"Downloading","progressDetail":{"current":5,"total":9},"id":"l1"}\r\n')
    assert (stream.completed, stream.total) == (5, 9)


def test_an_error_in_the_stream_becomes_one_line() -> None:
    stream = PullStream()
    stream.feed(
        '{"errorDetail":{"message":"unexpected EOF\\nwhile reading layer"},'
        '"error":"unexpected EOF"}\r\n'
    )
    assert stream.error == "unexpected EOF while reading layer"


def serving(status: int, body: bytes) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/images/create"
        assert dict(request.url.params) == {"fromImage": "oryd/hydra", "tag": "v2.3.0"}
        return httpx.Response(status, content=body)

    return httpx.MockTransport(answer)


def test_the_api_pull_feeds_the_row_with_bytes() -> None:
    row = Row()
    transport = serving(200, STREAM.read_bytes())
    pull_through_api("oryd/hydra:v2.3.0", row, DEFAULT_SOCKET, transport=transport)
    assert row.updates[-1] == (PULLED, PULLED)


def test_an_engine_refusal_reads_as_the_cli_says_it() -> None:
    body = b'{"message":"pull access denied for oryd/hydra, repository does not exist"}'
    with pytest.raises(PullFailed) as exc:
        pull_through_api("oryd/hydra:v2.3.0", Row(), DEFAULT_SOCKET, transport=serving(404, body))
    assert exc.value.reason == (
        "Error response from daemon: pull access denied for oryd/hydra, repository does not exist"
    )


def test_an_error_after_the_stream_began_stops_the_pull() -> None:
    began = b"".join(STREAM.read_bytes().splitlines(keepends=True)[:6])
    body = began + b'{"errorDetail":{"message":"no space left on device"}}\r\n'
    with pytest.raises(PullFailed) as exc:
        pull_through_api("oryd/hydra:v2.3.0", Row(), DEFAULT_SOCKET, transport=serving(200, body))
    assert exc.value.reason == "no space left on device"


@pytest.mark.docker
@pytest.mark.skipif(not Path(DEFAULT_SOCKET).exists(), reason="no local Docker engine")
def test_an_unreachable_registry_is_one_line_from_the_real_engine() -> None:
    row = Row()
    with pytest.raises(PullFailed) as exc:
        pull_through_api("registry.invalid/iam-sandbox/absent:test", row, DEFAULT_SOCKET)
    reason = exc.value.reason
    assert reason.startswith('Error response from daemon: Get "https://registry.invalid/v2/": ')
    assert "\n" not in reason and row.updates == []


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("oryd/hydra:v2.3.0", ("oryd/hydra", "v2.3.0")),
        ("oryd/hydra", ("oryd/hydra", "latest")),  # never an empty tag: that pulls every tag
        ("localhost:5000/hydra", ("localhost:5000/hydra", "latest")),
        ("localhost:5000/hydra:v2", ("localhost:5000/hydra", "v2")),
        ("oryd/hydra@sha256:abc", ("oryd/hydra", "sha256:abc")),
    ],
)
def test_references_split_into_image_and_tag(image: str, expected: tuple[str, str]) -> None:
    assert split_reference(image) == expected


@pytest.mark.parametrize(
    ("image", "registry"),
    [
        ("oryd/hydra:v2.3.0", "docker.io"),
        ("haproxy:2.9", "docker.io"),
        ("ghcr.io/ory/hydra:v2", "ghcr.io"),
        ("localhost:5000/hydra", "localhost:5000"),
        ("localhost/hydra", "localhost"),
    ],
)
def test_the_registry_of_an_image(image: str, registry: str) -> None:
    assert registry_of(image) == registry


def test_the_api_is_used_only_on_the_engine_the_cli_would_use(tmp_path: Path) -> None:
    none = {"DOCKER_CONFIG": str(tmp_path)}
    assert engine_socket(none) == DEFAULT_SOCKET
    assert engine_socket({**none, "DOCKER_HOST": "unix:///run/user/1000/docker.sock"}) == (
        "/run/user/1000/docker.sock"
    )
    assert engine_socket({**none, "DOCKER_HOST": "tcp://10.0.0.2:2376"}) is None
    assert engine_socket({**none, "DOCKER_CONTEXT": "rootless"}) is None
    (tmp_path / "config.json").write_text('{"currentContext": "remote"}')
    assert engine_socket(none) is None


def test_registries_with_credentials_are_left_to_the_cli(tmp_path: Path) -> None:
    env = {"DOCKER_CONFIG": str(tmp_path)}
    assert has_credentials("docker.io", env) is False
    (tmp_path / "config.json").write_text(
        '{"auths": {"https://index.docker.io/v1/": {}, "registry.example:5000": {}},'
        ' "credHelpers": {"123.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login"}}'
    )
    assert has_credentials("docker.io", env) is True
    assert has_credentials("registry.example:5000", env) is True
    assert has_credentials("123.dkr.ecr.eu-west-1.amazonaws.com", env) is True
    assert has_credentials("ghcr.io", env) is False
    (tmp_path / "config.json").write_text('{"credsStore": "desktop"}')
    assert has_credentials("ghcr.io", env) is True


ABSENT = "oryd/hydra:v0-absent"


class _Images:
    def __init__(self) -> None:
        self.pulled: list[str] = []

    def exists(self, image: str) -> bool:
        return image != ABSENT

    def pull(self, image: str, quiet: bool) -> None:
        from python_on_whales.exceptions import DockerException

        self.pulled.append(image)
        stderr = f"Error response from daemon: manifest for {image} not found"
        raise DockerException(["docker", "pull", image], 1, stderr=stderr.encode())


class _Docker:
    def __init__(self) -> None:
        self.image = _Images()


class _Project:
    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self.docker = _Docker()


def test_a_socket_that_does_not_answer_falls_back_to_the_cli_and_keeps_the_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/absent.sock")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    project = _Project(Topology(Settings.model_validate({"images": {"hydra": ABSENT}})))
    out = io.StringIO()
    with pytest.raises(SandboxError) as exc:
        ensure_images(project, Status(stream=out))  # type: ignore[arg-type]
    assert project.docker.image.pulled == [ABSENT]
    assert exc.value.message == (
        "1 image is not on this machine and cannot be pulled (Error response from daemon: "
        f"manifest for {ABSENT} not found): {ABSENT}; `docker load` them or set images.hydra"
    )
    assert out.getvalue() == f"  pulling {ABSENT}\n"
