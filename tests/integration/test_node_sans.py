"""Node certificate SANs against a list written out by hand, per node and per target, read both
by `cryptography` and from `openssl x509 -text`: a name dropped from the code fails here."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from sandbox.model.topology import Topology
from sandbox.pki import inspect
from sandbox.pki.layout import CertLayout


def compose_names(n: int) -> set[str]:
    """How Compose reaches node n: its service name, the load balancer, from the host."""
    return {f"DNS:crdb-{n}", "DNS:crdb", "DNS:localhost", "IP:127.0.0.1"}


def kubernetes_names(n: int) -> set[str]:
    """How kind and EKS reach node n: services and the pod, in every DNS form (namespace
    iam-sandbox)."""
    return {
        "DNS:crdb",
        "DNS:crdb.iam-sandbox",
        "DNS:crdb.iam-sandbox.svc",
        "DNS:crdb.iam-sandbox.svc.cluster.local",
        "DNS:crdb-internal",
        "DNS:crdb-internal.iam-sandbox",
        "DNS:crdb-internal.iam-sandbox.svc",
        "DNS:crdb-internal.iam-sandbox.svc.cluster.local",
        f"DNS:crdb-{n}-0.crdb-internal",
        f"DNS:crdb-{n}-0.crdb-internal.iam-sandbox",
        f"DNS:crdb-{n}-0.crdb-internal.iam-sandbox.svc",
        f"DNS:crdb-{n}-0.crdb-internal.iam-sandbox.svc.cluster.local",
        "DNS:localhost",  # the managed port-forwards
    }


EXPECTED = {
    (n, target): names(n)
    for n in (1, 2, 3)
    for target, names in (
        ("compose", compose_names),
        ("kind", kubernetes_names),
        ("aws", kubernetes_names),
    )
}


def openssl_sans(cert: str) -> set[str]:
    text = subprocess.run(
        ["openssl", "x509", "-noout", "-text", "-in", cert],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    block = re.search(r"X509v3 Subject Alternative Name:.*?\n\s*(.+)\n", text)
    assert block, text
    return {
        item.strip().replace("IP Address:", "IP:") for item in block.group(1).strip().split(",")
    }


@pytest.mark.parametrize(("n", "target"), sorted(EXPECTED))
def test_node_certificate_carries_every_name_of_its_target(
    session_pki: tuple[Topology, CertLayout], n: int, target: str
) -> None:
    _, layout = session_pki
    cert = inspect.load_cert(layout.node_dir(f"crdb-{n}") / "node.crt")
    found = {(f"IP:{s}" if s[0].isdigit() else f"DNS:{s}") for s in inspect.san_strings(cert)}
    assert EXPECTED[(n, target)] - found == set()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl CLI on PATH")
@pytest.mark.parametrize("n", [1, 2, 3])
def test_openssl_reads_exactly_the_expected_names(
    session_pki: tuple[Topology, CertLayout], n: int
) -> None:
    _, layout = session_pki
    sans = openssl_sans(str(layout.node_dir(f"crdb-{n}") / "node.crt"))
    everywhere = set().union(*(EXPECTED[(n, t)] for t in ("compose", "kind", "aws")))
    assert sans == everywhere
    assert f"DNS:crdb-{n % 3 + 1}" not in sans, "a node does not carry another node's name"
