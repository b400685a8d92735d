"""Is `sandbox load` ever the limit? Medians of N runs, as ratios measured in the same run.

    python benchmarks/load.py [--runs 5] [--seconds 3] [--skip-ory]

1. Generator ceiling: against a trivial local HTTP server (Debian's HAProxy answering every
   request itself, one thread), `sandbox load keto` at concurrency 32 against `wrk -t1 -c32`
   (Debian's `wrk`, installed with apt-get when missing) on the same URL. Variants: the
   standard event loop instead of uvloop, aiohttp instead of the lean client, two worker
   processes, and the bare libraries (httpx and aiohttp, the same 30-line loop each).
2. On real Keto (v0.13.0-alpha.0 from the module proxy, on a TLS PostgreSQL, as the
   integration tests run it): `sandbox load keto` against `wrk` on the same check URL at
   concurrency 8 and 32, with the CPU seconds each generator and the Keto server used.
3. The Ory database pool: the same Keto checks, and Kratos reads at concurrency 1, with Ory's
   default pool (no DSN parameters) and with the sandbox's `db_pool` defaults.

Also printed: the generator's CPU per 1,000 requests. Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.cli import sandbox_argv  # noqa: E402
from tests.support.ports import free_port  # noqa: E402

CLIENT_LOOP = """
import asyncio, sys, time
URL, CONC, SECONDS, LIB = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
async def main():
    count = 0
    end = time.monotonic() + SECONDS
    if LIB == "aiohttp":
        import aiohttp
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONC))
        async def one():
            async with session.get(URL) as r:
                await r.read()
                return r.status
    else:
        import httpx
        limits = httpx.Limits(max_connections=CONC, max_keepalive_connections=CONC)
        session = httpx.AsyncClient(limits=limits)
        async def one():
            r = await session.get(URL)
            return r.status_code
    async def worker():
        nonlocal count
        while time.monotonic() < end:
            assert await one() == 200
            count += 1
    start = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(CONC)))
    elapsed = time.monotonic() - start
    if LIB == "aiohttp":
        await session.close()
    else:
        await session.aclose()
    print(count / elapsed)
asyncio.run(main())
"""


@dataclass
class Sample:
    rps: float
    cpu_s: float
    """The generator's CPU seconds: `sandbox load`'s own count over its measured window;
    wrk's and the bare loops' whole process (so theirs include start-up)."""
    server_cpu_s: float = 0.0
    requests: int = 0
    """Requests that `cpu_s` paid for."""
    server_requests: int = 0
    """Requests the server answered while its CPU was read (warm-up included)."""


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of a running process (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(argv: list[str], server_pid: int | None = None) -> tuple[str, float, float]:
    """(stdout, generator CPU seconds incl. its reaped children, server CPU seconds)."""
    before = cpu_of(server_pid) if server_pid else 0.0
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=tempfile.gettempdir(),
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    after = cpu_of(server_pid) if server_pid else 0.0
    if proc.returncode not in (0, 1):
        sys.exit(f"benchmark step failed ({proc.returncode}): {' '.join(argv[:6])}")
    return out, usage.ru_utime + usage.ru_stime, after - before


def wrk(url: str, conc: int, seconds: float, server_pid: int | None = None) -> Sample:
    out, cpu, server = timed(
        ["wrk", "-t1", f"-c{conc}", f"-d{max(1, round(seconds))}s", url], server_pid
    )
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return Sample(rps, cpu, server, total, total)


def sandbox_load(
    urls: dict[str, str], workload: str, conc: int, seconds: float, *extra: str,
    server_pid: int | None = None,
) -> Sample:  # fmt: skip
    flags = {
        "HYDRA_PUBLIC_URL": "--hydra-public-url", "HYDRA_ADMIN_URL": "--hydra-admin-url",
        "KRATOS_PUBLIC_URL": "--kratos-public-url", "KRATOS_ADMIN_URL": "--kratos-admin-url",
        "KETO_READ_REMOTE": "--keto-read-url", "KETO_WRITE_REMOTE": "--keto-write-url",
    }  # fmt: skip
    argv = sandbox_argv(
        "--state-dir", "/nonexistent-bench-state", "load", workload, "--concurrency", str(conc),
        "--duration", f"{seconds}s", "--warmup", "1s", "--read-ratio", "1000",
        "--deny-share", "0", "--output", "json", *extra,
    )  # fmt: skip
    for key, url in urls.items():
        argv += [flags[key], url]
    out, _, server = timed(argv, server_pid)
    report = json.loads(out)
    if report["summary"]["wrong_answers"] or report["summary"]["errors"]:
        sys.exit(f"sandbox load saw errors or wrong answers: {report['verdict']}")
    total = sum(r["count"] for r in report["operations"])
    cpu = report["generator"]["cpu_s"]
    served = total + report["warmup"]["count"]
    return Sample(total / report["measured_s"], cpu, server, total, served)


def bare_loop(url: str, lib: str, conc: int, seconds: float) -> Sample:
    argv = [sys.executable, "-c", CLIENT_LOOP, url, str(conc), str(seconds), lib]
    out, cpu, _ = timed(argv)
    rps = float(out.strip())
    return Sample(rps, cpu, 0.0, int(rps * seconds), int(rps * seconds))


def median_of(runs: int, fn: Callable[[], Sample]) -> Sample:
    samples = [fn() for _ in range(runs)]
    return Sample(
        statistics.median(s.rps for s in samples),
        statistics.median(s.cpu_s for s in samples),
        statistics.median(s.server_cpu_s for s in samples),
        int(statistics.median(s.requests for s in samples)),
        int(statistics.median(s.server_requests for s in samples)),
    )


def cpu_per_1000(s: Sample) -> float:
    return 1000 * s.cpu_s / s.requests if s.requests else 0.0


@contextlib.contextmanager
def haproxy_server() -> Iterator[tuple[str, int]]:
    """HAProxy answering every request itself: a server far faster than any client here."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        cfg = Path(tmp) / "haproxy.cfg"
        cfg.write_text(
            f"""global
    nbthread 1
defaults
    mode http
    timeout client 30s
    timeout connect 5s
    timeout server 30s
frontend trivial
    bind 127.0.0.1:{port}
    http-request return status 201 content-type application/json string "{{}}" if METH_PUT
    http-request return status 200 content-type application/json string "{{\\"allowed\\":true}}"
"""
        )
        proc = subprocess.Popen(["haproxy", "-f", str(cfg)], stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(50):
                try:
                    urllib.request.urlopen(url + "/health/alive", timeout=1).read()
                    break
                except OSError:
                    time.sleep(0.1)
            yield url, proc.pid
        finally:
            proc.terminate()
            proc.wait(10)


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    print("installing Debian's wrk ...", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, capture_output=True)
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed and apt-get could not install it (apt-get install wrk)")


def line(name: str, s: Sample, ref: Sample | None = None, server: bool = False) -> str:
    text = f"  {name:<48} {s.rps:7.0f} req/s  client {cpu_per_1000(s) * 1000:6.1f} ms CPU/1k"
    if server:
        per_k = 1e6 * s.server_cpu_s / s.server_requests if s.server_requests else 0.0
        text += f"  server {per_k:6.1f} ms CPU/1k"
    if ref is not None:
        text += f"  ratio {s.rps / ref.rps:.2f}"
    return text


def ceiling(runs: int, seconds: float) -> None:
    print(f"1. generator ceiling: trivial server (HAProxy, 1 thread), median of {runs}, "
          f"{seconds:g}s each")  # fmt: skip
    with haproxy_server() as (url, pid):
        check = url + "/relation-tuples/check?namespace=documents&object=o&relation=viewer"
        keto = {"KETO_READ_REMOTE": url, "KETO_WRITE_REMOTE": url}
        ref = median_of(runs, lambda: wrk(check, 32, seconds, pid))
        print(line("wrk -t1 -c32", ref, server=True))
        for name, extra in (
            ("sandbox load keto -c32 (defaults: wire, uvloop)", ()),
            ("sandbox load keto -c32 --loop asyncio", ("--loop", "asyncio")),
            ("sandbox load keto -c32 --client aiohttp", ("--client", "aiohttp")),
            ("sandbox load keto -c32 --processes 2", ("--processes", "2")),
        ):
            s = median_of(runs, lambda e=extra: sandbox_load(keto, "keto", 32, seconds, *e,
                                                             server_pid=pid))  # fmt: skip
            print(line(name, s, ref, server=True))
        for lib in ("aiohttp", "httpx"):
            s = median_of(runs, lambda lib=lib: bare_loop(check, lib, 32, seconds))
            print(line(f"bare asyncio loop with {lib} -c32", s, ref))


@contextlib.contextmanager
def ory_services(pool: dict[str, Any]) -> Iterator[Any]:
    from sandbox.config.settings import Settings
    from sandbox.model.topology import Topology
    from sandbox.pki.layout import CertLayout
    from sandbox.pki.store import ensure_pki
    from tests.support import ory
    from tests.support.postgres import postgres_bin

    reason = ory.missing_reason()
    if postgres_bin() is None:
        reason = "PostgreSQL server not installed (scripts/test.sh installs it)"
    if reason:
        sys.exit(f"cannot benchmark on Ory: {reason}")
    topology = Topology(Settings(db_pool=pool))
    with tempfile.TemporaryDirectory(prefix="bench-load-ory-") as tmp:
        layout = CertLayout(Path(tmp) / "certs")
        ensure_pki(topology, layout)
        with ory.on_postgres(topology, layout) as stack:
            yield stack


def on_ory(runs: int, seconds: float) -> None:
    pools = (
        ("sandbox db_pool defaults (max_conns=16, max_idle_conns=16)", {}),
        ("Ory's default pool (no DSN parameters)", {"max_conns": None, "max_idle_conns": None}),
    )
    results: dict[str, dict[str, Sample]] = {}
    for label, pool in pools:
        print(f"2/3. real Keto v0.13.0-alpha.0 and Kratos v1.3.1 on PostgreSQL (TLS): {label}")
        with ory_services(pool) as stack:
            keto = {k: stack.urls[k] for k in ("KETO_READ_REMOTE", "KETO_WRITE_REMOTE")}
            kratos = {k: stack.urls[k] for k in ("KRATOS_PUBLIC_URL", "KRATOS_ADMIN_URL")}
            tuple_ = {"namespace": "documents", "object": "bench", "relation": "viewer",
                      "subject_id": "user:bench"}  # fmt: skip
            req = urllib.request.Request(
                keto["KETO_WRITE_REMOTE"] + "/admin/relation-tuples",
                data=json.dumps(tuple_).encode(), method="PUT",
                headers={"Content-Type": "application/json"},
            )  # fmt: skip
            urllib.request.urlopen(req, timeout=10).read()
            check = (keto["KETO_READ_REMOTE"] + "/relation-tuples/check?namespace=documents"
                     "&object=bench&relation=viewer&subject_id=user%3Abench")  # fmt: skip
            pid, kratos_pid = stack.procs["keto"].pid, stack.procs["kratos"].pid
            got = results.setdefault(label, {})
            for conc in (8, 32):
                ref = median_of(runs, partial(wrk, check, conc, seconds, pid))
                s = median_of(
                    runs, partial(sandbox_load, keto, "keto", conc, seconds, server_pid=pid)
                )
                print(line(f"wrk -t1 -c{conc} on the check URL", ref, server=True))
                print(line(f"sandbox load keto -c{conc}", s, ref, server=True))
                got[f"keto{conc}"] = s
            s = median_of(
                runs, partial(sandbox_load, kratos, "kratos", 1, seconds, server_pid=kratos_pid)
            )
            print(line("sandbox load kratos -c1 (whoami + lookups)", s, server=True))
            got["kratos1"] = s
    tuned, default = (results[label] for label, _ in pools)
    print("3. pool effect (tuned / Ory's default, same generator):")
    for key, name in (("keto8", "Keto checks -c8"), ("keto32", "Keto checks -c32"),
                      ("kratos1", "Kratos reads -c1")):  # fmt: skip
        print(f"  {name:<20} {default[key].rps:8.0f} -> {tuned[key].rps:8.0f} req/s  "
              f"ratio {tuned[key].rps / default[key].rps:.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--skip-ory", action="store_true", help="only the generator ceiling")
    args = parser.parse_args()
    ensure_wrk()
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, load average {load:.1f} at the start; "
          "generator and server share them")  # fmt: skip
    ceiling(args.runs, args.seconds)
    if not args.skip_ory:
        on_ory(args.runs, args.seconds)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
