"""A block of free host ports for one sandbox, so parallel jobs on one machine do not collide.

A block keeps the defaults' last three digits at a base (sql at base+257, Hydra public at
base+444, ...), so a port still says which service it is. Claims are files named after the
base in a shared folder, created exclusively; a claim whose owner file is gone is stale.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from sandbox.probes import port_is_free

BASES = tuple(b for b in range(20000, 32000, 1000) if b != 26000)
"""Below the ephemeral range (32768+), where outgoing connections could take a port by chance,
and away from the defaults (26257-26260)."""


def port_block(base: int, nodes: int = 3) -> dict[str, int | list[int]]:
    """The `ports:` settings of a sandbox whose block starts at `base`: every host-port setting
    of `Ports`, each at its default's last three digits above `base`."""
    from sandbox.config.settings import Ports

    block: dict[str, int | list[int]] = {}
    for name, default in Ports().model_dump().items():
        if isinstance(default, list):
            block[name] = [base + default[0] % 1000 + i for i in range(nodes)]
        else:
            block[name] = base + default % 1000
    return block


def flat(block: dict[str, int | list[int]]) -> list[int]:
    return [p for v in block.values() for p in (v if isinstance(v, list) else [v])]


def as_env(block: dict[str, int | list[int]]) -> dict[str, str]:
    """`SANDBOX_PORTS__*` variables that select this block (lists in YAML flow style)."""
    out = {}
    for name, value in block.items():
        text = f"[{', '.join(map(str, value))}]" if isinstance(value, list) else str(value)
        out[f"SANDBOX_PORTS__{name.upper()}"] = text
    return out


def claim_block(claims: Path, owner: Path, nodes: int = 3) -> int:
    """Claim a base whose ports are all free now; `owner` is the file that keeps it alive.

    Raises RuntimeError when every base is taken.
    """
    claims.mkdir(parents=True, exist_ok=True)
    for base in random.sample(list(BASES), len(BASES)):
        claim = claims / str(base)
        if claim.exists() and _stale(claim):
            claim.unlink(missing_ok=True)
        try:
            fd = os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w") as handle:
            handle.write(str(owner.resolve()))
        if all(port_is_free(p) for p in flat(port_block(base, nodes))):
            return base
        claim.unlink(missing_ok=True)
    raise RuntimeError(f"no free block of ports: every base in {min(BASES)}-{max(BASES)} is taken")


def release_block(claims: Path, base: int) -> None:
    (claims / str(base)).unlink(missing_ok=True)


def _stale(claim: Path) -> bool:
    try:
        return not Path(claim.read_text().strip()).exists()
    except OSError:
        return False
