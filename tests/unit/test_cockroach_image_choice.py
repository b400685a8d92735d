"""Which CockroachDB image the real-server tests run, and the reason they give when it is
missing (tests/support/cockroach.py). The engine is replaced by a recorder of the images asked
about: these are the error paths, which cannot be provoked on demand on a real engine."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from tests.support import cockroach
from tests.support.cockroach import (
    CockroachImage,
    choose_cockroach_image,
    image_present,
    image_release,
)


class Engine:
    """Answers `docker image inspect` for the images it holds, and records every question."""

    def __init__(self, *images: str) -> None:
        self.images = set(images)
        self.asked: list[str] = []

    def __call__(self, image: str) -> bool:
        self.asked.append(image)
        return image in self.images


def test_without_the_variable_the_pinned_official_image_is_used_when_present() -> None:
    engine = Engine("cockroachdb/cockroach:v25.4.11")
    choice = choose_cockroach_image({}, engine)
    assert choice == CockroachImage("cockroachdb/cockroach:v25.4.11", None)
    assert engine.asked == ["cockroachdb/cockroach:v25.4.11"]


def test_without_the_variable_and_without_the_pinned_image_the_reason_names_both() -> None:
    engine = Engine("cockroachdb/cockroach:v25.4.10", "iam-sandbox-standin/cockroach:test")
    choice = choose_cockroach_image({"PATH": "/usr/bin"}, engine)
    assert choice.image == "cockroachdb/cockroach:v25.4.11"
    assert choice.problem == (
        "no CockroachDB image: IAM_SANDBOX_TEST_COCKROACH_IMAGE is not set and the pinned "
        "official image cockroachdb/cockroach:v25.4.11 is not present locally (no pull is "
        "attempted; where a registry is reachable, docker pull cockroachdb/cockroach:v25.4.11)"
    )
    assert engine.asked == ["cockroachdb/cockroach:v25.4.11"]


def test_the_variable_chooses_the_image_and_the_pinned_one_is_not_consulted() -> None:
    engine = Engine("cockroachdb/cockroach:v25.4.11", "mirror.example/crdb:v25.4.9")
    choice = choose_cockroach_image(
        {"IAM_SANDBOX_TEST_COCKROACH_IMAGE": "mirror.example/crdb:v25.4.9"}, engine
    )
    assert choice == CockroachImage("mirror.example/crdb:v25.4.9", None)
    assert engine.asked == ["mirror.example/crdb:v25.4.9"]


def test_a_variable_naming_a_missing_image_skips_and_does_not_fall_back() -> None:
    """The pinned image is present, but the variable asked for another: that is a skip with
    its own reason, never a silent run on a different server."""
    engine = Engine("cockroachdb/cockroach:v25.4.11")
    choice = choose_cockroach_image(
        {"IAM_SANDBOX_TEST_COCKROACH_IMAGE": " mirror.example/crdb:v25.4.9 "}, engine
    )
    assert choice.image == "mirror.example/crdb:v25.4.9"
    assert choice.problem == (
        "IAM_SANDBOX_TEST_COCKROACH_IMAGE is set to mirror.example/crdb:v25.4.9, but that image "
        "is not present locally (docker image inspect failed; no pull is attempted)"
    )
    assert engine.asked == ["mirror.example/crdb:v25.4.9"]


def test_a_blank_variable_counts_as_unset() -> None:
    engine = Engine("cockroachdb/cockroach:v25.4.11")
    choice = choose_cockroach_image({"IAM_SANDBOX_TEST_COCKROACH_IMAGE": "  "}, engine)
    assert choice == CockroachImage("cockroachdb/cockroach:v25.4.11", None)


def test_without_an_engine_the_reason_still_names_the_image_and_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        cockroach, "engine_problem", lambda: "no Docker engine answers (dockerd is not running)"
    )
    monkeypatch.setenv("IAM_SANDBOX_TEST_COCKROACH_IMAGE", "mirror.example/crdb:v25.4.9")
    # The undecorated function: the cached one holds this process's real answer.
    assert cockroach.real_cockroach_problem.__wrapped__() == (
        "no Docker engine answers (dockerd is not running); these tests also need the "
        "CockroachDB image mirror.example/crdb:v25.4.9 "
        "(IAM_SANDBOX_TEST_COCKROACH_IMAGE chooses it)"
    )


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [(0, True), (1, False), (OSError("no docker"), False), ("timeout", False)],
)
def test_image_present_asks_docker_image_inspect_and_never_pulls(
    monkeypatch: pytest.MonkeyPatch, outcome: object, expected: bool
) -> None:
    calls: list[list[str]] = []

    def run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        calls.append(argv)
        if isinstance(outcome, OSError):
            raise outcome
        if outcome == "timeout":
            raise subprocess.TimeoutExpired(argv, kwargs["timeout"])
        assert isinstance(outcome, int)
        return subprocess.CompletedProcess(argv, outcome, b"", b"")

    monkeypatch.setattr(subprocess, "run", run)
    assert image_present("cockroachdb/cockroach:v25.4.11") is expected
    assert calls == [["docker", "image", "inspect", "cockroachdb/cockroach:v25.4.11"]]


@pytest.mark.parametrize(
    ("image", "release"),
    [
        ("cockroachdb/cockroach:v25.4.11", "v25.4.11"),
        ("localhost:5000/cockroach:v25.4.9@sha256:" + "0" * 64, "v25.4.9"),
        ("localhost:5000/cockroach", None),
        ("iam-sandbox-test/cockroach:dev", None),
        ("cockroachdb/cockroach:latest-v25.4", None),
    ],
)
def test_image_release_reads_only_release_tags(image: str, release: str | None) -> None:
    assert image_release(image) == release
