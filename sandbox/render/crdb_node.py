"""How every CockroachDB node starts, the same on Compose and Kubernetes.

Two things a container platform needs that `cockroach start` does not do by itself:
- its log on stderr, where `docker logs` and `kubectl logs` (and so `sandbox logs crdb-N`)
  read it. Since v21.1 the server writes only to files under the store unless told otherwise.
  `--logtostderr=INFO` is the one form both the pinned v25.4 (deprecated there in favour of
  `--log='sinks: {stderr: {filter: INFO}}'`, but still accepted) and v20.1 (which has no
  `--log`) understand;
- no diagnostics reports to Cockroach Labs from a sandbox, like Ory's `SQA_OPT_OUT`.
"""

from __future__ import annotations

from sandbox.config.topology import HTTP_PORT, RPC_PORT, SQL_PORT, Node, Topology

STORE = "/cockroach/cockroach-data"
LOG_TO_STDERR = "--logtostderr=INFO"
NODE_ENV = {"COCKROACH_SKIP_ENABLING_DIAGNOSTIC_REPORTING": "true"}
"""Environment of every node: diagnostics reporting stays off from the first start."""


def start_args(
    topology: Topology, node: Node, *, certs_dir: str, host: str, join: list[str]
) -> list[str]:
    """`cockroach start` arguments of one node, advertised as `host`, joining `join`."""
    m = topology.settings.memory
    return [
        "start",
        f"--certs-dir={certs_dir}",
        f"--listen-addr=:{RPC_PORT}",
        f"--advertise-addr={host}:{RPC_PORT}",
        f"--sql-addr=:{SQL_PORT}",
        f"--advertise-sql-addr={host}:{SQL_PORT}",
        f"--http-addr=:{HTTP_PORT}",
        "--join=" + ",".join(join),
        f"--locality={node.locality}",
        f"--cache={m.cockroach_cache}MiB",
        f"--max-sql-memory={m.cockroach_sql}MiB",
        f"--store={STORE}",
        LOG_TO_STDERR,
    ]
