"""A Kubernetes runtime on a recording executor: every command is kept, none is run.

Tools resolve to their bare names (`kubectl`, `helm`, ...), so expected argv lists are written
out literally in the tests; the status lines go to a string.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from sandbox.config.settings import Settings
from sandbox.model.topology import Topology
from sandbox.plan.status import Status
from sandbox.runtime.base import DriverContext
from sandbox.runtime.kube.commands import Recorder
from sandbox.runtime.kube.runtime import KubeRuntime
from sandbox.state import StateDir
from tests.support.kube import kube_settings


def bare(name: str, dry_run: bool) -> str:
    return name


def kube_runtime(
    provider: type,
    tmp_path: Path,
    recorder: Recorder | None = None,
    settings: Settings | None = None,
    **provider_options: Any,
) -> tuple[KubeRuntime, Recorder, io.StringIO]:
    stream = io.StringIO()
    topology = Topology(settings or kube_settings(tmp_path))
    ctx = DriverContext(topology, StateDir(tmp_path / "state"), Status(stream=stream))
    recorder = recorder or Recorder()
    runtime = KubeRuntime(ctx, provider(ctx, **provider_options), executor=recorder, tools=bare)
    return runtime, recorder, stream


def items(*objects: dict[str, Any]) -> str:
    """What `kubectl get ... -o json` prints for these objects."""
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)})


def node(name: str, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels}}


SERVER_VERSION = json.dumps({"serverVersion": {"gitVersion": "v1.36.1"}})
"""`kubectl version -o json` of a reachable cluster."""
