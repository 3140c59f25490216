"""How a route is declared: its path and methods, the surface it belongs to and how it is
authenticated. The one table of every route is ``openfeeder.app.routes``; this module only
holds the vocabulary, low in the stack, so the surfaces and the OpenAPI document can speak
it without importing the table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any


class Surface(Enum):
    """A group of routes with its own middleware (``openfeeder.app.surfaces``)."""

    API = "api"  # the Leadfeeder-compatible API: JSON:API, tokens, per-token limits, CORS
    DOCUMENTS = "documents"  # /openapi.json: public, limited per client IP, CORS like the API
    TRACKER = "tracker"  # /tr and the script: any origin, no token, per-IP flood limit
    OPERATIONS = "operations"  # /metrics: operators only, no CORS


class Auth(Enum):
    """How a route's caller is authenticated."""

    TOKEN = "token"  # noqa: S105 - a kind of auth, not a secret; an API token, limited per token
    PUBLIC = "public"  # no credentials (capability URLs, documents, tracker hits); per client IP
    OPERATOR = "operator"  # the operator's metrics token (``OPENFEEDER_METRICS_TOKEN``)


@dataclass(frozen=True)
class Endpoint:
    """One route. ``handler`` is called the way its surface calls handlers: API and document
    handlers get a ``Context`` and the path parameters; tracker handlers are raw ASGI apps,
    called as ``handler(services, scope, receive, send)``; operations handlers get the
    Starlette request."""

    path: str
    handler: Callable[..., Any]
    surface: Surface
    auth: Auth
    methods: tuple[str, ...] = ("GET",)
    export_limited: bool = False  # counts against the export-request limit too

    @property
    def method(self) -> str:
        """The one method of an API operation (API routes declare exactly one)."""
        assert len(self.methods) == 1, f"{self.path} declares {self.methods}"
        return self.methods[0]
