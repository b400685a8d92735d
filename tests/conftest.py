"""Shared fixtures: settings, a topology, a certificate tree in a temporary state dir, and a
TLS PostgreSQL on that tree."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sandbox.config.settings import Settings
from sandbox.model.topology import Topology
from sandbox.pki.layout import CertLayout
from sandbox.pki.store import ensure_pki

if TYPE_CHECKING:
    from tests.support.postgres import Server


@pytest.fixture(autouse=True)
def isolated_from_the_caller(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No test sees the caller's settings: no SANDBOX_* variable, and an empty working
    directory, so a ./sandbox.yaml where pytest was started is never read."""
    for name in [n for n in os.environ if n.startswith("SANDBOX_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture
def topology() -> Topology:
    return Topology(Settings())


@pytest.fixture
def layout(tmp_path: Path) -> CertLayout:
    return CertLayout(tmp_path / "state" / "certs")


@pytest.fixture
def pki(topology: Topology, layout: CertLayout) -> CertLayout:
    ensure_pki(topology, layout)
    return layout


@pytest.fixture(scope="session")
def session_pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Topology, CertLayout]:
    """One certificate tree for tests that only read it (handshakes, PostgreSQL)."""
    topology = Topology(Settings())
    layout = CertLayout(tmp_path_factory.mktemp("pki") / "certs")
    ensure_pki(topology, layout)
    return topology, layout


@pytest.fixture(scope="module")
def cert_postgres(session_pki: tuple[Topology, CertLayout]) -> Iterator[Server]:
    """A TLS PostgreSQL of the module's own, with crdb-1's node certificate, that maps client
    certificates of the sandbox's PKI to users (`cert clientcert=verify-full`)."""
    from tests.support.postgres import sandbox_postgres

    with sandbox_postgres(session_pki[1], "cert") as server:
        yield server
