"""One router for every surface, each surface behind its own middleware stack.

Starlette puts middleware around the whole application or around one route; a surface sits
in between. ``SurfaceRouter`` finds the surface a request is for from the route table (the
first route whose path and method match, else the first whose path matches, else the API,
whose error documents and rate limits cover unrouted requests) and hands the request to that
surface's own router, wrapped in that surface's middleware:

- API and documents: CORS for any origin (tokens are not cookies, so any page may call us),
  with the rate-limit headers exposed;
- tracker: none: its handlers are raw ASGI apps (``ingest.http``) that answer CORS
  themselves, including the 24-hour preflight. ``SurfaceRouter.direct`` finds them first,
  with a dictionary lookup for ``/tr``, and ``Application`` (``openfeeder.app``) calls them
  before Starlette's own middleware, so the hot path carries nothing it does not need;
- operations: none: no browser has any business calling it.

Every answer but the tracker's carries the request's id as ``X-Request-ID``
(``echo_request_id``, put around the whole stack by ``Application``; ``logs`` owns the id).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import ASGIApp, Lifespan, Message, Receive, Scope, Send

from openfeeder.api import endpoint as api_endpoint
from openfeeder.app.routes import ROUTES
from openfeeder.dashboard import web as dashboard_web
from openfeeder.ingest.http import TrackerHandler
from openfeeder.logs import REQUEST_ID_HEADER
from openfeeder.routing import Endpoint, Surface
from openfeeder.services.container import Services

_API_CORS = Middleware(
    CORSMiddleware,
    allow_origins=["*"],
    allow_methods=["GET", "POST"],
    allow_headers=["*"],
    expose_headers=[
        "Location",
        "Retry-After",
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
        "X-Request-ID",  # for a support request: the server log's id of this request
    ],
)

# The scope key under which the router leaves the surface it chose.
SURFACE = "openfeeder.surface"

MIDDLEWARE: Mapping[Surface, Sequence[Middleware]] = {
    Surface.API: [_API_CORS],
    Surface.DOCUMENTS: [_API_CORS],
    Surface.TRACKER: [],
    Surface.OPERATIONS: [],
    Surface.DASHBOARD: [],  # pages set their own security headers (``dashboard.render``)
}


def echo_request_id(send: Send, request_id: str) -> Send:
    """``send``, with the request's id added to the response's headers as ``X-Request-ID``
    (the error middleware's 500 included: it sends through this too)."""
    header = (REQUEST_ID_HEADER, request_id.encode("ascii"))

    async def send_with_id(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), header]
        await send(message)

    return send_with_id


class TrackerApp:
    """A tracker handler as an ASGI app, given the services it serves with."""

    __slots__ = ("handler", "services")

    def __init__(self, handler: TrackerHandler, services: Services) -> None:
        self.handler = handler
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.handler(self.services, scope, receive, send)


def starlette_route(endpoint: Endpoint, services: Services) -> Route:
    """The Starlette route for one table entry, called the way its surface calls handlers."""
    if endpoint.surface in (Surface.API, Surface.DOCUMENTS):
        return api_endpoint.route(endpoint)
    if endpoint.surface is Surface.DASHBOARD:
        return dashboard_web.route(endpoint)
    if endpoint.surface is Surface.TRACKER:
        app = TrackerApp(endpoint.handler, services)  # an ASGI app: Starlette calls it as is
        return Route(endpoint.path, app, methods=list(endpoint.methods))
    return Route(endpoint.path, endpoint.handler, methods=list(endpoint.methods))


class SurfaceRouter(Router):
    """Routes each request to its surface's router and middleware (see the module text).

    ``routes`` lists every route of every surface, so the application's route list, URL
    building and lifespan work as they do for a plain ``Router``."""

    def __init__(
        self,
        surfaces: Mapping[Surface, Sequence[BaseRoute]],
        middleware: Mapping[Surface, Sequence[Middleware]],
        *,
        default: Surface,
        lifespan: Lifespan[Any] | None = None,
    ) -> None:
        super().__init__(
            routes=[route for routes in surfaces.values() for route in routes],
            lifespan=lifespan,
        )
        self._by_route: list[tuple[BaseRoute, Surface, ASGIApp]] = []
        self._stacks: dict[Surface, ASGIApp] = {}
        for surface, routes in surfaces.items():
            stack: ASGIApp = Router(routes=list(routes))
            for cls, args, kwargs in reversed(middleware[surface]):
                stack = cls(stack, *args, **kwargs)
            self._stacks[surface] = stack
            self._by_route.extend((route, surface, stack) for route in routes)
        self._default = (default, self._stacks.get(default) or Router(routes=[]))
        # The surfaces without middleware whose routes are plain ASGI apps: path → method → app
        # for fixed paths (``/tr``), the routes themselves for paths with parameters.
        self._exact: dict[str, dict[str, ASGIApp]] = {}
        self._patterned: list[Route] = []
        for route in surfaces.get(Surface.TRACKER, ()):
            if not isinstance(route, Route) or not isinstance(route.endpoint, TrackerApp):
                continue
            if route.param_convertors:
                self._patterned.append(route)
            else:
                methods = self._exact.setdefault(route.path, {})
                methods.update(dict.fromkeys(route.methods or (), route.app))

    def direct(self, scope: Scope) -> ASGIApp | None:
        """The tracker app that answers this HTTP request on its own, or None (then the
        surfaces' routers and middleware take it: every other route, and any method a
        tracker path does not serve, which gets the API's 405 document)."""
        if scope.get("root_path"):
            return None  # mounted below a root path: Starlette's own matching strips it
        methods = self._exact.get(scope["path"])
        if methods is not None:
            return methods.get(scope["method"])
        for route in self._patterned:
            match, child = route.matches(scope)
            if match is Match.FULL:
                scope.update(child)  # path_params, as Starlette's router does
                return route.app
        return None

    def surface_app(self, scope: Scope) -> tuple[Surface, ASGIApp]:
        partial: tuple[Surface, ASGIApp] | None = None
        for route, surface, stack in self._by_route:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return surface, stack
            if match is Match.PARTIAL and partial is None:
                partial = surface, stack
        return partial or self._default

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(scope, receive, send)
            return
        surface, stack = self.surface_app(scope)
        scope[SURFACE] = surface  # for the request latency ``Application`` observes
        await stack(scope, receive, send)


def build_router(services: Services, lifespan: Lifespan[Any] | None = None) -> SurfaceRouter:
    """The router of the whole application, built from ``routes.ROUTES`` and nothing else."""
    surfaces: dict[Surface, list[BaseRoute]] = {surface: [] for surface in Surface}
    for endpoint in ROUTES:
        surfaces[endpoint.surface].append(starlette_route(endpoint, services))
    return SurfaceRouter(surfaces, MIDDLEWARE, default=Surface.API, lifespan=lifespan)
