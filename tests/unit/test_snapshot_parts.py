"""The snapshot's key (what must match) and its archive, without Docker."""

from __future__ import annotations

import io
import re
import tarfile
from pathlib import Path

import pytest
import zstandard

from sandbox.config.settings import Settings
from sandbox.errors import BadInput
from sandbox.model.topology import Topology
from sandbox.runtime.compose_snapshot import age_warning
from sandbox.runtime.snapshot_archive import Manifest, read_manifest, restore, write_archive
from sandbox.runtime.snapshot_key import differences, key_inputs, snapshot_key


def test_the_inputs_of_the_default_stack() -> None:
    assert key_inputs(Topology(Settings())) == {
        "snapshot format": "1",
        "database.engine": "cockroachdb",
        "region": "us-east-1",
        "zones": "us-east-1a,us-east-1b,us-east-1c",
        "node_prefix": "crdb",
        "load_balancer": "crdb",
        "images.cockroach": "cockroachdb/cockroach:v25.4.11",
        "images.hydra": "oryd/hydra:v26.2.0",
        "images.kratos": "oryd/kratos:v26.2.0",
        "images.keto": "oryd/keto:v26.2.0",
    }


def test_ports_memory_and_the_ui_keep_the_key_the_data_shaping_settings_change_it() -> None:
    base = snapshot_key(key_inputs(Topology(Settings())))
    same = Settings.model_validate(
        {"ports": {"hydra_public": 5444}, "memory": {"profile": "ci"}, "profiles": []}
    )
    assert snapshot_key(key_inputs(Topology(same))) == base
    for changed in ({"region": "eu-west-1"}, {"versions": {"kratos": "v26.2.1"}}):
        assert snapshot_key(key_inputs(Topology(Settings.model_validate(changed)))) != base


def test_differences_name_each_field() -> None:
    taken = {"images.hydra": "oryd/hydra:v26.2.0", "region": "us-east-1"}
    now = {"images.hydra": "oryd/hydra:v26.2.1", "region": "us-east-1", "zones": "a,b,c"}
    assert differences(taken, now) == [
        "images.hydra: the snapshot has oryd/hydra:v26.2.0, the settings give oryd/hydra:v26.2.1",
        "zones: the snapshot has (not set), the settings give a,b,c",
    ]


def manifest() -> Manifest:
    return Manifest(key="k", inputs={"a": "b"}, created=1000.0, engine="postgres",
                    volumes={"pg-1": "/var/lib/postgresql"})  # fmt: skip


def test_an_archive_round_trip_puts_state_back_and_hands_over_each_volume(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (state / "secrets").mkdir(parents=True)
    (state / "secrets" / "ory-db-password").write_text("pw-123")
    (state / "secrets" / "ory-db-password").chmod(0o600)
    volume = tmp_path / "pg-1.tar"
    volume.write_bytes(b"volume bytes")
    archive = tmp_path / "snap.tar.zst"
    size = write_archive(archive, manifest(), state, {"pg-1": volume})
    assert size == archive.stat().st_size and archive.stat().st_mode & 0o777 == 0o600
    assert read_manifest(archive) == manifest()

    target = tmp_path / "restored"
    seen: dict[str, bytes] = {}
    sizes = restore(archive, target, lambda m, stream: seen.update({m: stream.read()}))
    assert sizes == {"pg-1": 12} and seen == {"pg-1": b"volume bytes"}
    secret = target / "secrets" / "ory-db-password"
    assert secret.read_text() == "pw-123" and secret.stat().st_mode & 0o777 == 0o600


def test_something_else_is_not_a_snapshot(tmp_path: Path) -> None:
    plain = tmp_path / "plain.tar.zst"
    plain.write_bytes(zstandard.ZstdCompressor().compress(b"hello"))
    with pytest.raises(BadInput, match=re.escape("plain.tar.zst: not a sandbox snapshot")):
        read_manifest(plain)


def test_a_path_leaving_the_state_directory_is_refused(tmp_path: Path) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        data = b'{"key": "k", "inputs": {}, "created": 0, "engine": "postgres"}'
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        evil = tarfile.TarInfo("state/../../escaped")
        evil.size = 1
        tar.addfile(evil, io.BytesIO(b"x"))
    archive = tmp_path / "evil.tar.zst"
    archive.write_bytes(zstandard.ZstdCompressor().compress(raw.getvalue()))
    with pytest.raises(BadInput, match=re.escape("unsafe path 'state/../../escaped'")):
        restore(archive, tmp_path / "state", None)
    assert not (tmp_path / "escaped").exists()


def test_an_old_cockroach_snapshot_without_a_licence_is_flagged() -> None:
    old = Manifest(key="k", inputs={}, created=0.0, engine="cockroachdb")
    warning = age_warning(Topology(Settings()), old, now=9 * 86400)
    assert warning == (
        "this snapshot is 9.0 days old and keeps its cluster's first init: CockroachDB "
        "throttles an unlicensed multi-node cluster 7 days after that init, so set "
        "cockroach.license_key or save a fresh snapshot"
    )
    licensed = Topology(Settings.model_validate({"cockroach": {"license_key": "crl-0-ABCDEFGH"}}))
    assert age_warning(licensed, old, now=9 * 86400) is None
