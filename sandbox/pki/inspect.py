"""Read certificates back and say what is wrong with them against the plan."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from sandbox.pki.issue import PrivateKey
from sandbox.pki.layout import LeafSpec


@dataclass
class CertInfo:
    """One certificate file as `certs list` reports it."""

    path: str
    role: str
    name: str
    subject: str = ""
    sans: list[str] = field(default_factory=list)
    not_after: str = ""
    days_left: int | None = None
    fingerprint: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def load_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def load_key(path: Path) -> PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValueError(f"unsupported key type {type(key).__name__}")
    return key


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def san_strings(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    names = [str(n) for n in ext.get_values_for_type(x509.DNSName)]
    names += [str(ip) for ip in ext.get_values_for_type(x509.IPAddress)]
    return names


def signed_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    if cert.issuer != ca.subject:
        return False
    public = ca.public_key()
    try:
        if isinstance(public, rsa.RSAPublicKey):
            algorithm = cert.signature_hash_algorithm
            assert algorithm is not None
            public.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), algorithm)
        elif isinstance(public, ec.EllipticCurvePublicKey):
            algorithm = cert.signature_hash_algorithm
            assert algorithm is not None
            public.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(algorithm))
        else:
            return False
    except Exception:
        return False
    return True


def key_matches(cert: x509.Certificate, key: PrivateKey) -> bool:
    der = serialization.Encoding.DER
    info = serialization.PublicFormat.SubjectPublicKeyInfo
    return cert.public_key().public_bytes(der, info) == key.public_key().public_bytes(der, info)


def expiry_problems(cert: x509.Certificate, now: dt.datetime, warn_days: int) -> list[str]:
    left = cert.not_valid_after_utc - now
    if left.total_seconds() <= 0:
        return ["expired"]
    if left.days < warn_days:
        return [f"expires in {left.days} days"]
    if cert.not_valid_before_utc > now:
        return ["not valid yet"]
    return []


def describe(
    path: Path, role: str, name: str, now: dt.datetime
) -> tuple[CertInfo, x509.Certificate | None]:
    info = CertInfo(path=str(path), role=role, name=name)
    if not path.is_file():
        info.problems.append("missing")
        return info, None
    try:
        cert = load_cert(path)
    except (OSError, ValueError) as exc:
        info.problems.append(f"unreadable: {exc}")
        return info, None
    info.subject = cert.subject.rfc4514_string()
    info.sans = san_strings(cert)
    info.not_after = cert.not_valid_after_utc.isoformat()
    info.days_left = (cert.not_valid_after_utc - now).days
    info.fingerprint = fingerprint(cert)
    return info, cert


def check_ca(cert: x509.Certificate, key_path: Path, now: dt.datetime, warn_days: int) -> list[str]:
    problems = expiry_problems(cert, now, warn_days)
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        if not constraints.ca:
            problems.append("not a CA certificate")
    except x509.ExtensionNotFound:
        problems.append("not a CA certificate")
    try:
        if not key_matches(cert, load_key(key_path)):
            problems.append("ca.key does not match ca.crt")
    except (OSError, ValueError) as exc:
        problems.append(f"ca.key unreadable: {exc}")
    return problems


def check_leaf(
    spec: LeafSpec,
    cert: x509.Certificate,
    ca: x509.Certificate | None,
    now: dt.datetime,
    warn_days: int,
) -> list[str]:
    """Everything that makes `cert` unfit for `spec`; empty means keep it."""
    problems = expiry_problems(cert, now, warn_days)
    if ca is None or not signed_by(cert, ca):
        problems.append("not signed by the current CA")
    cns = [a.value for a in cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)]
    if cns != [spec.common_name]:
        problems.append(f"CN is {cns}, expected {spec.common_name!r}")
    try:
        usages = set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        usages = set()
    wanted = {ExtendedKeyUsageOID.CLIENT_AUTH}
    if spec.role == "node":
        wanted.add(ExtendedKeyUsageOID.SERVER_AUTH)
    if not wanted <= usages:
        problems.append(
            "missing extended key usage " + ", ".join(sorted(u._name for u in wanted - usages))
        )
    have = set(san_strings(cert))
    want = set(spec.dns_names) | {str(ipaddress.ip_address(ip)) for ip in spec.ip_addresses}
    missing = sorted(want - have)
    if missing:
        problems.append("missing SANs: " + ", ".join(missing))
    try:
        if not key_matches(cert, load_key(spec.key_path)):
            problems.append(f"{spec.key_path.name} does not match the certificate")
    except (OSError, ValueError) as exc:
        problems.append(f"{spec.key_path.name} unreadable: {exc}")
    if ca is not None:
        try:
            if load_cert(spec.ca_copy) != ca:
                problems.append("ca.crt beside it is not the current CA")
        except (OSError, ValueError):
            problems.append("ca.crt beside it is missing")
    return problems
