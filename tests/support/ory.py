"""Real Ory Hydra, Kratos and Keto as local processes on 127.0.0.1, for integration tests.

The binaries come from `scripts/prepare-ory.sh`, which builds them from their Go modules into a
cache. The Go module proxy this project can reach refuses Ory v26.2.0, so these are the newest
releases it serves that build: hydra v2.3.0, kratos v1.3.1 and keto v0.13.0-alpha.0. Their API
flows are the ones the sandbox uses with v26.2.0.

Each service runs with the config the sandbox renders (`sandbox.render.ory`), changed only where
a local process must differ from a container: free ports bound to 127.0.0.1, the identity schema
in a temporary file, and a `postgres://` DSN to the test's PostgreSQL with `sslmode=verify-full`.
As in the sandbox, the DSN and the service secrets reach the processes as environment variables,
and the migrate and serve verbs are the Compose target's (`migrate sql up -e --yes`, `serve all
--dev`, `serve`). Kratos's haveibeenpwned lookup is turned off so no request leaves 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sandbox.model.topology import Topology
from sandbox.pki.layout import CertLayout
from sandbox.render import ory
from tests.support.ports import free_port
from tests.support.postgres import Server

DEFAULT_VERSIONS = {"hydra": "v2.3.0", "kratos": "v1.3.1", "keto": "v0.13.0-alpha.0"}
"""What scripts/prepare-ory.sh builds by default (the proxy refuses v26.2.0; see above)."""
VERSION_ENV = {name: f"ORY_{name.upper()}_VERSION" for name in DEFAULT_VERSIONS}


def versions(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The versions under test: ORY_<NAME>_VERSION (as for scripts/prepare-ory.sh) or the
    defaults, so the same suite runs against any build in the cache."""
    return {n: environ.get(VERSION_ENV[n]) or v for n, v in DEFAULT_VERSIONS.items()}


VERSIONS = versions()
CACHE_ENV = "SANDBOX_ORY_CACHE"
CACHE_AT_START = os.environ.get(CACHE_ENV)
"""Read once at import: tests run with every SANDBOX_* variable removed (tests/conftest.py)."""
DATABASES = ("hydra", "kratos", "keto")
DB_PASSWORD = "ory-test-pw/with:odd@chars"  # a throwaway password that needs URL-encoding


def cache_dir() -> Path:
    chosen = os.environ.get(CACHE_ENV) or CACHE_AT_START
    if chosen:
        return Path(chosen)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "iam-sandbox" / "ory"


def binary(name: str) -> Path | None:
    path = cache_dir() / f"{name}-{VERSIONS[name]}" / name
    return path if path.is_file() and os.access(path, os.X_OK) else None


def missing_reason() -> str | None:
    """Why the Ory tests cannot run here, or None when every binary is in the cache."""
    missing = [f"{n} {v}" for n, v in VERSIONS.items() if binary(n) is None]
    if not missing:
        return None
    go = shutil.which("go") or (
        "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None
    )
    why = "Go is not installed" if go is None else "not built (module proxy unreachable?)"
    return (
        f"Ory binaries missing from {cache_dir()}: {', '.join(missing)}; {why}. "
        "Run scripts/prepare-ory.sh."
    )


def real_ory_marks() -> list[pytest.MarkDecorator]:
    """The marks of a module that runs the real Ory binaries on a real PostgreSQL: each missing
    prerequisite skips it with the reason shown."""
    from tests.support.postgres import postgres_bin

    reason = missing_reason()
    return [
        pytest.mark.ory,
        pytest.mark.postgres,
        pytest.mark.skipif(
            postgres_bin() is None,
            reason="PostgreSQL server not installed (scripts/test.sh installs it)",
        ),
        pytest.mark.skipif(reason is not None, reason=str(reason)),
    ]


def create_databases(pg: Server, password: str = DB_PASSWORD) -> None:
    """What the bootstrap does on CockroachDB: user `ory`, one database per service, owned by it.

    PostgreSQL 15 dropped CREATE on schema public for ordinary users, so ownership is given too.
    """
    quoted = password.replace("'", "''")
    pg.psql(f"CREATE USER ory WITH PASSWORD '{quoted}'")
    for db in DATABASES:
        pg.psql(f"CREATE DATABASE {db}")
        pg.psql(f"GRANT ALL ON DATABASE {db} TO ory")
        pg.psql(f"ALTER DATABASE {db} OWNER TO ory")
        pg.psql("ALTER SCHEMA public OWNER TO ory", db=db)


@dataclass
class OryStack:
    """The running services: the integration guide's URL variables, a database URL per service."""

    urls: dict[str, str]
    database_urls: dict[str, str]
    """libpq URLs as user ory with the password, sslmode=verify-full."""
    workdir: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = dict(self.urls)
        env["DATABASE_URL"] = self.database_urls["hydra"]
        return env

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _local_configs(
    topology: Topology, ports: dict[str, int], schema_path: Path
) -> dict[str, dict[str, Any]]:
    """The rendered configs with what a process on 127.0.0.1 needs instead of a container's."""
    cfg = copy.deepcopy(ory.configs(topology))
    for svc in cfg.values():
        svc.pop("dsn", None)  # comes from the environment, with the password, like the sandbox
    h = cfg["hydra"]
    h["serve"]["public"].update(host="127.0.0.1", port=ports["hydra_public"])
    h["serve"]["admin"].update(host="127.0.0.1", port=ports["hydra_admin"])
    issuer = f"http://127.0.0.1:{ports['hydra_public']}/"
    h["urls"]["self"] = {"issuer": issuer, "public": issuer}
    k = cfg["kratos"]
    for side in ("public", "admin"):
        port = ports[f"kratos_{side}"]
        k["serve"][side].update(host="127.0.0.1", port=port, base_url=f"http://127.0.0.1:{port}/")
    k["identity"]["schemas"][0]["url"] = schema_path.as_uri()
    # Service-to-service URLs name Kubernetes Services (Compose aliases); here every process
    # is on 127.0.0.1. The UI's pages keep their URLs: verify never opens them.
    h["urls"]["identity_provider"]["url"] = f"http://127.0.0.1:{ports['kratos_admin']}"
    h["urls"]["identity_provider"]["publicUrl"] = f"http://127.0.0.1:{ports['kratos_public']}/"
    k["oauth2_provider"]["url"] = f"http://127.0.0.1:{ports['hydra_admin']}"
    # Kratos asks api.pwnedpasswords.com about every new password by default: keep the test's
    # traffic on 127.0.0.1.
    k["selfservice"]["methods"]["password"]["config"] = {"haveibeenpwned_enabled": False}
    t = cfg["keto"]
    t["serve"]["read"].update(host="127.0.0.1", port=ports["keto_read"])
    t["serve"]["write"].update(host="127.0.0.1", port=ports["keto_write"])
    # Keto also serves metrics and (since v0.11) OPL syntax checks: keep them off the defaults.
    t["serve"]["metrics"] = {"host": "127.0.0.1", "port": ports["keto_metrics"]}
    t["serve"]["opl"] = {"host": "127.0.0.1", "port": ports["keto_opl"]}
    return cfg


def _wait_ready(url: str, proc: subprocess.Popen[bytes], name: str, log: Path, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} not ready after {timeout:.0f}s:\n{log.read_text()[-4000:]}")
        time.sleep(0.2)


def _run(argv: list[str], env: dict[str, str], timeout: float = 300) -> None:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} failed:\n{done.stdout}\n{done.stderr}")


def service_env(
    topology: Topology, pg: Server, ca: Path, password: str = DB_PASSWORD
) -> dict[str, dict[str, str]]:
    """`ory.secret_env` with the DSN pointed at the test PostgreSQL instead of CockroachDB."""
    secrets = ory.OrySecrets(
        db_password=password,
        hydra_system="hydra-system-secret-for-tests-0001",
        kratos_default="kratos-default-secret-for-tests-01",
        kratos_cookie="kratos-cookie-secret-for-tests-001",
        kratos_cipher="0123456789abcdef0123456789abcdef",
        db_superuser="superuser-password-for-tests",
        db_replication="replication-password-for-tests",
        ui_cookie="ui-cookie-secret-for-tests-000001",
        ui_csrf="ui-csrf-secret-for-tests-0000001",
    )
    env = ory.secret_env(topology, secrets)
    for db in DATABASES:
        env[db]["DSN"] = pg_url(topology, pg, ca, db, password, scheme="postgres")
    return env


def pg_url(topology: Topology, pg: Server, ca: Path, db: str, password: str, scheme: str) -> str:
    """The test PostgreSQL as `ory` with verify-full: `postgres://` for Ory (with the pool
    settings), `postgresql://` for libpq (without: libpq refuses them)."""
    return ory.dsn(
        topology,
        db,
        password,
        host="localhost",
        port=pg.port,
        ca_path=str(ca),
        scheme=scheme,
        pool=scheme != "postgresql",
    )


@contextlib.contextmanager
def ory_stack(
    topology: Topology, pg: Server, ca: Path, password: str = DB_PASSWORD
) -> Iterator[OryStack]:
    """Migrate, start and health-check the three services; stop them and clean up after."""
    names = {n: binary(n) for n in VERSIONS}
    if any(p is None for p in names.values()):
        raise RuntimeError(missing_reason() or "Ory binaries missing")
    bins = {n: str(p) for n, p in names.items()}
    work = Path(tempfile.mkdtemp(prefix="sandbox-ory-"))
    keys = ("hydra_public", "hydra_admin", "kratos_public", "kratos_admin")
    keys += ("keto_read", "keto_write", "keto_metrics", "keto_opl")
    ports = {key: free_port() for key in keys}
    schema = work / "identity.default.schema.json"
    schema.write_text(json.dumps(ory.identity_schema(), indent=2))
    for name, cfg in _local_configs(topology, ports, schema).items():
        (work / f"{name}.json").write_text(json.dumps(cfg, indent=2))
    secret_env = service_env(topology, pg, ca, password)
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "TMPDIR", "LANG")}
    # Ory sends anonymous usage reports to sqa.ory.sh unless told not to: keep traffic local.
    base["SQA_OPT_OUT"] = "true"
    base["LOG_LEVEL"] = "error"  # the one level every version's enum spells the same

    def env(name: str) -> dict[str, str]:
        return {**base, **secret_env[name]}

    url = "http://127.0.0.1:{}".format
    stack = OryStack(
        urls={
            "HYDRA_PUBLIC_URL": url(ports["hydra_public"]),
            "HYDRA_ADMIN_URL": url(ports["hydra_admin"]),
            "KRATOS_PUBLIC_URL": url(ports["kratos_public"]),
            "KRATOS_ADMIN_URL": url(ports["kratos_admin"]),
            "KETO_READ_REMOTE": url(ports["keto_read"]),
            "KETO_WRITE_REMOTE": url(ports["keto_write"]),
        },
        database_urls={
            db: pg_url(topology, pg, ca, db, password, scheme="postgresql") for db in DATABASES
        },
        workdir=work,
    )
    migrations = {
        "hydra": [bins["hydra"], "migrate", "sql", "up", "-e", "--yes"],
        "kratos": [bins["kratos"], "migrate", "sql", "up", "-e", "--yes"],
        "keto": [bins["keto"], "migrate", "up", "--yes", "-c", str(work / "keto.json")],
    }
    serve = {
        "hydra": [bins["hydra"], "serve", "all", "--dev", "-c", str(work / "hydra.json")],
        "kratos": [bins["kratos"], "serve", "-c", str(work / "kratos.json")],
        "keto": [bins["keto"], "serve", "-c", str(work / "keto.json")],
    }
    ready = {
        "hydra": f"{stack.urls['HYDRA_ADMIN_URL']}/health/ready",
        "kratos": f"{stack.urls['KRATOS_ADMIN_URL']}/admin/health/ready",
        "keto": f"{stack.urls['KETO_READ_REMOTE']}/health/ready",
    }
    try:
        for name, argv in migrations.items():
            _run(argv, env(name))
        for name, argv in serve.items():
            log = work / f"{name}.log"
            with open(log, "wb") as handle:
                stack.procs[name] = subprocess.Popen(
                    argv, env=env(name), stdout=handle, stderr=subprocess.STDOUT
                )
        for name, probe in ready.items():
            _wait_ready(probe, stack.procs[name], name, work / f"{name}.log", timeout=60)
        yield stack
    finally:
        for proc in stack.procs.values():
            proc.terminate()
        for proc in stack.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def on_postgres(topology: Topology, layout: CertLayout) -> Iterator[OryStack]:
    """The three services on a fresh TLS PostgreSQL (crdb-1's node certificate, `ory` with a
    password, as the bootstrap sets up CockroachDB): what most real-Ory tests start from."""
    from tests.support.postgres import sandbox_postgres

    with sandbox_postgres(layout, "password") as pg:
        create_databases(pg)
        with ory_stack(topology, pg, layout.ca_cert) as stack:
            yield stack
