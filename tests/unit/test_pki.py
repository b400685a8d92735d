from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import PolicyBuilder, Store

from sandbox.config.settings import Settings
from sandbox.model.topology import Topology
from sandbox.pki import inspect
from sandbox.pki.layout import CertLayout
from sandbox.pki.store import ensure_pki, list_pki


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def all_files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_layout_and_modes(topology: Topology, pki: CertLayout) -> None:
    files = set(all_files(pki.root))
    assert {"ca/ca.crt", "ca/ca.key"} <= files
    for node in ("crdb-1", "crdb-2", "crdb-3"):
        assert {f"nodes/{node}/ca.crt", f"nodes/{node}/node.crt", f"nodes/{node}/node.key"} <= files
    for user in ("root", "ory"):
        assert {
            f"clients/{user}/ca.crt",
            f"clients/{user}/client.{user}.crt",
            f"clients/{user}/client.{user}.key",
        } <= files
    assert [f for f in files if f.endswith("ca.key")] == ["ca/ca.key"], "CA key only in ca/"
    for path in pki.root.rglob("*"):
        if path.is_dir():
            assert mode(path) == 0o700, path
        elif path.suffix == ".key":
            assert mode(path) == 0o600, path
    assert mode(pki.root) == 0o700


def test_certificates_have_the_cockroach_profile(topology: Topology, pki: CertLayout) -> None:
    ca = inspect.load_cert(pki.ca_cert)
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca and constraints.path_length == 1
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    node = inspect.load_cert(pki.node_dir("crdb-2") / "node.crt")
    assert node.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "node"
    eku = set(node.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    assert eku == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert set(topology.node_dns_names(topology.nodes[1])) <= set(inspect.san_strings(node))
    assert "127.0.0.1" in inspect.san_strings(node)
    client = inspect.load_cert(pki.client_dir("ory") / "client.ory.crt")
    assert client.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "ory"
    eku = set(client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    assert eku == {ExtendedKeyUsageOID.CLIENT_AUTH}


def test_chain_verifies_for_every_node_name(topology: Topology, pki: CertLayout) -> None:
    """Independent RFC 5280 path validation (cryptography's verifier), per SAN."""
    ca = inspect.load_cert(pki.ca_cert)
    now = dt.datetime.now(dt.UTC)
    for node in topology.nodes:
        leaf = inspect.load_cert(pki.node_dir(node.name) / "node.crt")
        for name in topology.node_dns_names(node):
            verifier = (
                PolicyBuilder()
                .store(Store([ca]))
                .time(now)
                .build_server_verifier(x509.DNSName(name))
            )
            verifier.verify(leaf, [])


def test_validity_follows_cockroach_cert(pki: CertLayout) -> None:
    ca = inspect.load_cert(pki.ca_cert)
    leaf = inspect.load_cert(pki.client_dir("root") / "client.root.crt")
    now = dt.datetime.now(dt.UTC)
    assert 3649 <= (ca.not_valid_after_utc - now).days <= 3650
    assert 1824 <= (leaf.not_valid_after_utc - now).days <= 1825
    assert dt.timedelta(hours=23) < now - leaf.not_valid_before_utc < dt.timedelta(hours=25)


def test_leaf_never_outlives_ca(tmp_path: Path) -> None:
    t = Topology(Settings.model_validate({"certs": {"ca_days": 30, "leaf_days": 365}}))
    layout = CertLayout(tmp_path / "certs")
    ensure_pki(t, layout)
    ca = inspect.load_cert(layout.ca_cert)
    leaf = inspect.load_cert(layout.node_dir("crdb-1") / "node.crt")
    assert leaf.not_valid_after_utc == ca.not_valid_after_utc


def test_second_run_keeps_everything(topology: Topology, layout: CertLayout) -> None:
    first = ensure_pki(topology, layout)
    before = all_files(layout.root)
    second = ensure_pki(topology, layout)
    assert second.created == []
    assert len(second.kept) == 6
    assert second.ca_fingerprint == first.ca_fingerprint
    assert all_files(layout.root) == before


def test_force_reissues_leaves_but_keeps_ca(topology: Topology, pki: CertLayout) -> None:
    before = all_files(pki.root)
    report = ensure_pki(topology, pki, force=True)
    after = all_files(pki.root)
    assert report.created == [
        "node crdb-1",
        "node crdb-2",
        "node crdb-3",
        "client root",
        "client ory",
    ]
    assert after["ca/ca.crt"] == before["ca/ca.crt"]
    assert after["ca/ca.key"] == before["ca/ca.key"]
    assert after["nodes/crdb-1/node.key"] != before["nodes/crdb-1/node.key"]


def test_rotate_ca_replaces_everything(topology: Topology, pki: CertLayout) -> None:
    old = inspect.fingerprint(inspect.load_cert(pki.ca_cert))
    report = ensure_pki(topology, pki, rotate_ca=True)
    assert report.ca_fingerprint != old
    assert "ca" in report.created and len(report.created) == 6
    assert any("CA replaced" in w for w in report.warnings)
    assert all(i.ok for i in list_pki(topology, pki))


def test_settings_change_reissues_only_what_no_longer_fits(pki: CertLayout) -> None:
    moved = Topology(Settings.model_validate({"kubernetes": {"namespace": "other"}}))
    stale = {i.name: i.problems for i in list_pki(moved, pki)}
    assert any("missing SANs" in p and "crdb.other" in p for p in stale["crdb-1"])
    assert stale["root"] == []
    report = ensure_pki(moved, pki)
    assert report.created == ["node crdb-1", "node crdb-2", "node crdb-3"]
    assert all(i.ok for i in list_pki(moved, pki))


def test_damaged_leaf_is_reissued(topology: Topology, pki: CertLayout) -> None:
    (pki.client_dir("ory") / "client.ory.key").write_bytes(b"garbage")
    report = ensure_pki(topology, pki)
    assert report.created == ["client ory"]


def test_list_warns_before_expiry(topology: Topology, pki: CertLayout) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1825 - 10)
    infos = list_pki(topology, pki, now=later)
    node = next(i for i in infos if i.name == "crdb-1")
    assert any(p.startswith("expires in") for p in node.problems)
    ca = infos[0]
    assert ca.ok


def test_foreign_leaf_is_not_signed_by_ca(
    topology: Topology, pki: CertLayout, tmp_path: Path
) -> None:
    other = CertLayout(tmp_path / "other")
    ensure_pki(topology, other)
    target = pki.node_dir("crdb-3")
    for name in ("node.crt", "node.key"):
        (target / name).write_bytes((other.node_dir("crdb-3") / name).read_bytes())
    node = next(i for i in list_pki(topology, pki) if i.name == "crdb-3")
    assert "not signed by the current CA" in node.problems


def test_rsa_keys_when_asked(tmp_path: Path) -> None:
    t = Topology(Settings.model_validate({"certs": {"key_type": "rsa-2048"}}))
    layout = CertLayout(tmp_path / "certs")
    ensure_pki(t, layout)
    key = inspect.load_key(layout.node_dir("crdb-1") / "node.key")
    assert key.key_size == 2048
    assert all(i.ok for i in list_pki(t, layout))
