"""The fault injectors' command sequences, recorded by a fake runner (kind and aws cannot run
here; compose also runs against the real engine in tests/integration/test_chaos_faults.py)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from sandbox.chaos.faults import (
    DockerFault,
    Mode,
    aws_fault,
    compose_fault,
    compose_zone_fault,
    kind_fault,
)
from sandbox.chaos.targets import check_request
from sandbox.config.settings import Settings
from sandbox.errors import BadInput, SandboxError
from sandbox.model.topology import Topology
from sandbox.runtime.containers import (
    ContainerState,
    container_state,
    heal_commands,
    heal_compose,
)


def inspect_json(name: str, status: str, networks: dict[str, str], **labels: str) -> str:
    return json.dumps(
        [
            {
                "Name": f"/{name}",
                "State": {"Status": status},
                "NetworkSettings": {
                    "Networks": {n: {"IPAddress": ip} for n, ip in networks.items()}
                },
                "Config": {"Labels": labels},
            }
        ]
    )


class FakeRunner:
    """Answers `docker inspect` from a table and records every other command."""

    def __init__(
        self, inspect: dict[str, str], outputs: dict[str, str] | None = None, refuse: str = ""
    ) -> None:
        self.inspect = inspect
        self.outputs = outputs or {}
        self.refuse = refuse
        self.calls: list[list[str]] = []

    def __call__(self, argv: list[str], check: bool = True, timeout: float | None = None) -> Any:
        if argv[:2] == ["docker", "inspect"]:
            found = self.inspect.get(argv[2])
            return subprocess.CompletedProcess(argv, 0 if found else 1, found or "", "")
        self.calls.append(list(argv))
        if self.refuse and self.refuse in argv:
            return subprocess.CompletedProcess(argv, 1, "", "refused")
        key = " ".join(argv[-6:])
        return subprocess.CompletedProcess(argv, 0, self.outputs.get(key, ""), "")


NET = "p_default"


def test_container_state_reads_docker_inspect() -> None:
    state = container_state(inspect_json("p-crdb-2", "paused", {NET: "172.18.0.3"}, a="b"))
    assert state == ContainerState("p-crdb-2", "paused", {NET: "172.18.0.3"}, {"a": "b"})


@pytest.mark.parametrize(
    ("mode", "inject"),
    [
        (Mode.stop, ["docker", "stop", "-t", "10", "p-crdb-2"]),
        (Mode.kill, ["docker", "kill", "p-crdb-2"]),
        (Mode.pause, ["docker", "pause", "p-crdb-2"]),
        (Mode.partition, ["docker", "network", "disconnect", "p_default", "p-crdb-2"]),
    ],
)
def test_compose_fault_takes_the_zone_node_down(mode: Mode, inject: list[str]) -> None:
    runner = FakeRunner({"p-crdb-2": inspect_json("p-crdb-2", "running", {NET: "10.0.0.3"})})
    fault = compose_fault(runner, mode, "p", "crdb-2")
    fault.inject()
    assert runner.calls == [inject]


@pytest.mark.parametrize(
    ("status", "networks", "expected"),
    [
        ("running", {NET: "10.0.0.3"}, []),
        ("exited", {NET: ""}, [["docker", "start", "p-crdb-2"]]),
        ("paused", {NET: "10.0.0.3"}, [["docker", "unpause", "p-crdb-2"]]),
        (
            "running",
            {},
            [
                [
                    "docker",
                    "network",
                    "connect",
                    "--alias",
                    "crdb-2",
                    "--alias",
                    "p-crdb-2",
                    "p_default",
                    "p-crdb-2",
                ]
            ],
        ),
        (
            "paused",
            {},
            [
                [
                    "docker",
                    "network",
                    "connect",
                    "--alias",
                    "crdb-2",
                    "--alias",
                    "p-crdb-2",
                    "p_default",
                    "p-crdb-2",
                ],
                ["docker", "unpause", "p-crdb-2"],
            ],
        ),
        ("missing", {}, []),
    ],
)
def test_heal_brings_back_whatever_state_it_finds(
    status: str, networks: dict[str, str], expected: list[list[str]]
) -> None:
    state = ContainerState("p-crdb-2", status, networks, {})
    assert heal_commands(state, NET, ["crdb-2", "p-crdb-2"]) == expected


def test_restore_looks_at_the_container_not_at_the_mode() -> None:
    """A partition interrupted before it disconnected anything restores nothing."""
    runner = FakeRunner({"p-crdb-2": inspect_json("p-crdb-2", "running", {NET: "10.0.0.3"})})
    fault = DockerFault(runner, Mode.partition, "p-crdb-2", NET, ["crdb-2", "p-crdb-2"])
    assert fault.restore() == []
    assert runner.calls == []


def test_heal_compose_reports_each_container_it_healed() -> None:
    runner = FakeRunner(
        {
            "p-crdb-1": inspect_json("p-crdb-1", "running", {NET: "10.0.0.2"}),
            "p-crdb-2": inspect_json("p-crdb-2", "paused", {}),
            "p-crdb-3": inspect_json("p-crdb-3", "exited", {NET: ""}),
        }
    )
    lines = heal_compose(runner, "p", ["crdb-1", "crdb-2", "crdb-3"])
    assert lines == [
        "healed p-crdb-2 (paused): network connect, unpause",
        "healed p-crdb-3 (exited): start",
    ]
    assert [c[:3] for c in runner.calls] == [
        ["docker", "network", "connect"],
        ["docker", "unpause", "p-crdb-2"],
        ["docker", "start", "p-crdb-3"],
    ]


def test_compose_refuses_a_node_that_is_not_running() -> None:
    runner = FakeRunner({"p-crdb-2": inspect_json("p-crdb-2", "exited", {NET: ""})})
    with pytest.raises(SandboxError, match="p-crdb-2 is exited, not running"):
        compose_fault(runner, Mode.kill, "p", "crdb-2")


KUBECTL = ["kubectl", "--context", "kind-p", "--namespace", "iam-sandbox"]
ZONE = "topology.kubernetes.io/zone"


def test_kind_takes_down_the_zone_worker_and_reconnects_it_at_its_address() -> None:
    get_nodes = "get nodes -l topology.kubernetes.io/zone=us-east-1b -o name"
    runner = FakeRunner(
        {
            "p-worker2": inspect_json(
                "p-worker2", "running", {"kind": "172.19.0.4"}, **{"io.x-k8s.kind.cluster": "p"}
            )
        },
        {get_nodes: "node/p-worker2\n"},
    )
    fault = kind_fault(runner, Mode.partition, KUBECTL, ZONE, "us-east-1b", "p")
    fault.inject()
    assert runner.calls == [
        [*KUBECTL, "get", "nodes", "-l", "topology.kubernetes.io/zone=us-east-1b", "-o", "name"],
        ["docker", "network", "disconnect", "kind", "p-worker2"],
    ]
    runner.inspect["p-worker2"] = inspect_json("p-worker2", "running", {})
    assert fault.restore() == [
        ["docker", "network", "connect", "--ip", "172.19.0.4", "kind", "p-worker2"]
    ]


def test_kind_reconnects_without_the_address_when_docker_refuses_it() -> None:
    worker = inspect_json("p-worker", "running", {}, **{"io.x-k8s.kind.cluster": "p"})
    runner = FakeRunner({"p-worker": worker}, refuse="--ip")
    fault = DockerFault(runner, Mode.partition, "p-worker", "kind", (), "172.19.0.4")
    assert fault.restore() == [["docker", "network", "connect", "kind", "p-worker"]]
    assert runner.calls == [
        ["docker", "network", "connect", "--ip", "172.19.0.4", "kind", "p-worker"],
        ["docker", "network", "connect", "kind", "p-worker"],
    ]


def test_kind_refuses_a_container_of_another_cluster() -> None:
    get_nodes = "get nodes -l topology.kubernetes.io/zone=us-east-1b -o name"
    runner = FakeRunner(
        {
            "x-worker": inspect_json(
                "x-worker", "running", {"kind": "1.2.3.4"}, **{"io.x-k8s.kind.cluster": "other"}
            )
        },
        {get_nodes: "node/x-worker\n"},
    )
    with pytest.raises(SandboxError, match="not a node of kind cluster p"):
        kind_fault(runner, Mode.kill, KUBECTL, ZONE, "us-east-1b", "p")
    assert [c[:2] for c in runner.calls] == [["kubectl", "--context"]]


def test_aws_taints_the_zone_nodes_and_kill_also_evicts_at_once() -> None:
    get_nodes = "get nodes -l topology.kubernetes.io/zone=us-east-1b -o name"
    runner = FakeRunner({}, {get_nodes: "node/ip-10-0-1-5\nnode/ip-10-0-1-9\n"})
    fault = aws_fault(runner, Mode.kill, KUBECTL, ZONE, "us-east-1b", "iam-sandbox")
    fault.inject()
    fault.restore()
    taint = "io.iam-sandbox/zone-outage"
    assert runner.calls[1:] == [
        [
            *KUBECTL,
            "taint",
            "nodes",
            "ip-10-0-1-5",
            "ip-10-0-1-9",
            f"{taint}=us-east-1b:NoExecute",
            "--overwrite",
        ],
        [
            *KUBECTL,
            "delete",
            "pods",
            "--namespace",
            "iam-sandbox",
            "--field-selector",
            "spec.nodeName=ip-10-0-1-5",
            "--grace-period=0",
            "--force",
            "--wait=false",
        ],
        [
            *KUBECTL,
            "delete",
            "pods",
            "--namespace",
            "iam-sandbox",
            "--field-selector",
            "spec.nodeName=ip-10-0-1-9",
            "--grace-period=0",
            "--force",
            "--wait=false",
        ],
        [*KUBECTL, "taint", "nodes", "ip-10-0-1-5", "ip-10-0-1-9", f"{taint}:NoExecute-"],
    ]


def test_aws_stop_only_taints() -> None:
    get_nodes = "get nodes -l topology.kubernetes.io/zone=us-east-1b -o name"
    runner = FakeRunner({}, {get_nodes: "node/ip-10-0-1-5\n"})
    aws_fault(runner, Mode.stop, KUBECTL, ZONE, "us-east-1b", "iam-sandbox").inject()
    assert [c[len(KUBECTL)] for c in runner.calls] == ["get", "taint"]


@pytest.mark.parametrize(
    ("target", "mode", "yes", "message"),
    [
        ("aws", Mode.kill, False, "aws: a zone drill evicts every pod"),
        ("aws", Mode.pause, True, "--mode pause: not available on aws"),
        ("aws", Mode.partition, True, "--mode partition: not available on aws"),
        ("k8s", Mode.kill, True, "--target k8s: zone drills run on compose, kind, aws only"),
    ],
)
def test_requests_refused_before_anything_runs(
    target: str, mode: Mode, yes: bool, message: str
) -> None:
    with pytest.raises(BadInput, match=message):
        check_request(target, mode, yes, Topology(Settings()))


def test_requests_accepted() -> None:
    for target, mode, yes in (
        ("compose", Mode.pause, False),
        ("kind", Mode.partition, False),
        ("aws", Mode.stop, True),
    ):
        check_request(target, mode, yes, Topology(Settings()))


def test_a_zone_with_two_members_goes_down_and_comes_back_together() -> None:
    running = {
        name: inspect_json(name, "running", {NET: "10.0.0.9"}) for name in ("p-pg-2", "p-etcd-2")
    }
    runner = FakeRunner(running)
    fault = compose_zone_fault(runner, Mode.kill, "p", ["pg-2", "etcd-2"])
    assert fault.victim == "p-pg-2+p-etcd-2"
    fault.inject()
    assert runner.calls == [["docker", "kill", "p-pg-2"], ["docker", "kill", "p-etcd-2"]]
    runner.inspect = {
        name: inspect_json(name, "exited", {NET: ""}) for name in ("p-pg-2", "p-etcd-2")
    }
    runner.calls.clear()
    assert fault.restore() == [["docker", "start", "p-etcd-2"], ["docker", "start", "p-pg-2"]]
