"""Time `sandbox certs create` (in-process, pure Python) against the openssl CLI doing the same.

    python benchmarks/pki.py [--runs N] [--key-type ecdsa-p256|rsa-2048]

Prints the median wall time of each and their ratio. Both build the full tree: a CA, three
node certs with every SAN, two client certs.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from sandbox.config.settings import Settings
from sandbox.model.topology import Topology
from sandbox.pki.layout import CertLayout
from sandbox.pki.store import ensure_pki, list_pki

HERE = Path(__file__).resolve().parent


def time_python(topology: Topology, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            layout = CertLayout(Path(tmp) / "certs")
            start = time.perf_counter()
            ensure_pki(topology, layout)
            times.append(time.perf_counter() - start)
            assert all(i.ok for i in list_pki(topology, layout))
    return times


def time_openssl(topology: Topology, runs: int, key_type: str) -> list[float]:
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        names = Path(tmp) / "names"
        names.write_text(
            "".join(
                f"{n.name} "
                + ",".join(
                    [f"DNS:{d}" for d in topology.node_dns_names(n)]
                    + [f"IP:{ip}" for ip in topology.node_ip_addresses(n)]
                )
                + "\n"
                for n in topology.nodes
            )
        )
        for i in range(runs):
            out = Path(tmp) / f"run{i}"
            start = time.perf_counter()
            subprocess.run(
                ["bash", str(HERE / "openssl_pki.sh"), str(out), key_type, str(names)], check=True
            )
            times.append(time.perf_counter() - start)
            shutil.rmtree(out)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--key-type", default="ecdsa-p256", choices=["ecdsa-p256", "rsa-2048"])
    args = parser.parse_args()
    topology = Topology(Settings.model_validate({"certs": {"key_type": args.key_type}}))
    py = statistics.median(time_python(topology, args.runs))
    ossl = statistics.median(time_openssl(topology, args.runs, args.key_type))
    print(f"key type:               {args.key_type}, {args.runs} runs each")
    print(f"sandbox certs (python): median {py * 1000:8.1f} ms")
    print(f"openssl CLI script:     median {ossl * 1000:8.1f} ms")
    print(f"ratio openssl/python:   {ossl / py:8.1f}x")


if __name__ == "__main__":
    main()
