"""Snapshots on Compose: save a healthy stack's database volumes, restore them before `up`.

Save stops the whole project first (every node together, Ory's servers before them, as
`docker compose stop` orders it), so the data folders are copied at rest, never live, then
copies each member's data folder out of its stopped container (`docker cp -a`, owners and
modes kept). Restore checks everything before it touches anything: the key (and each local
image's ID) against the snapshot's, and that no data volume of this sandbox exists (unless
`--force`); then it puts the certificates and secrets back, creates the members' containers
without starting them, and copies each data folder in. The `up` that follows finds the data:
the engine's one-shots and Ory's migrations have nothing to do.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING

from sandbox.errors import BadInput, CommandFailed, SandboxError
from sandbox.exec import run
from sandbox.runtime.snapshot_archive import Manifest, read_manifest, restore, write_archive
from sandbox.runtime.snapshot_key import differences, key_inputs, snapshot_key

if TYPE_CHECKING:
    from sandbox.model.topology import Topology
    from sandbox.runtime.compose import ComposeDriver

SUFFIX = ".tar.zst"
LICENSE_GRACE_DAYS = 7


@dataclass(frozen=True)
class Saved:
    path: Path
    key: str
    size: int
    seconds: float


def snapshots_dir(driver: ComposeDriver) -> Path:
    return driver.ctx.state.root / "snapshots"


def _data_members(topology: Topology) -> dict[str, str]:
    """Member -> its data folder, for every member that keeps data in a volume."""
    return {m.name: m.data_dir for m in topology.engine.members(topology) if m.data_dir is not None}


def _container(topology: Topology, service: str) -> str:
    return f"{topology.project}-{service}"


def _compose(driver: ComposeDriver, *args: str) -> None:
    argv = ["docker", "compose", "-f", str(driver.compose_file), "-p", driver.topology.project]
    try:
        run([*argv, *args], timeout=300)
    except CommandFailed as exc:
        raise SandboxError(f"docker compose {args[0]}: {exc.stderr.strip()[-300:]}") from None


def image_ids(topology: Topology, fields: list[str]) -> dict[str, str]:
    """`images.<key>` -> the local image ID, for those present on this machine."""
    out = {}
    for name in fields:
        image = topology.image(name.removeprefix("images."))
        done = subprocess.run(
            ["docker", "image", "inspect", "-f", "{{.Id}}", image],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if done.returncode == 0 and done.stdout.strip():
            out[name] = done.stdout.strip()
    return out


def save(driver: ComposeDriver, path: Path) -> Saved:
    """Stop the project, copy every data folder out, write the archive. The caller starts
    the stack again (`up`), which finds the same data."""
    from sandbox import __version__

    topology = driver.topology
    start = time.monotonic()
    inputs = key_inputs(topology)
    members = _data_members(topology)
    manifest = Manifest(
        key=snapshot_key(inputs),
        inputs=inputs,
        created=time.time(),
        engine=topology.settings.database.engine,
        image_ids=image_ids(topology, [k for k in inputs if k.startswith("images.")]),
        volumes={m: str(PurePosixPath(d).parent) for m, d in members.items()},
        sandbox_version=__version__,
    )
    stop_in_order(driver)
    work = Path(tempfile.mkdtemp(prefix="sandbox-snapshot-"))
    try:
        tars = {}
        for member, data_dir in members.items():
            tars[member] = work / f"{member}.tar"
            with tars[member].open("wb") as out:
                done = subprocess.run(
                    ["docker", "cp", "-a", f"{_container(topology, member)}:{data_dir}", "-"],
                    stdout=out,
                    stderr=subprocess.PIPE,
                    timeout=600,
                )
            if done.returncode != 0:
                raise SandboxError(
                    f"cannot copy {member}'s data out: {done.stderr.decode().strip()[-300:]}"
                )
        size = write_archive(path, manifest, driver.ctx.state.root, tars)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Saved(path, manifest.key, size, time.monotonic() - start)


def stop_in_order(driver: ComposeDriver) -> None:
    """Clients first (Ory, the load balancer), then the database nodes, then what they agree
    through (etcd): a node that stops while its store still answers leaves it clean (Patroni
    gives up its leader key), so the restored cluster elects a leader without waiting for a
    stale key to expire."""
    from sandbox.runtime.compose_docker import all_services

    topology = driver.topology
    members = [m.name for m in topology.engine.members(topology)]
    nodes = [n.name for n in topology.nodes]
    clients = [s for s in all_services(topology) if s not in members]
    for group in (clients, nodes, [m for m in members if m not in nodes]):
        if group:
            _compose(driver, "stop", *group)


def existing_volumes(topology: Topology) -> list[str]:
    names = [f"{topology.project}_{m}-data" for m in _data_members(topology)]
    done = subprocess.run(
        ["docker", "volume", "ls", "-q", *(f"--filter=name=^{n}$" for n in names)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return sorted(v for v in done.stdout.split() if v in names)


def check(driver: ComposeDriver, path: Path, force: bool) -> Manifest:
    """Everything that could refuse the restore, before anything is touched."""
    topology = driver.topology
    manifest = read_manifest(path)
    now = key_inputs(topology)
    if manifest.key != snapshot_key(now):
        found = differences(manifest.inputs, now) or ["its key differs from these settings'"]
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise BadInput(f"snapshot {path.name} does not match: {found[0]}{more}")
    local = image_ids(topology, list(manifest.image_ids))
    for name, saved in sorted(manifest.image_ids.items()):
        if name in local and local[name] != saved:
            raise BadInput(
                f"snapshot {path.name} does not match: {name} ({topology.image(name[7:])}) is "
                f"{local[name][:19]} here, {saved[:19]} in the snapshot"
            )
    held = existing_volumes(topology)
    if held and not force:
        raise BadInput(
            f"the sandbox's volumes already hold data ({', '.join(held)}): `sandbox down "
            "--volumes` first, or add --force to replace them with the snapshot's"
        )
    return manifest


def age_warning(topology: Topology, manifest: Manifest, now: float | None = None) -> str | None:
    """CockroachDB counts a cluster's licence grace period from its first `init`, which a
    restored cluster keeps (its cluster id too): an old snapshot without a licence key can
    be throttled at once."""
    if manifest.engine != "cockroachdb" or topology.settings.cockroach.license_key:
        return None
    days = ((now or time.time()) - manifest.created) / 86400
    return (
        f"this snapshot is {days:.1f} days old and keeps its cluster's first init: CockroachDB "
        f"throttles an unlicensed multi-node cluster {LICENSE_GRACE_DAYS} days after that init, "
        "so set cockroach.license_key or save a fresh snapshot"
    )


def load_volumes(driver: ComposeDriver, path: Path, manifest: Manifest) -> dict[str, int]:
    """Put back the state files, create the members' containers (and volumes) without
    starting them, and copy each data folder in."""
    topology = driver.topology
    members = _data_members(topology)
    _compose(driver, "create", "--no-recreate", *members)

    def copy_in(member: str, stream: IO[bytes]) -> None:
        parent = manifest.volumes.get(member)
        if member not in members or parent is None:
            raise BadInput(f"snapshot {path.name} has data for {member}, which this stack lacks")
        target = f"{_container(topology, member)}:{parent}"
        proc = subprocess.Popen(
            ["docker", "cp", "-a", "-", target], stdin=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert proc.stdin is not None
        shutil.copyfileobj(stream, proc.stdin, 1 << 20)
        proc.stdin.close()
        err = proc.stderr.read().decode() if proc.stderr else ""
        if proc.wait(timeout=600) != 0:
            raise SandboxError(f"cannot copy {member}'s data in: {err.strip()[-300:]}")

    return restore(path, driver.ctx.state.root, copy_in, restore_state=False)


def restore_state(driver: ComposeDriver, path: Path) -> None:
    """The certificates and secrets the snapshot's data was made with, into the state dir."""
    restore(path, driver.ctx.state.root, None, restore_state=True)


def prepare_restore(driver: ComposeDriver, path: Path, force: bool, dry_run: bool) -> Manifest:
    """Before `up`'s pre-flight: refuse (nothing touched) or clear the way and put the
    snapshot's certificates and secrets in place, so the pre-flight keeps them."""
    from sandbox.runtime.base import DownOptions

    manifest = check(driver, path, force)
    status = driver.ctx.status
    status.note(f"snapshot {path.name}: key {manifest.key}, saved {_ago(manifest.created)}")
    warning = age_warning(driver.topology, manifest)
    if warning:
        status.warn(warning)
    if dry_run:
        return manifest
    if existing_volumes(driver.topology):  # only with --force (`check` refused otherwise)
        driver.down(DownOptions(volumes=True))
    restore_state(driver, path)
    return manifest


def _ago(created: float) -> str:
    seconds = max(time.time() - created, 0)
    if seconds < 3600:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds / 86400:.1f} days ago"
