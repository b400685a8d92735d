"""`--metrics-port`: the run's numbers as Prometheus metrics while it runs (127.0.0.1 only).

Counters grow with every flushed second; latency gauges show the last completed second.
Every series carries the run id, so runs side by side in one Grafana never mix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.load.report import Aggregator, Second

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

PREFIX = "sandbox_load"


class Exporter:
    def __init__(self, run_id: str, port: int, host: str = "127.0.0.1") -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

        self.run_id = run_id
        self.registry: CollectorRegistry = CollectorRegistry()
        labels = ("run_id", "service")
        self.requests = Counter(
            f"{PREFIX}_requests",
            "Requests that completed, by outcome (ok, error, wrong).",
            (*labels, "outcome"),
            registry=self.registry,
        )
        self.late = Counter(
            f"{PREFIX}_late_sends", "Open-loop requests sent late.", labels, registry=self.registry
        )
        self.latency = Gauge(
            f"{PREFIX}_latency_seconds",
            "Latency over the last completed second, by quantile.",
            (*labels, "quantile"),
            registry=self.registry,
        )
        self.measuring = Gauge(
            f"{PREFIX}_measuring",
            "1 once the warm-up is over.",
            ("run_id",),
            registry=self.registry,
        )
        self.server, self.thread = start_http_server(port, addr=host, registry=self.registry)

    def on_second(self, row: Second, agg: Aggregator) -> None:
        self.measuring.labels(self.run_id).set(1 if row.phase == "measured" else 0)
        for svc, cell in row.by_service.items():
            base = (self.run_id, svc)
            self.requests.labels(*base, "ok").inc(cell.get("ok", 0))
            self.requests.labels(*base, "error").inc(cell.get("errors", 0))
            self.requests.labels(*base, "wrong").inc(cell.get("wrong", 0))
            self.late.labels(*base).inc(cell.get("late", 0))
            for q, key in (("0.5", "p50_ms"), ("0.99", "p99_ms")):
                self.latency.labels(*base, q).set(cell.get(key, 0.0) / 1000)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def describe(exporter: Any) -> str:
    host, port = exporter.server.server_address[:2]
    return f"metrics on http://{host}:{port}/metrics"
