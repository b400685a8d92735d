"""The committed `kind/` folder is the default kind render, byte for byte.

After an intended change, regenerate it with
`python -c "from tests.unit.test_kind_golden import regenerate; regenerate()"`.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from sandbox.config.settings import Settings
from sandbox.model.topology import Topology
from sandbox.plan.status import Status
from sandbox.runtime.base import DriverContext
from sandbox.state import StateDir
from sandbox.targets import KIND as KindDriver

GOLDEN = Path(__file__).resolve().parents[2] / "kind"


def render_default(out: Path) -> None:
    ctx = DriverContext(Topology(Settings()), StateDir(out / ".state"), Status(quiet=True))
    KindDriver(ctx).render(out)


def files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".state" not in p.parts
    }


def regenerate() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        render_default(Path(tmp))
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for rel, data in files(Path(tmp)).items():
            (GOLDEN / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / rel).write_bytes(data)


def test_committed_kind_folder_equals_the_default_render(tmp_path: Path) -> None:
    render_default(tmp_path)
    rendered, committed = files(tmp_path), files(GOLDEN)
    assert sorted(committed) == sorted(rendered), "regenerate kind/ (see module docstring)"
    for rel, data in rendered.items():
        assert committed[rel] == data, f"kind/{rel} is stale: regenerate (see module docstring)"


def test_committed_render_holds_no_private_key() -> None:
    for rel, data in files(GOLDEN).items():
        assert b"PRIVATE KEY" not in data, rel
        assert not rel.endswith((".key", ".env")), rel
