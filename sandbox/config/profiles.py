"""Memory profiles: consistent sets of caps (MiB), the one source of the `memory.*` defaults."""

from __future__ import annotations

MEMORY_PROFILES: dict[str, dict[str, int]] = {
    # Consistent sets of caps (MiB). Every profile gives CockroachDB's cache and SQL memory 25%
    # of the node each, as CockroachDB's own start examples do; only `roomy` reaches the 4 GiB
    # per node its production checklist asks for (per vCPU). The others trade headroom under
    # load (OOM kills, queries spilling to disk) for fitting a laptop or a CI runner.
    # `cockroach_tsdb` is passed as `--max-tsdb-memory` (v25.4's default is max(1%, 64 MiB)) so
    # that cache + SQL + tsdb can be held under 75% of the node, the rule of v25.4's
    # `cockroach start` docs. `cockroach_one_shot` caps `crdb-init`, `crdb-bootstrap` and their
    # Kubernetes Jobs: each runs the v25.4 `cockroach` CLI, a Go binary of several hundred MB
    # that initialises much of the server's code before it connects. The old 96 MiB was
    # measured on an older, smaller binary; 256 MiB is that figure with 2.5x margin, since the
    # v25.4 image cannot run here to be measured (README, Troubleshooting, says how to check).
    # `one_shot` stays the cap of the Ory migration jobs (hydra/kratos/keto `migrate sql`).
    "laptop": {  # the whole stack under 3 GiB
        "cockroach_node": 640,
        "cockroach_cache": 160,
        "cockroach_sql": 160,
        "cockroach_tsdb": 64,
        "cockroach_one_shot": 256,
        "load_balancer": 48,
        "one_shot": 96,
        "hydra": 160,
        "kratos": 160,
        "keto": 128,
        "ui": 128,
        "postgres_node": 320,
        "etcd": 64,
        "budget": 3072,
    },
    "ci": {  # under 5 GiB: a 7 GiB hosted runner keeps room for Docker and the tests
        "cockroach_node": 1024,
        "cockroach_cache": 256,
        "cockroach_sql": 256,
        "cockroach_tsdb": 64,
        "cockroach_one_shot": 256,
        "load_balancer": 64,
        "one_shot": 128,
        "hydra": 256,
        "kratos": 256,
        "keto": 192,
        "ui": 192,
        "postgres_node": 512,
        "etcd": 96,
        "budget": 5120,
    },
    "roomy": {  # 4 GiB per node: for load and failure experiments on a 16 GiB machine or more
        "cockroach_node": 4096,
        "cockroach_cache": 1024,
        "cockroach_sql": 1024,
        "cockroach_tsdb": 64,
        "cockroach_one_shot": 384,
        "load_balancer": 128,
        "one_shot": 256,
        "hydra": 512,
        "kratos": 512,
        "keto": 384,
        "ui": 256,
        "postgres_node": 2048,
        "etcd": 256,
        "budget": 16384,
    },
}
