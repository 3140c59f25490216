"""How a route is declared: its path and methods, the surface it belongs to, how it is
authenticated and, for documented routes, what the OpenAPI document says of it. The one table
of every route is ``openfeeder.app.routes``; this module only holds the vocabulary, low in the
stack, so the surfaces and the OpenAPI document can speak it without importing the table."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from openfeeder.domain.resource import Resource


class Surface(Enum):
    """A group of routes with its own middleware (``openfeeder.app.surfaces``)."""

    API = "api"  # the Leadfeeder-compatible API: JSON:API, tokens, per-token limits, CORS
    DOCUMENTS = "documents"  # /openapi.json: public, limited per client IP, CORS like the API
    TRACKER = "tracker"  # /tr and the script: any origin, no token, per-IP flood limit
    OPERATIONS = "operations"  # /metrics: operators only, no CORS
    DASHBOARD = "dashboard"  # /app/…: pages for people, session cookie + CSRF, no CORS


# The surfaces the OpenAPI document describes: each of their routes says what it tells of it
# (an ``Operation``). Tracker routes with a ``RawOperation`` are in the document too.
DOCUMENTED = frozenset({Surface.API, Surface.DOCUMENTS})


class Auth(Enum):
    """How a route's caller is authenticated."""

    TOKEN = "token"  # noqa: S105 - a kind of auth, not a secret; an API token, limited per token
    PUBLIC = "public"  # no credentials (capability URLs, documents, tracker hits); per client IP
    OPERATOR = "operator"  # the operator's metrics token (``OPENFEEDER_METRICS_TOKEN``)
    SESSION = "session"  # a dashboard sign-in (cookie); unsafe methods also need its CSRF token
    # A secret token in the path is the only credential (a digest's unsubscribe link): no
    # session and no CSRF token, since a mail client POSTs it on its own (RFC 8058).
    CAPABILITY = "capability"


JSONAPI = "application/vnd.api+json"


@dataclass(frozen=True)
class Reply:
    """What a successful call answers: a JSON:API document of ``resource`` (one, or a list
    when ``many``; ``paged`` lists have links, meta and page parameters), or else the named
    ``schema`` of the OpenAPI document, or else any JSON object."""

    description: str
    resource: type[Resource] | None = None
    many: bool = False
    paged: bool = False
    schema: str | None = None
    media_type: str = JSONAPI
    status: int = 200
    headers: tuple[str, ...] = ()  # headers besides the rate-limit ones


@dataclass(frozen=True)
class Operation:
    """How the OpenAPI document describes one route. Path parameters come from the path and
    sparse fieldsets from the reply's types; ``query`` names the other query parameters."""

    operation_id: str
    tag: str
    summary: str
    reply: Reply
    description: str | None = None
    query: tuple[str, ...] = ()
    body: str | None = None  # the named schema of the request body (form, JSON or JSON:API)
    premium: bool = False  # 402 on an account without premium features
    errors: tuple[int, ...] = ()  # statuses besides those its auth, fieldsets and premium imply
    extension: bool = False  # an openfeeder addition to the Leadfeeder API


@dataclass(frozen=True)
class Parameter:
    """A query or header parameter of a raw operation, with its schema as the handler checks it."""

    name: str
    location: str  # "path" (then required), "query" or "header"
    description: str
    schema: Mapping[str, Any]
    required: bool = False


@dataclass(frozen=True)
class Answer:
    """One response of a raw operation: ``schemas`` maps each media type it can carry to its
    schema (a component name, or an inline schema); none for an empty body. ``headers`` are
    always sent, ``maybe_headers`` sometimes (component names, as in ``Reply.headers``)."""

    status: int
    description: str
    schemas: Mapping[str, str | Mapping[str, Any]] | None = None
    headers: tuple[str, ...] = ()
    maybe_headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class RawOperation:
    """How the document describes a raw ASGI route (the tracker's), which answers no JSON:API:
    its parameters, request body and every response are stated one by one."""

    operation_id: str
    tag: str
    summary: str
    answers: tuple[Answer, ...]
    description: str | None = None
    parameters: tuple[Parameter, ...] = ()
    body: Mapping[str, Mapping[str, Any]] | None = None  # media type → schema; not required
    schemas: Mapping[str, Mapping[str, Any]] | None = None  # the components its answers name


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
    # Required on the documented surfaces (API and documents); tracker routes may have one.
    doc: Operation | RawOperation | None = None

    def __post_init__(self) -> None:
        if self.surface in DOCUMENTED and not isinstance(self.doc, Operation):
            raise TypeError(f"{self.path} is on the {self.surface.value} surface without a doc")
        if isinstance(self.doc, RawOperation) and len(self.methods) != 1:
            raise TypeError(f"{self.path}: a documented route declares one method")

    @property
    def method(self) -> str:
        """The one method of an API operation (API routes declare exactly one)."""
        assert len(self.methods) == 1, f"{self.path} declares {self.methods}"
        return self.methods[0]
