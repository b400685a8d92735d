"""The real server images scripts/prepare-images.sh builds (tests/support/images.py): what is
inside each is what the fragment and the labels say. Skipped, naming the missing image and the
script, where an image is absent.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from tests.support import images as test_images
from tests.support.ory import VERSIONS as ORY_VERSIONS

pytestmark = pytest.mark.docker

# The users of the Ory images (see scripts/prepare-images.sh for where they come from).
ORY_USERS = {
    "hydra": (65532, "/home/nonroot"),
    "kratos": (10000, "/home/ory"),
    "keto": (65532, "/home/ory"),
}


def run(image: str, *args: str, entrypoint: str | None = None, timeout: float = 60) -> str:
    """`docker run --rm` the image; its stdout and stderr together (asserts it succeeded)."""
    argv = ["docker", "run", "--rm", "--network", "none"]
    if entrypoint is not None:
        argv += ["--entrypoint", entrypoint]
    done = subprocess.run([*argv, image, *args], capture_output=True, text=True, timeout=timeout)
    out = done.stdout + done.stderr
    assert done.returncode == 0, f"{image} {args}: exit {done.returncode}\n{out}"
    return out


def test_fragment_names_test_images_only() -> None:
    found = test_images.require()
    assert set(found) == set(test_images.KEYS)
    for key, image in found.items():
        assert image.startswith("iam-sandbox-test/"), (key, image)
        tag = image.rpartition(":")[2]
        assert tag and tag != "latest", image
    assert found["etcd"] == found["postgres"]  # one image serves both roles


def test_postgres_is_15_with_the_labelled_version() -> None:
    image = test_images.require("postgres")["postgres"]
    out = run(image, "postgres", "--version")
    match = re.search(r"postgres \(PostgreSQL\) (15\.\d+)", out)
    assert match, out
    assert test_images.labels(image)["postgresql"] == match.group(1)
    # The Debian path Patroni's bin_dir names, and no cluster made by the package.
    assert match.group(1) in run(image, "/usr/lib/postgresql/15/bin/postgres", "--version")
    assert run(image, "sh", "-c", "ls -A /etc/postgresql/ 2>/dev/null | wc -l").strip() == "0"


def test_patroni_and_its_etcd3_and_postgres_drivers() -> None:
    image = test_images.require("postgres")["postgres"]
    # Patroni from PyPI in its own venv, as the Dockerfile rendered for users installs it.
    out = run(image, "/opt/patroni/bin/patroni", "--version")
    match = re.search(r"patroni (\d+\.\d+\.\d+)", out)
    assert match, out
    assert match.group(1) == "4.1.5"
    assert test_images.labels(image)["patroni"] == match.group(1)
    check = "import etcd, psycopg; print('ok')"
    assert "ok" in run(image, "/opt/patroni/bin/python", "-c", check)
    # The engine starts Patroni as postgres with setpriv (util-linux), in place of PID 1.
    labels = test_images.labels(image)
    as_postgres = ("setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups")
    ids = run(image, *as_postgres, "id", "-u").strip()
    assert ids == labels["postgres-uid"]


def test_etcd_is_3_4_in_the_same_image() -> None:
    image = test_images.require("etcd")["etcd"]
    out = run(image, "etcd", "--version")
    match = re.search(r"etcd Version: (3\.4\.\d+)", out)
    assert match, out
    assert test_images.labels(image)["etcd"] == match.group(1)
    assert match.group(1) in run(image, "etcdctl", "version")


SERVERS_START = """
set -e
etcd --name e1 --data-dir /tmp/etcd --listen-client-urls http://127.0.0.1:2379 \
  --advertise-client-urls http://127.0.0.1:2379 >/tmp/etcd.log 2>&1 &
mkdir -p /tmp/pg && chown postgres:postgres /tmp/pg
runuser -u postgres -- initdb -D /tmp/pg/data -A trust >/dev/null
runuser -u postgres -- pg_ctl -D /tmp/pg/data -o "-k /tmp/pg -c listen_addresses=" -w \
  -l /tmp/pg/log start >/dev/null
runuser -u postgres -- psql -h /tmp/pg -Atc "select current_setting('server_version_num')"
for i in $(seq 100); do
  ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:2379 endpoint health 2>&1 && break
  sleep 0.2
done
/opt/patroni/bin/python -c \
  "import patroni.dcs.etcd3, patroni.postgresql; print('patroni modules ok')"
"""


def test_postgres_and_etcd_really_start_in_the_image() -> None:
    """initdb and a server as the postgres user (runuser), a one-member etcd answering
    etcdctl, and Patroni's etcd3 and PostgreSQL modules importing."""
    found = test_images.require("postgres")
    labels = test_images.labels(found["postgres"])
    out = run(found["postgres"], "sh", "-c", SERVERS_START, timeout=120)
    major, minor = labels["postgresql"].split(".")
    assert f"{int(major) * 10000 + int(minor)}" in out.split("\n"), out  # server_version_num
    assert "is healthy" in out, out
    assert "patroni modules ok" in out, out


def test_haproxy_is_2_6_through_the_official_entrypoint() -> None:
    image = test_images.require("haproxy")["haproxy"]
    out = run(image, "-v")  # appended to `haproxy -W -db -f /usr/local/etc/haproxy/...`
    match = re.search(r"HAProxy version (2\.6\.\d+)", out)
    assert match, out
    assert test_images.labels(image)["haproxy"] == match.group(1)
    assert run(image, "-u", entrypoint="id").strip() == "0"


def test_haproxy_serves_its_config_on_a_privileged_port() -> None:
    """The mounted config at the official path is read and a port below 1024 is bound: the
    database image's curl asks it from inside the same network namespace."""
    found = test_images.require("haproxy", "postgres")
    config = (
        "global\n  log stdout format raw local0\n"
        "defaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n"
        "  timeout connect 5s\n"
        "frontend probe\n  bind :80\n  http-request return status 200 content-type"
        ' text/plain string "haproxy-image-ok"\n'
    )
    name = f"iam-sandbox-test-haproxy-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as folder:
        cfg = Path(folder) / "haproxy.cfg"
        cfg.write_text(config)
        cfg.chmod(0o644)
        Path(folder).chmod(0o755)
        subprocess.run(
            [
                "docker",
                "run",
                "-d",
                "--name",
                name,
                "-v",
                f"{cfg}:/usr/local/etc/haproxy/haproxy.cfg:ro",
                found["haproxy"],
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        try:
            deadline = time.monotonic() + 20
            body = ""
            while time.monotonic() < deadline:
                probe = subprocess.run(
                    [
                        "docker",
                        "run",
                        "--rm",
                        "--network",
                        f"container:{name}",
                        found["postgres"],
                        "curl",
                        "-fsS",
                        "http://127.0.0.1:80/",
                    ],
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
                body = probe.stdout + probe.stderr
                if probe.returncode == 0:
                    break
                time.sleep(0.5)
            logs = subprocess.run(
                ["docker", "logs", name], capture_output=True, text=True, timeout=30
            )
            assert "haproxy-image-ok" in body, f"{body}\n{logs.stdout}{logs.stderr}"
        finally:
            subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60)


@pytest.mark.parametrize("name", ["hydra", "kratos", "keto"])
def test_ory_reports_its_release_version(name: str) -> None:
    image = test_images.require(name)[name]
    version = ORY_VERSIONS[name]
    assert image.endswith(f":{version}-gomod")
    out = run(image, "version")
    reported = re.search(r"Version:\s+(\S+)", out)
    assert reported, out
    # Built without the release's link flags, the binaries say "master".
    assert reported.group(1) == version, out
    assert test_images.labels(image)[name] == version


@pytest.mark.parametrize("name", ["hydra", "kratos", "keto"])
def test_ory_runs_as_its_non_root_user_with_a_writable_home(name: str) -> None:
    image = test_images.require(name)[name]
    uid, home = ORY_USERS[name]
    assert run(image, "-u", entrypoint="id").strip() == str(uid)
    out = run(
        image,
        "-c",
        'echo "$HOME"; touch "$HOME/probe" && echo writable; '
        "test -s /etc/ssl/certs/ca-certificates.crt && echo cas; command -v " + name,
        entrypoint="/bin/sh",
    )
    assert out.split() == [home, "writable", "cas", f"/usr/bin/{name}"], out
