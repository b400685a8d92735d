"""The stage plan: the chain of `up` written once, carried out against the recording runtime."""

from __future__ import annotations

import io

import pytest

from sandbox.config.settings import Settings
from sandbox.model.components import Component, PortSpec
from sandbox.model.topology import Topology
from sandbox.plan.stages import Stage, carry_out, gates, up_stages
from sandbox.plan.status import Status
from sandbox.plan.wait import Deadline, StageFailed
from sandbox.runtime.fake import FakeRuntime

NODES = ("crdb-1", "crdb-2", "crdb-3")
MIGRATIONS = ("hydra-migrate", "kratos-migrate", "keto-migrate")
SERVERS = ("hydra", "kratos", "keto", "ui")


def default_topology() -> Topology:
    return Topology(Settings())


def test_the_default_chain_is_nodes_one_shots_migrations_servers() -> None:
    assert up_stages(default_topology()) == (
        Stage("nodes started", "nodes", (*NODES, "crdb"), "nodes_ready"),
        Stage("cluster initialised", "one-shot", ("crdb-init",), "nodes_ready", True),
        Stage("bootstrap done", "one-shot", ("crdb-bootstrap",), "nodes_ready", False),
        Stage("migrations done", "migrations", MIGRATIONS, "migrations"),
        Stage("services ready", "servers", SERVERS, "services_ready"),
    )


def test_gates_follow_the_chain() -> None:
    started, completed = "service_started", "service_completed_successfully"
    assert gates(default_topology()) == {
        "crdb": {"crdb-1": started, "crdb-2": started, "crdb-3": started},
        "crdb-init": {"crdb-1": started, "crdb-2": started, "crdb-3": started},
        "crdb-bootstrap": {"crdb-init": completed, "crdb": started},
        "hydra-migrate": {"crdb-bootstrap": completed},
        "hydra": {"hydra-migrate": completed},
        "kratos-migrate": {"crdb-bootstrap": completed},
        "kratos": {"kratos-migrate": completed},
        "keto-migrate": {"crdb-bootstrap": completed},
        "keto": {"keto-migrate": completed},
        # the login UI has no database: it starts once the APIs it calls have started
        "ui": {"hydra": started, "kratos": started},
    }


def test_carry_out_starts_then_waits_each_stage_in_order() -> None:
    fake = FakeRuntime()
    out = io.StringIO()
    carry_out(default_topology(), fake, Status(stream=out), Deadline.after(60))
    assert fake.calls == [
        ("start", "nodes started", (*NODES, "crdb")),
        ("wait", "nodes started", (*NODES, "crdb")),
        ("start", "cluster initialised", ("crdb-init",)),
        ("wait", "cluster initialised", ("crdb-init",)),
        ("start", "bootstrap done", ("crdb-bootstrap",)),
        ("wait", "bootstrap done", ("crdb-bootstrap",)),
        ("start", "migrations done", MIGRATIONS),
        ("wait", "migrations done", MIGRATIONS),
        ("start", "services ready", SERVERS),
        ("wait", "services ready", SERVERS),
    ]
    ends = [line.split(" (")[0] for line in out.getvalue().splitlines() if line[0] in "✓✗"]
    assert ends == [
        "✓ nodes started",
        "✓ cluster initialised",
        "✓ bootstrap done",
        "✓ migrations done",
        "✓ services ready",
    ]


def test_a_failed_stage_stops_the_chain_and_says_where() -> None:
    fake = FakeRuntime(failures={"bootstrap done": "crdb-bootstrap exited with code 1"})
    out = io.StringIO()
    with pytest.raises(StageFailed) as exc:
        carry_out(default_topology(), fake, Status(stream=out), Deadline.after(60))
    assert exc.value.message == (
        "stage 'bootstrap done' failed (crdb-bootstrap): crdb-bootstrap exited with code 1"
    )
    assert fake.calls[-1] == ("wait", "bootstrap done", ("crdb-bootstrap",))
    assert ("start", "migrations done", MIGRATIONS) not in fake.calls
    assert "✗ bootstrap done" in out.getvalue()


def test_nothing_starts_after_the_deadline() -> None:
    fake = FakeRuntime()
    with pytest.raises(StageFailed) as exc:
        carry_out(default_topology(), fake, Status(quiet=True), Deadline(at=0.0))
    assert fake.calls == []
    assert exc.value.service == "crdb-1"


def test_a_stateless_component_needs_no_migration_and_waits_for_the_engine() -> None:
    topology = default_topology()
    proxy = Component(
        name="proxy",
        repository="example/proxy",
        ports=(PortSpec("proxy", 4455, "proxy", "public", "PROXY_URL"),),
        serve=("serve",),
        config="proxy.yaml",
    )
    # The catalog is read through `components`; a test topology adds one entry to it.
    topology.__dict__["components"] = (*topology.components, proxy)
    stages = up_stages(topology)
    assert stages[3].services == MIGRATIONS
    assert stages[4].services == (*SERVERS, "proxy")
    assert gates(topology)["proxy"] == {"crdb-bootstrap": "service_completed_successfully"}
