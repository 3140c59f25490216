"""The operations surface: ``/metrics`` for the operator's Prometheus, behind the operator's
token (``OPENFEEDER_METRICS_TOKEN``). With no token set the metrics are not served at all:
they tell anyone who reads them how much traffic each site gets."""

from __future__ import annotations

import hmac

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from openfeeder.api.admission import client_ip, token_from
from openfeeder.api.errors import error_response
from openfeeder.domain.errors import Forbidden, OpenfeederError, Unauthorized
from openfeeder.services.container import Services


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
    """Prometheus text format: the registries of the ingestor and the pipeline (each keeps
    its own, as ``registry``), whichever this process runs."""
    services: Services = request.app.state.services
    try:
        await run_in_threadpool(_operator, services, request)
    except OpenfeederError as error:
        return error_response(error)
    registries = [
        registry
        for component in (services.ingest, services.pipeline)
        if isinstance(registry := getattr(component, "registry", None), CollectorRegistry)
    ]
    body = b"".join(generate_latest(registry) for registry in registries)
    return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST})
