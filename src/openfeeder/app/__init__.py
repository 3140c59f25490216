"""``create_app(settings)``: builds the store, services and the router of every surface. Nothing is
built at import time, so tests and processes each get their own application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from time import perf_counter

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

from openfeeder import logs
from openfeeder.api.errors import http_exception, server_error
from openfeeder.app.operations import RequestMetrics, store_registry
from openfeeder.app.surfaces import SURFACE, SurfaceRouter, build_router, echo_request_id
from openfeeder.config import Settings
from openfeeder.domain.clock import SYSTEM_CLOCK, Clock
from openfeeder.ingest import make_ingestor
from openfeeder.jobs.queue import make_queue
from openfeeder.pipeline import make_pipeline
from openfeeder.ratelimit import (
    Counter,
    MemoryCounter,
    RateLimiter,
    RedisCounter,
    api_limit,
    export_limit,
)
from openfeeder.routing import Surface
from openfeeder.services.alerts import Deliverer
from openfeeder.services.alerts.disabled import disabled_notifiers
from openfeeder.services.container import Services
from openfeeder.services.exports import make_export_files
from openfeeder.store.db import Database


def build_services(settings: Settings, *, clock: Clock = SYSTEM_CLOCK) -> Services:
    db = Database(settings.database_url)
    counter: Counter = RedisCounter(settings.redis_url) if settings.redis_url else MemoryCounter()
    files = make_export_files(settings)
    services = Services(
        settings=settings,
        db=db,
        limiter=RateLimiter(counter),
        api_limit=api_limit(settings.rate_limit_per_minute),
        export_limit=export_limit(settings.export_rate_limit_per_minute),
        queue=make_queue(settings, db, files=files, clock=clock),
        export_files=files,
        ingest=make_ingestor(settings, db),
        clock=clock,
        alerts=Deliverer(settings, db, clock=clock, notifiers=disabled_notifiers(settings, db)),
    )
    if settings.pipeline_in_process:
        services.pipeline = make_pipeline(
            settings, db, identifier=services.identifier(), clock=clock
        )
    return services


class Application(Starlette):
    """Starlette, but a request the tracker answers on its own (``SurfaceRouter.direct``)
    goes straight to it, past the error and exception middleware every other one gets.
    Every HTTP request's time to answer is observed for its surface (``/metrics``), and
    every one has an id its log records carry (``logs``), echoed as ``X-Request-ID`` by
    every surface but the tracker's."""

    surfaces: SurfaceRouter
    request_metrics: RequestMetrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        started = perf_counter()
        logs.enter_request(scope)
        direct = self.surfaces.direct(scope)
        if direct is not None:
            # The tracker's id is made only if one of its records is logged, and not echoed:
            # a beacon's answer is never read, and the hot path stays as it was.
            try:
                await direct(scope, receive, send)
            finally:
                self.request_metrics.observe(Surface.TRACKER, started)
            return
        try:
            await super().__call__(scope, receive, echo_request_id(send, logs.request_id(scope)))
        finally:
            self.request_metrics.observe(scope.get(SURFACE, Surface.API), started)


def create_app(settings: Settings, services: Services | None = None) -> Application:
    services = services or build_services(settings)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if settings.run_jobs_in_process:
            services.queue.start_in_process()
            if services.alerts is not None:
                services.alerts.start_in_process()
        if services.ingest is not None:
            services.ingest.start()
        if services.pipeline is not None and settings.pipeline_in_process:
            services.pipeline.start_in_process()
        try:
            yield
        finally:
            if services.pipeline is not None:
                services.pipeline.stop()
            if services.ingest is not None:
                services.ingest.stop()  # flushes pending hits before the store closes
            services.queue.stop()
            if services.alerts is not None:
                services.alerts.stop()
            services.close_identifier()
            services.db.dispose()

    app = Application(
        exception_handlers={HTTPException: http_exception, Exception: server_error},
        lifespan=lifespan,
    )
    # Every surface has its own middleware (``surfaces``), so none is application-wide; the
    # router Starlette made is replaced before the first request builds the stack around it.
    app.router = app.surfaces = build_router(services, lifespan)
    app.request_metrics = app.state.request_metrics = RequestMetrics()
    app.state.store_metrics = store_registry(services)
    app.state.services = services
    return app
