"""The operations surface: ``/healthz`` and ``/readyz`` for load balancers (public, cheap, never
rate-limited, not in the API's OpenAPI document), and ``/metrics`` for the operator's
Prometheus, behind the operator's token (``OPENFEEDER_METRICS_TOKEN``). With no token set the
metrics are not served at all: they tell anyone who reads them how much traffic each site gets.

Besides the ingestor's and the pipeline's registries, ``/metrics`` shows this module's: the
request latency of every surface (``RequestMetrics``, observed by ``Application``) and the
store-side figures read at scrape time (``StoreCollector``): pipeline lag, job queue depth,
export requests and alert deliveries by status.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator, Sequence
from time import perf_counter

import orjson
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from openfeeder.api.admission import client_ip, token_from
from openfeeder.api.errors import error_response
from openfeeder.domain.errors import Forbidden, OpenfeederError, Unauthorized
from openfeeder.routing import Surface
from openfeeder.services import operations
from openfeeder.services.container import Services

log = logging.getLogger(__name__)

# Never cached by a proxy between the load balancer and us: each answer is of this instant.
_NO_STORE = {"Cache-Control": "no-store"}
EXPORT_STATUSES = ("pending", "processed", "failed")
DELIVERY_STATUSES = ("pending", "retrying", "delivered", "failed")


async def healthz(_request: Request) -> Response:
    """The process is alive and answers: no store, no other part is asked."""
    return PlainTextResponse("ok\n", headers=_NO_STORE)


async def readyz(request: Request) -> Response:
    """200 when every check passes, else 503; the body lists each check and why."""
    services: Services = request.app.state.services
    result = await run_in_threadpool(operations.readiness, services)
    body = {
        "status": "ready" if result.ok else "unready",
        "checks": [
            {"name": check.name, "ok": check.ok, "detail": check.detail} for check in result.checks
        ],
    }
    return Response(
        orjson.dumps(body),
        status_code=200 if result.ok else 503,
        media_type="application/json",
        headers=_NO_STORE,
    )


class RequestMetrics:
    """How long each surface takes to answer a request, from the first byte in to the last
    out (the tracker's too, though it bypasses Starlette's middleware)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.seconds = Histogram(
            "openfeeder_request_seconds",
            "Time to answer one HTTP request, by surface (api, documents, tracker, "
            "operations, dashboard).",
            ["surface"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
            registry=self.registry,
        )
        # Children made once: the tracker's observation stays a dictionary lookup away.
        self._by_surface = {surface: self.seconds.labels(surface.value) for surface in Surface}

    def observe(self, surface: Surface, started: float) -> None:
        self._by_surface[surface].observe(perf_counter() - started)


class StoreCollector(Collector):
    """Figures read from the store and the queue when Prometheus scrapes; a failed read is
    logged and leaves its figures out of that scrape rather than failing it."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def collect(self) -> Iterator[Metric]:
        services = self._services
        try:
            lag = operations.pipeline_lag(services.db, services.clock.now())
            exports = operations.export_counts(services.db)
            deliveries = operations.alert_delivery_counts(services.db)
        except Exception:
            log.warning("metrics: the store could not be read", exc_info=True)
        else:
            yield GaugeMetricFamily(
                "openfeeder_pipeline_lag_seconds",
                "Age of the oldest tracker hit the pipeline has not processed (0: none waits).",
                value=lag,
            )
            by_status = GaugeMetricFamily(
                "openfeeder_export_requests",
                "Export requests in the store by status; failed ones are export failures.",
                labels=["status"],
            )
            for status in EXPORT_STATUSES:
                by_status.add_metric([status], exports.get(status, 0))
            yield by_status
            alerts = GaugeMetricFamily(
                "openfeeder_alert_deliveries",
                "Alert deliveries in the store by status: pending (not tried yet), retrying "
                "(failed, retried later), delivered, failed (every retry used up).",
                labels=["status"],
            )
            for status in DELIVERY_STATUSES:
                alerts.add_metric([status], deliveries.get(status, 0))
            yield alerts
        try:
            pending, scheduled = services.queue.pending_count(), services.queue.scheduled_count()
        except Exception:
            log.warning("metrics: the job queue could not be read", exc_info=True)
        else:
            depth = GaugeMetricFamily(
                "openfeeder_job_queue_depth",
                "Jobs in the queue: ready to run, or retries waiting for their delay.",
                labels=["state"],
            )
            depth.add_metric(["ready"], pending)
            depth.add_metric(["scheduled"], scheduled)
            yield depth

    def describe(self) -> Sequence[Metric]:
        return ()  # read at scrape time only: registering it must not touch the store


def store_registry(services: Services) -> CollectorRegistry:
    """The registry of ``StoreCollector``, which ``/metrics`` shows with the others."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(services))
    return registry


def _operator(services: Services, request: Request) -> None:
    """Raise unless the request carries the operator's token; failures count against the
    client IP's API limit, so the token cannot be guessed at speed."""
    expected = services.settings.metrics_token
    if not expected:
        raise Forbidden("Metrics are off: set OPENFEEDER_METRICS_TOKEN to serve them.")
    given = token_from(request.headers.get("authorization")) or ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        error = Unauthorized("The metrics token is missing or wrong.")
        error.headers.update(services.limiter.check(f"ip:{client_ip(request)}", services.api_limit))
        error.headers["WWW-Authenticate"] = 'Bearer realm="openfeeder metrics"'
        raise error


async def metrics(request: Request) -> Response:
    """Prometheus text format: the registries of the ingestor, the pipeline and the alert
    deliverer (each keeps its own, as ``registry``), whichever this process runs."""
    services: Services = request.app.state.services
    try:
        await run_in_threadpool(_operator, services, request)
    except OpenfeederError as error:
        return error_response(error)
    registries = [
        registry
        for component in (services.ingest, services.pipeline, services.alerts)
        if isinstance(registry := getattr(component, "registry", None), CollectorRegistry)
    ]
    state = request.app.state
    registries += [state.request_metrics.registry, state.store_metrics]
    body = b"".join(
        await run_in_threadpool(lambda: [generate_latest(registry) for registry in registries])
    )
    return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST})
