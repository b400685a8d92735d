"""Pre-flight refuses a busy port for every port the Compose project publishes, each node's SQL
and DB Console port included, naming the setting to change."""

from __future__ import annotations

import pytest

from sandbox.config.settings import Settings
from sandbox.errors import BadInput
from sandbox.model.topology import Topology
from sandbox.runtime.base import require_free_ports
from sandbox.runtime.compose_docker import port_owners as _port_owners
from tests.support.docker import standin_ports
from tests.support.ports import free_base
from tests.support.squat import squat

# (setting, offset from the base, wanted by): the 14 host ports of a Compose sandbox
PUBLISHED = [
    ("ports.sql", 257, "crdb"),
    ("ports.node_sql[0]", 258, "crdb-1"),
    ("ports.node_http[0]", 80, "crdb-1"),
    ("ports.node_sql[1]", 259, "crdb-2"),
    ("ports.node_http[1]", 81, "crdb-2"),
    ("ports.node_sql[2]", 260, "crdb-3"),
    ("ports.node_http[2]", 82, "crdb-3"),
    ("ports.hydra_public", 444, "hydra"),
    ("ports.hydra_admin", 445, "hydra"),
    ("ports.kratos_public", 433, "kratos"),
    ("ports.kratos_admin", 434, "kratos"),
    ("ports.keto_read", 466, "keto"),
    ("ports.keto_write", 467, "keto"),
    ("ports.ui", 455, "ui"),
]


@pytest.fixture(scope="module")
def base() -> int:
    return free_base()


def topology_at(base: int) -> Topology:
    return Topology(Settings.model_validate({"ports": standin_ports(base)}))


def test_every_published_port_is_checked(base: int) -> None:
    owners = _port_owners(topology_at(base))
    assert sorted(owners) == sorted((s, base + off, who) for s, off, who in PUBLISHED)


@pytest.mark.parametrize(("setting", "offset", "owner"), PUBLISHED)
def test_a_busy_port_is_refused_by_name(base: int, setting: str, offset: int, owner: str) -> None:
    port = base + offset
    with squat(port):
        with pytest.raises(BadInput) as refused:
            require_free_ports(_port_owners(topology_at(base)), set())
        # a port the sandbox itself already publishes is not in the way
        require_free_ports(_port_owners(topology_at(base)), {port})
    assert refused.value.message == (
        f"port {port} on 127.0.0.1 is already in use: {setting} (wanted by {owner}); "
        f"free it or change {setting}"
    )
