"""A real Helm for the tests, and the Ory charts it renders.

Helm is built from its Go module by `scripts/prepare-helm.sh` into a cache; the charts are the
ory/k8s release the kind target installs (0.62.1), kept as test data in `../shared/charts`
beside the work tree, since no chart repository is reachable from the test machines.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

HELM_VERSION = "v3.19.0"
"""What scripts/prepare-helm.sh builds: the version `tools.helm` pins."""
CHART_VERSION = "0.62.1"
CACHE_ENV = "SANDBOX_HELM_CACHE"
CACHE_AT_START = os.environ.get(CACHE_ENV)
"""Read once at import: tests run with every SANDBOX_* variable removed (tests/conftest.py)."""
CHARTS_DIR = Path(__file__).resolve().parents[3] / "shared" / "charts" / f"ory-{CHART_VERSION}"


def _cache_dir() -> Path:
    chosen = os.environ.get(CACHE_ENV) or CACHE_AT_START
    if chosen:
        return Path(chosen)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "iam-sandbox" / "helm"


def helm_binary() -> Path | None:
    path = _cache_dir() / HELM_VERSION / "helm"
    return path if path.is_file() and os.access(path, os.X_OK) else None


def chart(name: str) -> Path | None:
    path = CHARTS_DIR / f"{name}-{CHART_VERSION}.tgz"
    return path if path.is_file() else None


def helm_problem(*charts: str) -> str | None:
    """Why the Helm tests cannot run here, or None when Helm and the named charts are present."""
    if helm_binary() is None:
        return (
            f"helm {HELM_VERSION} missing from {_cache_dir()}: run scripts/prepare-helm.sh "
            "(it needs Go and the module proxy)"
        )
    missing = [name for name in charts if chart(name) is None]
    if missing:
        return f"Ory charts {CHART_VERSION} missing from {CHARTS_DIR}: {', '.join(missing)}"
    return None


def template(name: str, values: dict[str, Any], workdir: Path) -> str:
    """`helm template` of one Ory chart with these values, released under the chart's name as
    the drivers do: the manifests as one YAML text."""
    import yaml

    binary, archive = helm_binary(), chart(name)
    assert binary is not None and archive is not None, helm_problem(name)
    values_file = workdir / f"{name}-values.yaml"
    values_file.write_text(yaml.safe_dump(values, sort_keys=False))
    result = subprocess.run(
        [str(binary), "template", name, str(archive), "-f", str(values_file)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HELM_CACHE_HOME": str(workdir / ".helm-cache")},
    )
    if result.returncode != 0:
        raise AssertionError(f"helm template {name} failed: {result.stderr.strip()}")
    return result.stdout


def manifests(name: str, values: dict[str, Any], workdir: Path) -> list[dict[str, Any]]:
    """The rendered objects of one chart, parsed."""
    import yaml

    return [doc for doc in yaml.safe_load_all(template(name, values, workdir)) if doc]
