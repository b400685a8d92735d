"""Memory profiles: consistent sets of caps (MiB), the one source of the `memory.*` defaults."""

from __future__ import annotations

MEMORY_PROFILES: dict[str, dict[str, int]] = {
    # Consistent sets of caps (MiB). Every profile gives CockroachDB's cache and SQL memory 25%
    # of the node each, as CockroachDB's own start examples do; only `roomy` reaches the 4 GiB
    # per node its production checklist asks for (per vCPU). The others trade headroom under
    # load (OOM kills, queries spilling to disk) for fitting a laptop or a CI runner.
    "laptop": {  # the whole stack under 3 GiB
        "cockroach_node": 640,
        "cockroach_cache": 160,
        "cockroach_sql": 160,
        "load_balancer": 48,
        "one_shot": 96,
        "hydra": 160,
        "kratos": 160,
        "keto": 128,
        "postgres_node": 320,
        "etcd": 64,
        "budget": 3072,
    },
    "ci": {  # under 5 GiB: a 7 GiB hosted runner keeps room for Docker and the tests
        "cockroach_node": 1024,
        "cockroach_cache": 256,
        "cockroach_sql": 256,
        "load_balancer": 64,
        "one_shot": 128,
        "hydra": 256,
        "kratos": 256,
        "keto": 192,
        "postgres_node": 512,
        "etcd": 96,
        "budget": 5120,
    },
    "roomy": {  # 4 GiB per node: for load and failure experiments on a 16 GiB machine or more
        "cockroach_node": 4096,
        "cockroach_cache": 1024,
        "cockroach_sql": 1024,
        "load_balancer": 128,
        "one_shot": 256,
        "hydra": 512,
        "kratos": 512,
        "keto": 384,
        "postgres_node": 2048,
        "etcd": 256,
        "budget": 16384,
    },
}
