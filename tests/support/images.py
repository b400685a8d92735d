"""The real server images the suite runs, built on this machine by scripts/prepare-images.sh.

No image registry is reachable here, so the images are built from Debian bookworm's packages
(PostgreSQL 15 + Patroni + etcd 3.4 in one image, HAProxy 2.6) and from Ory's Go modules
(Hydra, Kratos, Keto), all under test names (`iam-sandbox-test/...`). The script writes a
settings fragment, `~/.cache/iam-sandbox/images.yaml`:

    images:
      postgres: iam-sandbox-test/pg-ha:15-debian12
      etcd: iam-sandbox-test/pg-ha:15-debian12
      haproxy: iam-sandbox-test/haproxy:2.6-debian12
      hydra: iam-sandbox-test/hydra:v2.3.0-gomod
      ...

`$IAM_SANDBOX_TEST_IMAGES` names another file. `images(...)` returns the keys asked for when
each image is present in the engine, else `problem(...)` says which one is missing and how to
build it; tests skip with that reason. Each image carries labels `io.iam-sandbox.test.<what>`
with the versions inside (`labels(...)`).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import pytest
import yaml

from tests.support.docker import image_present

ENV = "IAM_SANDBOX_TEST_IMAGES"
KEYS = ("postgres", "etcd", "haproxy", "hydra", "kratos", "keto", "ui")
LABEL = "io.iam-sandbox.test"
BUILD = "scripts/prepare-images.sh"


def fragment_path() -> Path:
    chosen = os.environ.get(ENV)
    if chosen:
        return Path(chosen)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "iam-sandbox" / "images.yaml"


def _read(path: Path) -> dict[str, str] | str:
    """The `images:` mapping of the fragment, or why it cannot be had."""
    try:
        data = yaml.safe_load(path.read_text())
    except OSError:
        return f"no {path} (run {BUILD}; {ENV} names another file)"
    except yaml.YAMLError as exc:
        return f"{path} is not YAML ({exc}); run {BUILD} again"
    found = data.get("images") if isinstance(data, dict) else None
    if not isinstance(found, dict):
        return f"{path} has no `images:` mapping; run {BUILD} again"
    return {str(k): str(v) for k, v in found.items() if v}


_present = cache(image_present)
"""`image_present`, asked once per image and session: every test module's skip condition
asks about the same six images."""


def problem(keys: Iterable[str] = KEYS, path: Path | None = None) -> str | None:
    """Why the images of `keys` cannot be used here, or None when each is in the engine."""
    path = path or fragment_path()
    found = _read(path)
    if isinstance(found, str):
        return found
    for key in keys:
        image = found.get(key)
        if image is None:
            return f"no {key} image in {path} (its build failed or was skipped: run {BUILD})"
        if not _present(image):
            return f"image {image} ({key}) is not in the Docker engine: run {BUILD}"
    return None


def images(keys: Iterable[str] = KEYS, path: Path | None = None) -> dict[str, str]:
    """{key: image} for `keys`; raises LookupError with `problem(...)`'s reason otherwise."""
    keys = tuple(keys)
    path = path or fragment_path()
    reason = problem(keys, path)
    if reason is not None:
        raise LookupError(reason)
    found = _read(path)
    assert isinstance(found, dict)
    return {k: found[k] for k in keys}


def require(*keys: str) -> dict[str, str]:
    """`images(keys)` in a test, which is skipped with the reason when one is missing."""
    try:
        return images(keys or KEYS)
    except LookupError as exc:
        pytest.skip(str(exc))


def labels(image: str) -> dict[str, str]:
    """The image's `io.iam-sandbox.test.*` labels without the prefix (e.g. `patroni`)."""
    out = subprocess.run(
        ["docker", "image", "inspect", "-f", "{{ json .Config.Labels }}", image],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    found = json.loads(out) or {}
    prefix = LABEL + "."
    return {k[len(prefix) :]: v for k, v in found.items() if k.startswith(prefix)}
