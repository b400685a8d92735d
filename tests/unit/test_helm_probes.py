"""The Ory servers' start-up probe: a budget that fits a loaded laptop, not the charts' 6 s.

The charts (ory/k8s 0.62.1) default `deployment.startupProbe` to period 1 s x 5 failures; a pod
that needs longer to reach CockroachDB through TLS is restarted in a loop.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.model.topology import Topology
from sandbox.render import helm_values
from tests.support import helm

SERVICES = ("hydra", "kratos", "keto")
TIMERS = {
    "initialDelaySeconds": 1,
    "periodSeconds": 3,
    "timeoutSeconds": 3,
    "failureThreshold": 40,
    "successThreshold": 1,
}


@pytest.mark.parametrize("service", SERVICES)
def test_values_give_every_server_two_minutes_to_start(topology: Topology, service: str) -> None:
    probe = helm_values.values(topology, service)["deployment"]["startupProbe"]
    assert probe == TIMERS
    assert probe["periodSeconds"] * probe["failureThreshold"] == 120
    assert "customStartupProbe" not in helm_values.values(topology, service)["deployment"]


@pytest.mark.skipif(helm.helm_problem(*SERVICES) is not None, reason="no helm or Ory charts")
@pytest.mark.parametrize(
    ("service", "path", "port"),
    [
        ("hydra", "/health/ready", 4445),
        ("kratos", "/admin/health/ready", 4434),
        ("keto", "/health/ready", 4467),
    ],
)
def test_the_charts_render_those_timers_into_the_deployment(
    topology: Topology, tmp_path: Path, service: str, path: str, port: int
) -> None:
    """`helm template` of the real chart: the key the sandbox sets is the one the chart reads."""
    objects = helm.manifests(service, helm_values.values(topology, service), tmp_path)
    (deployment,) = [
        o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == service
    ]
    (container,) = [
        c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == service
    ]
    probe = container["startupProbe"]
    assert probe["httpGet"]["path"] == path and probe["httpGet"]["port"] == port
    assert {k: v for k, v in probe.items() if k != "httpGet"} == TIMERS
