"""The tracker endpoint's Prometheus metrics: one counter per outcome (accepted, duplicate,
and every reason a hit is refused), the size of each group commit and how long it took.

Each ingestor has its own registry (no process-global state, so tests and processes each
count for themselves); ``/metrics`` renders it, with the pipeline's, in the Prometheus text
format.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from openfeeder.domain.events import REASONS

# Outcomes beyond the payload's own problems: the request, not the event, was refused.
REQUEST_REASONS = ("unknown_script", "flood", "unavailable")
OUTCOMES = ("accepted", "duplicate", *REASONS, *REQUEST_REASONS)


class IngestMetrics:
    def __init__(self, queue_depth: Callable[[], float] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.hits = Counter(
            "openfeeder_tracker_hits",
            "Tracker requests by outcome: accepted, duplicate, or the reason they were refused.",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in OUTCOMES:
            self.hits.labels(outcome)  # every series exists from the start, at zero
        self.batch_size = Histogram(
            "openfeeder_tracker_commit_hits",
            "Hits written per group commit.",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
            registry=self.registry,
        )
        self.commit_seconds = Histogram(
            "openfeeder_tracker_commit_seconds",
            "Duration of one group commit (insert and durable commit).",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        if queue_depth is not None:
            depth = Gauge(
                "openfeeder_tracker_queue_hits",
                "Hits waiting for the next group commit.",
                registry=self.registry,
            )
            depth.set_function(queue_depth)

    def count(self, outcome: str, amount: int = 1) -> None:
        if amount:
            self.hits.labels(outcome).inc(amount)

    def value(self, outcome: str) -> int:
        sample = self.registry.get_sample_value(
            "openfeeder_tracker_hits_total", {"outcome": outcome}
        )
        return int(sample or 0)

    def counts(self) -> dict[str, int]:
        """Every outcome's count, for tests and the CLI."""
        return {outcome: self.value(outcome) for outcome in OUTCOMES}
