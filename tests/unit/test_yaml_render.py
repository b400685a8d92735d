"""Rendered YAML is plain: no anchors or aliases (`&id001` / `*id001`), on any target."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from sandbox.config.settings import Settings
from sandbox.model.topology import Topology
from sandbox.plan.status import Status
from sandbox.render import compose, helm_values, k8s, yaml_text
from sandbox.runtime.base import DriverContext
from sandbox.state import StateDir
from sandbox.targets import KIND as KindDriver
from tests.support.secrets import RENDER_SECRETS

ALIAS = re.compile(r"(^|[\s:\-\[,])[&*]id\d+")


def test_a_shared_object_is_written_out_twice() -> None:
    shared = {"app": "x", "tier": ["a", "b"]}
    text = yaml_text.dump({"metadata": {"labels": shared}, "template": {"labels": shared}})
    assert text == (
        "metadata:\n"
        "  labels:\n"
        "    app: x\n"
        "    tier:\n"
        "    - a\n"
        "    - b\n"
        "template:\n"
        "  labels:\n"
        "    app: x\n"
        "    tier:\n"
        "    - a\n"
        "    - b\n"
    )


def test_multi_line_strings_stay_block_scalars() -> None:
    text = k8s.to_yaml({"script": "set -e\necho hi\n"}, header="")
    assert text == "script: |\n  set -e\n  echo hi\n"
    assert yaml.safe_load(text) == {"script": "set -e\necho hi\n"}


def test_compose_project_has_no_anchors() -> None:
    secrets = RENDER_SECRETS
    project = compose.render_project(Topology(Settings()), secrets)
    for name, text in project.public.items():
        assert not ALIAS.search(text), name


def test_kind_render_has_no_anchors(tmp_path: Path) -> None:
    topology = Topology(Settings())
    KindDriver(DriverContext(topology, StateDir(tmp_path / "state"), Status(quiet=True))).render(
        tmp_path / "out"
    )
    files = [p for p in (tmp_path / "out").rglob("*.yaml")]
    assert len(files) > 10
    for path in files:
        assert not ALIAS.search(path.read_text()), path.name
    for svc in ("hydra", "kratos", "keto"):
        assert not ALIAS.search(k8s.to_yaml(helm_values.values(topology, svc))), svc
