"""A real Kubernetes API server for the tests: etcd + kube-apiserver on 127.0.0.1.

`scripts/prepare-kube.sh` builds kube-apiserver and kubectl v1.36.3 from the Go module and
installs Debian's etcd; without them the tests skip and say why. The server gets certificates
made here, an admin client certificate (group system:masters) and a kubeconfig file. There is
no kubelet, scheduler or controller manager: objects are admitted, defaulted, validated and
stored, but no pod ever runs. `JobCompleter` stands in for the missing Job controller and
kubelet so that Helm's hook Jobs can finish.

The Ory charts are served from a local chart repository on 127.0.0.1 (`chart_repo`), made from
../shared/charts/ory-0.62.1 with an index.yaml rewritten for its port.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import shutil
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sandbox.pki.issue import PrivateKey, issue_ca, issue_leaf, key_pem, new_key
from sandbox.pki.layout import LeafSpec
from tests.support.ports import free_ports

KUBE_VERSION = "v1.36.3"
HELM_VERSION = "v3.19.0"
CHART_VERSION = "0.62.1"
_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "iam-sandbox"
KUBE_DIR = Path(os.environ.get("SANDBOX_KUBE_CACHE") or _CACHE / "kube") / KUBE_VERSION
HELM = Path(os.environ.get("SANDBOX_HELM_CACHE") or _CACHE / "helm") / HELM_VERSION / "helm"
CHARTS = Path(__file__).resolve().parents[3] / "shared" / "charts" / f"ory-{CHART_VERSION}"


def missing_reason() -> str | None:
    """Why the API server cannot run here, or None."""
    for name in ("kube-apiserver", "kubectl"):
        if not (KUBE_DIR / name).is_file():
            return f"{KUBE_DIR / name} is missing: run scripts/prepare-kube.sh"
    if shutil.which("etcd") is None:
        return "etcd is not installed (Debian's etcd-server; scripts/prepare-kube.sh)"
    return None


def helm_missing_reason() -> str | None:
    if not HELM.is_file():
        return f"{HELM} is missing: run scripts/prepare-helm.sh"
    if not (CHARTS / "index.yaml").is_file():
        return f"no packaged Ory charts in {CHARTS}"
    return None


VALID = dt.timedelta(days=2)
BACKDATE = dt.timedelta(hours=1)


def _admin_cert(key: PrivateKey, ca_cert: x509.Certificate, ca_key: PrivateKey) -> bytes:
    """The cluster admin's client certificate. Not one `sandbox.pki` issues: the API server
    reads the user's groups from the subject's O, and only `system:masters` may do anything
    on a cluster with no RBAC objects yet (sandbox certificates all carry O=IAM Sandbox)."""
    now = dt.datetime.now(dt.UTC)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
            x509.NameAttribute(NameOID.COMMON_NAME, "admin"),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + VALID)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )


def write_pki(pki: Path) -> tuple[Path, Path, Path]:
    """The API server's certificates in `pki`: a CA and the serving certificate issued by
    `sandbox.pki` (the names and addresses the server is reached by), the admin's client
    certificate, the service-account key pair. Returns (CA, admin cert, admin key)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = new_key("ecdsa-p256")
    ca = issue_ca(ca_key, "iam-sandbox test Kubernetes", now, VALID.days, BACKDATE)
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
    serving = LeafSpec(
        role="node",  # serverAuth (and clientAuth, unused here)
        name="kube-apiserver",
        common_name="kube-apiserver",
        directory=pki,
        dns_names=("localhost", "kubernetes", "kubernetes.default.svc"),
        ip_addresses=("127.0.0.1", "10.96.0.1"),
    )
    server = issue_leaf(serving, new_key("ecdsa-p256"), ca_cert, ca_key, now, VALID.days, BACKDATE)
    _write(pki / "server.key", server.key_pem)
    _write(pki / "server.crt", server.cert_pem)
    admin_key = new_key("ecdsa-p256")
    client_key = _write(pki / "admin.key", key_pem(admin_key))
    client_cert = _write(pki / "admin.crt", _admin_cert(admin_key, ca_cert, ca_key))
    sa_key = new_key("ecdsa-p256")
    _write(pki / "sa.key", key_pem(sa_key))
    _write(
        pki / "sa.pub",
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )
    return _write(pki / "ca.crt", ca.cert_pem, 0o644), client_cert, client_key


def _write(path: Path, data: bytes, mode: int = 0o600) -> Path:
    path.write_bytes(data)
    path.chmod(mode)
    return path


@dataclass
class ApiServer:
    """A running etcd + kube-apiserver and how to reach it."""

    url: str
    kubeconfig: Path
    kubectl: Path
    ca: Path
    client_cert: Path
    client_key: Path
    home: Path

    def env(self) -> dict[str, str]:
        """PATH with the built kubectl (and Helm) first, Helm's folders inside `home`."""
        path = [str(self.kubectl.parent)]
        if HELM.is_file():
            path.append(str(HELM.parent))
        return {
            "PATH": os.pathsep.join([*path, os.environ.get("PATH", "")]),
            "HELM_CACHE_HOME": str(self.home / "helm-cache"),
            "HELM_CONFIG_HOME": str(self.home / "helm-config"),
            "HELM_DATA_HOME": str(self.home / "helm-data"),
        }

    def kubectl_run(
        self, *args: str, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.kubectl), "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    def get(self, *args: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.kubectl_run("get", *args, "-o", "json").stdout)
        return data

    def exists(self, *args: str) -> bool:
        return self.kubectl_run("get", *args, "-o", "name", check=False).returncode == 0

    def request(self, method: str, path: str, body: Any = None, patch: bool = False) -> Any:
        """One call to the API server's REST interface with the admin certificate."""
        context = ssl.create_default_context(cafile=str(self.ca))
        context.load_cert_chain(str(self.client_cert), str(self.client_key))
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/merge-patch+json" if patch else "application/json"}
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(req, context=context, timeout=30) as response:
            return json.loads(response.read() or b"null")


def _kubeconfig(url: str, ca: Path, cert: Path, key: Path) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "test", "cluster": {"server": url, "certificate-authority": str(ca)}}
            ],
            "users": [
                {"name": "admin", "user": {"client-certificate": str(cert), "client-key": str(key)}}
            ],
            "contexts": [{"name": "test-admin", "context": {"cluster": "test", "user": "admin"}}],
            "current-context": "test-admin",
        },
        indent=2,
    )


def _wait_healthy(server: ApiServer, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"kube-apiserver exited: {log.read_text()[-2000:]}")
        try:
            done = server.kubectl_run("get", "--raw", "/readyz", check=False)
            ready = done.returncode == 0 and done.stdout.strip() == "ok"
            if ready and server.exists("namespace", "default"):
                return
        except subprocess.TimeoutExpired:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"kube-apiserver not ready in 180s: {log.read_text()[-2000:]}")


def start_api_server(work: Path) -> Iterator[ApiServer]:
    """etcd and kube-apiserver in `work`, stopped when the generator is closed."""
    pki = work / "pki"
    pki.mkdir(parents=True)
    ca, client_cert, client_key = write_pki(pki)

    etcd_client, etcd_peer, api_port = free_ports(3)
    etcd_log = (work / "etcd.log").open("wb")
    etcd = subprocess.Popen(
        [
            "etcd",
            "--data-dir",
            str(work / "etcd"),
            "--listen-client-urls",
            f"http://127.0.0.1:{etcd_client}",
            "--advertise-client-urls",
            f"http://127.0.0.1:{etcd_client}",
            "--listen-peer-urls",
            f"http://127.0.0.1:{etcd_peer}",
            "--initial-advertise-peer-urls",
            f"http://127.0.0.1:{etcd_peer}",
            "--initial-cluster",
            f"default=http://127.0.0.1:{etcd_peer}",
            "--unsafe-no-fsync",
        ],
        stdout=etcd_log,
        stderr=subprocess.STDOUT,
    )
    api_log_path = work / "kube-apiserver.log"
    api_log = api_log_path.open("wb")
    api = subprocess.Popen(
        [
            str(KUBE_DIR / "kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{etcd_client}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={api_port}",
            f"--cert-dir={work / 'apiserver-certs'}",
            f"--tls-cert-file={pki / 'server.crt'}",
            f"--tls-private-key-file={pki / 'server.key'}",
            f"--client-ca-file={ca}",
            "--authorization-mode=Node,RBAC",
            "--service-cluster-ip-range=10.96.0.0/16",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc",
            "--enable-priority-and-fairness=false",
            "--profiling=false",
        ],
        stdout=api_log,
        stderr=subprocess.STDOUT,
    )
    url = f"https://127.0.0.1:{api_port}"
    kubeconfig = _write(work / "kubeconfig", _kubeconfig(url, ca, client_cert, client_key).encode())
    home = work / "home"
    home.mkdir()
    server = ApiServer(url, kubeconfig, KUBE_DIR / "kubectl", ca, client_cert, client_key, home)
    try:
        _wait_healthy(server, api, api_log_path)
        yield server
    finally:
        for proc in (api, etcd):
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        api_log.close()
        etcd_log.close()


# -- the local chart repository ------------------------------------------------------------------


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_charts(work: Path) -> Iterator[str]:
    """The packaged Ory charts at http://127.0.0.1:<port>/, with an index.yaml for that port."""
    import yaml

    root = work / "charts"
    root.mkdir(parents=True)
    for archive in CHARTS.glob("*.tgz"):
        shutil.copy2(archive, root / archive.name)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a: _Quiet(*a, directory=str(root))
    )
    url = f"http://127.0.0.1:{server.server_address[1]}"
    index = yaml.safe_load((CHARTS / "index.yaml").read_text())
    for versions in index.get("entries", {}).values():
        for entry in versions:
            entry["urls"] = [f"{url}/{u.rsplit('/', 1)[-1]}" for u in entry.get("urls", [])]
    (root / "index.yaml").write_text(yaml.safe_dump(index, sort_keys=False))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


# -- a stand-in for the Job controller and kubelet -------------------------------------------------


class JobCompleter:
    """Marks every Job in a namespace as succeeded, the way the Job controller would once its
    pod exited 0. Without kubelets no pod runs, so Helm's hook Jobs would never finish."""

    def __init__(self, server: ApiServer, namespace: str) -> None:
        self.server, self.namespace = server, namespace
        self.completed: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> JobCompleter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        base = f"/apis/batch/v1/namespaces/{self.namespace}/jobs"
        while not self._stop.wait(0.3):
            try:
                jobs = self.server.request("GET", base)["items"]
            except (urllib.error.URLError, OSError, ValueError):
                continue
            for job in jobs:
                conditions = job.get("status", {}).get("conditions") or []
                if any(c["type"] == "Complete" for c in conditions):
                    continue
                self._complete(base, job)

    def _complete(self, base: str, job: dict[str, Any]) -> None:
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        name = job["metadata"]["name"]

        def condition(kind: str) -> dict[str, str]:
            return {
                "type": kind,
                "status": "True",
                "lastProbeTime": now,
                "lastTransitionTime": now,
                "reason": "CompletionsReached",
                "message": "Reached expected number of succeeded pods",
            }

        status = {
            "status": {
                "startTime": job.get("status", {}).get("startTime") or now,
                "completionTime": now,
                "succeeded": 1,
                "ready": 0,
                "terminating": 0,
                "conditions": [condition("SuccessCriteriaMet"), condition("Complete")],
            }
        }
        try:
            self.server.request("PATCH", f"{base}/{name}/status", status, patch=True)
            self.completed.append(f"{name}:{job['metadata']['uid']}")
        except (urllib.error.URLError, OSError, ValueError):
            pass
