"""A throwaway PostgreSQL server from Debian's packages, with TLS from the sandbox's PKI.

It listens on 127.0.0.1 on a free port with a temporary data directory, requires TLS, and maps
client certificates to users (`cert clientcert=verify-full`) or checks passwords over TLS.
PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sandbox.pki.layout import CertLayout
from tests.support.ports import free_port


def postgres_bin() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


@dataclass
class Server:
    port: int
    data: Path
    bindir: Path
    superuser: str

    def psql(self, sql: str, db: str = "postgres") -> str:
        """Run SQL as the superuser over the Unix socket (no TLS needed for setup)."""
        argv = [
            str(self.bindir / "psql"),
            "-h",
            str(self.data),
            "-p",
            str(self.port),
            "-U",
            self.superuser,
            "-d",
            db,
            "-v",
            "ON_ERROR_STOP=1",
            "-Atc",
            sql,
        ]
        return subprocess.run(
            argv, check=True, capture_output=True, text=True, **_as_owner()
        ).stdout


def _as_owner() -> dict[str, object]:
    if os.geteuid() != 0:
        return {}
    pw = pwd.getpwnam("postgres")
    return {"user": pw.pw_uid, "group": pw.pw_gid}


def _chown_tree(path: Path) -> None:
    if os.geteuid() != 0:
        return
    pw = pwd.getpwnam("postgres")
    for root, dirs, files in os.walk(path):
        for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
            os.chown(name, pw.pw_uid, pw.pw_gid)


HBA = {
    # how a client logs in, always over TLS: its certificate, mapped to the user it names...
    "cert": "hostssl all all 127.0.0.1/32 cert clientcert=verify-full",
    # ...or a password (SCRAM), as the bootstrap sets `ory` up on CockroachDB
    "password": "hostssl all all 127.0.0.1/32 scram-sha-256",
}


@contextlib.contextmanager
def sandbox_postgres(layout: CertLayout, auth: Literal["cert", "password"]) -> Iterator[Server]:
    """PostgreSQL with the sandbox's PKI where CockroachDB would use it: crdb-1's node
    certificate and the sandbox's CA, clients logging in by `auth` (`HBA`)."""
    node = layout.node_dir("crdb-1")
    with tls_postgres(node / "ca.crt", node / "node.crt", node / "node.key", [HBA[auth]]) as pg:
        yield pg


@contextlib.contextmanager
def tls_postgres(
    ca_cert: Path, server_cert: Path, server_key: Path, hba: list[str]
) -> Iterator[Server]:
    """Start PostgreSQL with `ssl = on` and the given pg_hba lines; stop and delete it after."""
    bindir = postgres_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql")
    tmp = Path(tempfile.mkdtemp(prefix="sandbox-pg-"))
    os.chmod(tmp, 0o755)
    data = tmp / "data"
    tls = tmp / "tls"
    tls.mkdir()
    for src, name in ((ca_cert, "ca.crt"), (server_cert, "server.crt"), (server_key, "server.key")):
        shutil.copyfile(src, tls / name)
        os.chmod(tls / name, 0o600)
    _chown_tree(tmp)
    superuser = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    subprocess.run(
        [str(bindir / "initdb"), "-D", str(data), "-U", superuser, "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
        **_as_owner(),
    )
    port = free_port()
    conf = f"""
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{data}'
ssl = on
ssl_cert_file = '{tls}/server.crt'
ssl_key_file = '{tls}/server.key'
ssl_ca_file = '{tls}/ca.crt'
fsync = off
max_connections = 200
"""
    with open(data / "postgresql.conf", "a") as handle:
        handle.write(conf)
    (data / "pg_hba.conf").write_text("local all all trust\n" + "\n".join(hba) + "\n")
    _chown_tree(tmp)
    log = tmp / "server.log"
    with open(log, "wb") as log_file:
        proc = subprocess.Popen(
            [str(bindir / "postgres"), "-D", str(data)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            **_as_owner(),
        )
    server = Server(port=port, data=data, bindir=bindir, superuser=superuser)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                server.psql("select 1")
                break
            except subprocess.CalledProcessError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("PostgreSQL did not start:\n" + log.read_text()) from None
                time.sleep(0.2)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
