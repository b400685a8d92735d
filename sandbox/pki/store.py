"""Create, keep or re-issue the sandbox's certificates on disk (`sandbox certs create|list`).

Idempotent: a valid CA and valid leaves are kept byte for byte. A leaf that no longer fits the
settings (a missing SAN, a foreign issuer, near expiry) is re-issued. The CA is only replaced
when asked for explicitly, because that invalidates every certificate signed by it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from sandbox.errors import SandboxError
from sandbox.model.topology import Topology
from sandbox.pki import inspect
from sandbox.pki.issue import Issued, PrivateKey, issue_ca, issue_leaf, new_key
from sandbox.pki.layout import CertLayout, LeafSpec
from sandbox.state import PUBLIC_MODE, SECRET_MODE, ensure_dir, write_atomic


@dataclass
class PkiReport:
    ca_fingerprint: str = ""
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "ca_fingerprint": self.ca_fingerprint,
            "created": self.created,
            "kept": self.kept,
            "warnings": self.warnings,
        }


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_pair(cert_path: Path, key_path: Path, issued: Issued) -> None:
    # Key first: a crash between the two leaves a mismatched pair, which the next run re-issues.
    write_atomic(key_path, issued.key_pem, SECRET_MODE)
    write_atomic(cert_path, issued.cert_pem, PUBLIC_MODE)


def _ensure_ca(
    topology: Topology, layout: CertLayout, rotate: bool, now: dt.datetime, report: PkiReport
) -> tuple[x509.Certificate, PrivateKey]:
    cfg = topology.settings.certs
    ensure_dir(layout.ca_dir)
    if layout.ca_cert.is_file() and not rotate:
        info, cert = inspect.describe(layout.ca_cert, "ca", "ca", now)
        if cert is None:
            raise SandboxError(
                f"{layout.ca_cert}: {info.problems[0]}; replace it with "
                "`sandbox certs create --rotate-ca`"
            )
        problems = inspect.check_ca(cert, layout.ca_key, now, warn_days=0)
        if problems:
            raise SandboxError(
                f"{layout.ca_cert}: {problems[0]}; replace it with "
                "`sandbox certs create --rotate-ca` (this re-issues every certificate)"
            )
        report.warnings += [f"CA: {p}" for p in inspect.expiry_problems(cert, now, cfg.warn_days)]
        report.kept.append("ca")
        return cert, inspect.load_key(layout.ca_key)
    if rotate and layout.ca_cert.is_file():
        report.warnings.append("CA replaced: every certificate it signed is re-issued")
    key = new_key(cfg.key_type)
    issued = issue_ca(
        key, topology.project, now, cfg.ca_days, dt.timedelta(hours=cfg.backdate_hours)
    )
    _write_pair(layout.ca_cert, layout.ca_key, issued)
    report.created.append("ca")
    return inspect.load_cert(layout.ca_cert), key


def _leaf_is_valid(spec: LeafSpec, ca: x509.Certificate, now: dt.datetime, warn_days: int) -> bool:
    if not spec.cert_path.is_file():
        return False
    try:
        cert = inspect.load_cert(spec.cert_path)
    except (OSError, ValueError):
        return False
    return not inspect.check_leaf(spec, cert, ca, now, warn_days)


def ensure_pki(
    topology: Topology,
    layout: CertLayout,
    *,
    force: bool = False,
    rotate_ca: bool = False,
    now: dt.datetime | None = None,
) -> PkiReport:
    """Make the certificate tree match the settings, touching only what must change."""
    now = now or _now()
    cfg = topology.settings.certs
    report = PkiReport()
    ensure_dir(layout.root)
    ca_cert, ca_key = _ensure_ca(topology, layout, rotate_ca, now, report)
    report.ca_fingerprint = inspect.fingerprint(ca_cert)
    ca_pem = layout.ca_cert.read_bytes()
    renew = force or rotate_ca or "ca" in report.created
    for spec in layout.leaves(topology):
        ensure_dir(spec.directory)
        if not renew and _leaf_is_valid(spec, ca_cert, now, cfg.warn_days):
            report.kept.append(spec.label)
            continue
        issued = issue_leaf(
            spec,
            new_key(cfg.key_type),
            ca_cert,
            ca_key,
            now,
            cfg.leaf_days,
            dt.timedelta(hours=cfg.backdate_hours),
        )
        write_atomic(spec.ca_copy, ca_pem, PUBLIC_MODE)
        _write_pair(spec.cert_path, spec.key_path, issued)
        report.created.append(spec.label)
    return report


def list_pki(
    topology: Topology, layout: CertLayout, now: dt.datetime | None = None
) -> list[inspect.CertInfo]:
    """Every certificate file of the plan, with the problems `certs list` warns about."""
    now = now or _now()
    warn = topology.settings.certs.warn_days
    ca_info, ca = inspect.describe(layout.ca_cert, "ca", "ca", now)
    if ca is not None:
        ca_info.problems += inspect.check_ca(ca, layout.ca_key, now, warn)
    out = [ca_info]
    for spec in layout.leaves(topology):
        info, cert = inspect.describe(spec.cert_path, spec.role, spec.name, now)
        if cert is not None:
            info.problems += inspect.check_leaf(spec, cert, ca, now, warn)
        out.append(info)
    return out


def pki_problems(topology: Topology, layout: CertLayout) -> list[str]:
    """One line per unfit certificate; empty when the tree matches the settings."""
    return [
        f"{info.role} {info.name}: {problem}"
        for info in list_pki(topology, layout)
        for problem in info.problems
    ]
