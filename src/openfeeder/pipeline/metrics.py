"""The pipeline's counters: kept in the Pipeline object (``drop_counts()``, tests, the CLI) and
exposed to Prometheus by a collector that reads them, so both always agree."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from openfeeder.domain.drops import DropReason


class PipelineCounters:
    """Thread-safe totals since the process started; counted only for committed batches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._dropped: Counter[str] = Counter()
        self._processed = 0
        self._visits = 0
        self._batches = 0
        self._quarantined: Counter[str] = Counter()

    def quarantined(self, error_type: str) -> None:
        with self._lock:
            self._quarantined[error_type] += 1

    def quarantine_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._quarantined)

    def batch(self, processed: int, drops: Iterable[DropReason], visits: int) -> None:
        with self._lock:
            self._processed += processed
            self._dropped.update(reason.value for reason in drops)
            self._visits += visits
            self._batches += 1

    def dropped(self) -> dict[str, int]:
        with self._lock:
            return dict(self._dropped)

    def totals(self) -> dict[str, int]:
        with self._lock:
            return {
                "processed": self._processed,
                "visits_recorded": self._visits,
                "batches": self._batches,
                "dropped": sum(self._dropped.values()),
            }


class PipelineCollector(Collector):
    """Prometheus view of a pipeline's counters (register it on any registry)."""

    def __init__(self, counters: PipelineCounters) -> None:
        self._counters = counters

    def collect(self) -> Iterator[Metric]:
        totals = self._counters.totals()
        yield _counter(
            "openfeeder_pipeline_hits_processed",
            "Hits the pipeline processed.",
            totals["processed"],
        )
        dropped = CounterMetricFamily(
            "openfeeder_pipeline_hits_dropped",
            "Hits the pipeline dropped, by reason.",
            labels=["reason"],
        )
        counts = self._counters.dropped()
        for reason in DropReason:
            dropped.add_metric([reason.value], counts.get(reason.value, 0))
        yield dropped
        yield _counter(
            "openfeeder_pipeline_visits_recorded",
            "Visits recorded or re-recorded as hits extended them.",
            totals["visits_recorded"],
        )
        yield _counter("openfeeder_pipeline_batches", "Batches committed.", totals["batches"])
        quarantined = CounterMetricFamily(
            "openfeeder_pipeline_hits_quarantined",
            "Hits set aside because processing them failed, by error type "
            "(`openfeeder hits quarantined` lists them).",
            labels=["error"],
        )
        for error_type, count in sorted(self._counters.quarantine_counts().items()):
            quarantined.add_metric([error_type], count)
        yield quarantined

    def describe(self) -> Sequence[Metric]:
        return list(self.collect())


def _counter(name: str, documentation: str, value: int) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)
