"""The files of a Compose project on disk: written from the pure render, and compared.

`up` writes the project into the state directory (certificates referenced in place), `render
--out` writes a movable copy with the certificates beside it; both compare what is on disk
with what was there before, so a changed file (a new license key, new certificates) re-runs
the chain or recreates the containers.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sandbox.model.topology import Topology
from sandbox.pki.layout import CertLayout
from sandbox.render.compose import render_project
from sandbox.state import PUBLIC_MODE, SECRET_MODE, StateDir, ensure_dir, ory_secrets, write_atomic

CERTS_DIGEST = "certs.sha256"
"""Written next to the project by `up`: a change of certificate material recreates the stack."""


def write_project(topology: Topology, state: StateDir, out: Path, certs: str) -> list[Path]:
    """Every rendered file into `out`; `certs` is the certificate tree relative to it."""
    project = render_project(topology, ory_secrets(state), certs=certs)
    ensure_dir(out)
    written = []
    for rel, text in project.public.items():
        write_atomic(out / rel, text.encode(), PUBLIC_MODE)
        written.append(out / rel)
    for rel, text in project.secret.items():
        write_atomic(out / rel, text.encode(), SECRET_MODE)
        written.append(out / rel)
    return written


def render_standalone(
    topology: Topology, state: StateDir, layout: CertLayout, out: Path
) -> list[Path]:
    """A self-contained project with a copy of the certificates, without the CA key."""
    from sandbox.pki.store import ensure_pki

    state.create()
    ensure_pki(topology, layout)
    written = write_project(topology, state, out, certs="certs")
    src = layout.root
    for path in sorted(src.rglob("*")):
        if path.is_file() and path != layout.ca_key:
            target = out / "certs" / path.relative_to(src)
            mode = SECRET_MODE if path.suffix == ".key" else PUBLIC_MODE
            write_atomic(target, path.read_bytes(), mode)
            written.append(target)
    write_atomic(
        out / ".gitignore", b"# generated secrets and keys\nsecrets/\ncerts/\n", PUBLIC_MODE
    )
    return written


def certs_digest(layout: CertLayout) -> str:
    """SHA-256 over every certificate and key the containers mount (not the CA key)."""
    digest = hashlib.sha256()
    root = layout.root
    for path in sorted(root.rglob("*")):
        if path.is_file() and path != layout.ca_key:
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest() + "\n"


def snapshot(project_dir: Path) -> dict[str, bytes]:
    """Every rendered file (secrets included: a new license key must re-run bootstrap)."""
    if not project_dir.is_dir():
        return {}
    return {
        str(p.relative_to(project_dir)): p.read_bytes()
        for p in sorted(project_dir.rglob("*"))
        if p.is_file()
    }
