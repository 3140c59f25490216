"""The OpenAPI 3.1 document of the public API (served at ``/openapi.json``), built from the
resource models (``domain.representation``: attribute schemas, relationships, sparse
fieldsets) and the route table's endpoints (paths, path parameters, security, parameters,
replies and error statuses). What remains here is prose and wiring: the shared parameters,
headers and error responses, and the few documents that are no resource (the export file,
errors). ``tests/api/test_openapi.py`` validates real responses against it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from openfeeder import __version__
from openfeeder.domain.alerts import HookAttributes
from openfeeder.domain.representation import (
    EXPORT_LEAD_FIELDS,
    SPARSE_FIELDSET_MODELS,
    IpEnrichmentAttributes,
    LeadAttributes,
)
from openfeeder.domain.resource import EXTENSION, Resource, field_names, json_schemas
from openfeeder.routing import JSONAPI, Answer, Auth, Endpoint, Operation, RawOperation, Reply

__all__ = ["JSONAPI", "openapi_document"]

Schema = dict[str, Any]

MODELS: tuple[type[Resource], ...] = (
    *SPARSE_FIELDSET_MODELS,
    IpEnrichmentAttributes,
    HookAttributes,
)
_BY_TYPE = {model.TYPE: model for model in MODELS}
_DATE = "yyyy-mm-dd"
_SCHEMAS = "#/components/schemas/"


def _ref(name: str, kind: str = "schemas") -> Schema:
    return {"$ref": f"#/components/{kind}/{name}"}


def _typed(type_: str | list[str], description: str, **extra: Any) -> Schema:
    return {"type": type_, "description": description, **extra}


def _string(description: str, **extra: Any) -> Schema:
    return _typed("string", description, **extra)


def _integer(description: str, **extra: Any) -> Schema:
    return _typed("integer", description, **extra)


def _array(items: Schema, description: str) -> Schema:
    return {"type": "array", "items": items, "description": description}


def _object(
    properties: Mapping[str, Schema],
    required: Iterable[str] = (),
    description: str | None = None,
) -> Schema:
    out: Schema = {"type": "object"}
    if description:
        out["description"] = description
    out["properties"] = dict(properties)
    if required := list(required):
        out["required"] = required
    out["additionalProperties"] = False
    return out


# --- Resources and documents, from the models ---


def _name(model: type[Resource]) -> str:
    return model.__name__.removesuffix("Attributes")


def _listed(model: type[Resource]) -> str:
    """The resource schema of ``model`` in a list: ``Listed…`` where lists carry more."""
    return f"Listed{_name(model)}" if model.LISTED_ONLY else _name(model)


def _subset(schema: Schema, names: Iterable[str], description: str) -> Schema:
    """Some of an object's properties, in the order of ``names``."""
    properties = {name: schema["properties"][name] for name in names}
    return schema | {"description": description, "properties": properties}


def _resource(model: type[Resource], attributes: str) -> Schema:
    properties: dict[str, Schema] = {
        "id": {"type": "string", **model.ID_SCHEMA},
        "type": {"const": model.TYPE},
        "attributes": _ref(attributes),
    }
    required = ["id", "type", "attributes"]
    if model.RELATIONSHIPS:
        properties["relationships"] = _object(
            {
                name: _object(
                    {
                        "data": _object(
                            {"id": {"type": "string"}, "type": {"const": kind}},
                            ["id", "type"],
                            description=f"A reference to a {kind} resource.",
                        )
                    },
                    ["data"],
                )
                for name, kind in model.RELATIONSHIPS.items()
            },
            model.RELATIONSHIPS,
        )
        required.append("relationships")
    return _object(properties, required)


def _resource_schemas() -> dict[str, Schema]:
    """Each model's attributes and resource object; where lists carry more attributes than
    a single resource (a lead's quality), both variants; and the export file's leads."""
    out: dict[str, Schema] = {}
    for name, schema in json_schemas(MODELS, _SCHEMAS).items():
        model = next((m for m in MODELS if m.__name__ == name), None)
        if model is None:  # a value type (Industry, EmployeesRange, …)
            out[name] = schema
            continue
        if model.LISTED_ONLY:
            out[f"Listed{name}"] = schema
            out[_listed(model)] = _resource(model, f"Listed{name}")
            single = [n for n in field_names(model) if n not in model.LISTED_ONLY]
            text = model.SINGLE_DESCRIPTION or schema["description"]
            out[name] = _subset(schema, single, text)
        else:
            out[name] = schema
        out[_name(model)] = _resource(model, name)
    out["ExportLeadAttributes"] = _subset(
        out["ListedLeadAttributes"],
        EXPORT_LEAD_FIELDS,
        "The lead attributes an export file carries.",
    )
    out["ExportLead"] = _resource(LeadAttributes, "ExportLeadAttributes")
    return out


def _document_name(reply: Reply) -> str:
    assert reply.resource is not None
    return _name(reply.resource) + ("List" if reply.many else "Document")


def _document(reply: Reply) -> Schema:
    model = reply.resource
    assert model is not None
    data = _array(_ref(_listed(model)), f"The {model.TYPE}.") if reply.many else _ref(_name(model))
    properties: dict[str, Schema] = {"data": data}
    for kind in dict.fromkeys(model.RELATIONSHIPS.values()):
        related = _name(_BY_TYPE[kind])
        properties["included"] = _array(_ref(related), f"The {related} resources referred to.")
    if reply.paged:
        properties["links"] = _ref("PaginationLinks")
        properties["meta"] = _ref("ListMeta")
    return _object(properties, properties)


def _reply_types(reply: Reply) -> list[str]:
    """The resource types a reply holds: its own, then the related ones it includes."""
    if reply.resource is None:
        return []
    return [reply.resource.TYPE, *dict.fromkeys(reply.resource.RELATIONSHIPS.values())]


# --- Documents that are no resource model: the export file, errors, pagination ---


def _other_schemas() -> dict[str, Schema]:
    date_schema = {"type": "string", "format": "date", "description": _DATE}
    return {
        "TimelineRow": _object(
            {
                "id": {"type": "string"},
                "type": {"const": "timeline_rows"},
                "attributes": _ref("TimelineRowAttributes"),
                "relationships": _object(
                    {
                        "lead": _object(
                            {
                                "data": _object(
                                    {"id": {"type": "string"}, "type": {"const": "leads"}},
                                    ["id", "type"],
                                    description="A reference to a leads resource.",
                                )
                            },
                            ["data"],
                        )
                    },
                    ["lead"],
                ),
            },
            ["id", "type", "attributes", "relationships"],
        ),
        "TimelineRowAttributes": _object(
            {
                "keywords": _array({"type": "string"}, "Search terms used to find the site."),
                "quality": _integer("Lead quality for the interval.", minimum=0, maximum=10),
                "stats": _object(
                    {
                        "bounces": _integer("Single-page visits.", minimum=0),
                        "last_visit": {**date_schema, "description": "Last visit in interval."},
                        "pageviews": _integer("Pageviews in the interval.", minimum=0),
                        "visits": _integer("Visits in the interval.", minimum=0),
                    },
                    ["bounces", "last_visit", "pageviews", "visits"],
                ),
            },
            ["keywords", "quality", "stats"],
        ),
        "ExportReport": _object(
            {
                "data": _array(_ref("TimelineRow"), "One row per lead, no 10 000 cap."),
                "included": _array(
                    {"oneOf": [_ref("ExportLead"), _ref("Location")]},
                    "The leads of the rows and their locations.",
                ),
            },
            ["data", "included"],
            description="The export file (the seed's sample report format).",
        ),
        # Not additionalProperties: false: the API ignores body fields it does not know, as it
        # ignores unknown query parameters.
        "ExportRequestParameters": {
            "type": "object",
            "description": "The four parameters, all required. openfeeder also takes any of "
            "them from the query string instead.",
            "properties": {
                "account_id": _typed(
                    ["string", "integer"],
                    "The account to export.",
                    pattern="^[0-9]{1,18}$",
                    minimum=0,
                ),
                "custom_feed_id": _string("The feed to export (e.g. all_leads).", **_TEXT),
                "start_date": {**date_schema, "description": f"Start date ({_DATE})."},
                "end_date": {**date_schema, "description": f"End date ({_DATE})."},
            },
            "required": ["account_id", "custom_feed_id", "start_date", "end_date"],
        },
        "HookParameters": {
            "type": "object",
            "description": "A REST hook subscription.",
            "properties": {
                "account_id": _typed(
                    ["string", "integer"],
                    "The account whose events are sent.",
                    pattern="^[0-9]{1,18}$",
                    minimum=0,
                ),
                "target_url": _string("Where to POST the events (http or https).", **_TEXT),
                "event": {
                    "type": "string",
                    "enum": [
                        "lead.new_company",
                        "lead.returning",
                        "lead.page_visit",
                        "lead.quality",
                    ],
                    "description": "The event type.",
                },
                "feed_id": _string("The feed (all_leads by default).", **_TEXT),
                "days": _typed(["string", "integer"], "lead.returning: days away.", minimum=1),
                "pattern": _string("lead.page_visit: a page URL or path glob.", **_TEXT),
                "quality": _typed(["string", "integer"], "lead.quality: 1 to 10.", minimum=1),
            },
            "required": ["account_id", "target_url", "event"],
        },
        "PaginationLinks": _object(
            {
                name: _string(text, format="uri")
                for name, text in (
                    ("self", "This page."),
                    ("first", "The first page."),
                    ("last", "The last page (lead lists stop at 10 000 results)."),
                    ("prev", "The previous page; absent on page 1."),
                    ("next", "The next page; absent on the last page."),
                )
            },
            ["self", "first", "last"],
            description="Absolute URLs, with page%5Bnumber%5D and page%5Bsize%5D encoded.",
        ),
        "ListMeta": _object(
            {
                "total_count": _integer(
                    "Results in the whole list (lead lists: at most 10 000).",
                    minimum=0,
                    **{EXTENSION: True},
                )
            },
            ["total_count"],
        ),
        "ErrorDocument": _object(
            {"errors": {"type": "array", "minItems": 1, "items": _ref("Error")}},
            ["errors"],
            description="A JSON:API error document.",
        ),
        "Error": _object(
            {
                "status": _string("The HTTP status code.", pattern="^[45][0-9]{2}$"),
                "title": _string("Short summary of the problem."),
                "detail": _string("What exactly went wrong."),
                "source": _object(
                    {"parameter": _string("The query or body parameter at fault.")},
                    ["parameter"],
                ),
            },
            ["status", "title"],
        ),
        "RateLimitDocument": _object(
            {
                "errors": {
                    "type": "array",
                    "minItems": 1,
                    "items": _object(
                        {
                            "title": _string("Which limit was exceeded."),
                            "links": _object({"about": _string("Docs.", format="uri")}, ["about"]),
                        },
                        ["title", "links"],
                    ),
                }
            },
            ["errors"],
            description="The seed's 429 body, to the letter.",
        ),
    }


# --- Parameters, headers and shared responses ---

# Path parameters by the names the route table's paths give them.
# Text of ours never holds a control character: a parameter with one is a 400 (api/params.py).
_TEXT: Schema = {"pattern": "^[^\\u0000-\\u001f\\u007f]+$", "maxLength": 200}
_PATH_PARAMETERS = {
    "account_id": (
        "ID of the account: ASCII digits (anything else names no account: 403).",
        {"pattern": "^[0-9]{1,18}$"},
    ),
    "feed_id": ("ID of the custom feed (e.g. all_leads, 9999383).", _TEXT),
    "lead_id": ("ID of the lead (<company>_<location>).", _TEXT),
    "export_id": ("ID of the export request.", _TEXT),
    "file_name": ("The unique file name from download_url.", _TEXT),
    "hook_id": ("ID of the REST hook (from POST /hooks).", _TEXT),
}
_INTERVAL_TEXT = (
    f"First or last day of the interval ({_DATE}, in the account's timezone); "
    "start_date ≤ end_date."
)
# Query parameters by name: (required, description, schema, example).
_QUERY_PARAMETERS: dict[str, tuple[bool, str, Schema, str | None]] = {
    "start_date": (True, _INTERVAL_TEXT, {"type": "string", "format": "date"}, "2015-09-01"),
    "end_date": (True, _INTERVAL_TEXT, {"type": "string", "format": "date"}, "2015-09-15"),
    "custom_feed_id": (
        False,
        "Limit leads to a custom feed. Default: all_leads.",
        {"type": "string"},
        None,
    ),
    "account_id": (True, "The account.", {"type": "string"}, None),  # so far beside a body
    "ip": (True, "An IPv4 or IPv6 address.", {"type": "string"}, "203.0.113.7"),
}
_PAGING = {
    "PageNumber": {
        "name": "page[number]",
        "in": "query",
        "description": "Page number, from 1.",
        "schema": {"type": "integer", "minimum": 1, "maximum": 1_000_000_000, "default": 1},
    },
    "PageSize": {
        "name": "page[size]",
        "in": "query",
        "description": "Results per page, 1–100.",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
    },
}


def _key(name: str) -> str:
    """``account_id`` → ``AccountId``: a parameter's component name."""
    return "".join(part.title() for part in re.split(r"[_\W]+", name) if part)


def _path_parameter(name: str) -> Schema:
    if name not in _PATH_PARAMETERS:
        raise LookupError(f"path parameter {{{name}}} has no description in _PATH_PARAMETERS")
    text, extra = _PATH_PARAMETERS[name]
    schema: Schema = {"type": "string", **extra}
    return {"name": name, "in": "path", "required": True, "description": text, "schema": schema}


def _query_parameter(name: str, *, with_body: bool) -> Schema:
    """A query parameter; next to a request body it is the body field's alternative."""
    required, text, schema, example = _QUERY_PARAMETERS[name]
    if with_body:
        return {"name": name, "in": "query", "description": f"{name}, when not in the body.",
                "schema": schema}  # fmt: skip
    out: Schema = {"name": name, "in": "query"}
    if required:
        out["required"] = True
    out |= {"description": text, "schema": schema}
    if example is not None:
        out["example"] = example
    return out


def _fieldset_name(type_: str) -> str:
    return f"fields-{type_}"


def _fieldset_parameters() -> dict[str, Schema]:
    return {
        _fieldset_name(model.TYPE): {
            "name": f"fields[{model.TYPE}]",
            "in": "query",
            "description": f"Sparse fieldset: the {model.TYPE} attributes to return, comma "
            "separated. An unknown name is a 400 naming the valid ones; relationships stay.",
            "style": "form",
            "explode": False,
            "schema": {
                "type": "array",
                "items": {"type": "string", "enum": list(field_names(model))},
            },
        }
        for model in SPARSE_FIELDSET_MODELS
    }


def _headers() -> dict[str, Schema]:
    def header(text: str, **schema: Any) -> Schema:
        return {"description": text, "required": True, "schema": {"type": "integer", **schema}}

    return {
        "X-RateLimit-Limit": header("Requests allowed in the current UTC minute.", minimum=1),
        "X-RateLimit-Remaining": header("Requests left in the current UTC minute.", minimum=0),
        "X-RateLimit-Reset": header(
            "When the window resets: epoch seconds of the next UTC minute.", multipleOf=60
        ),
        "Retry-After": header("Seconds to wait before trying again.", minimum=1),
        "Location": {
            "description": "The export request's status URL.",
            "required": True,
            "schema": {"type": "string", "format": "uri"},
        },
        # The tracker's (raw operations): CORS for every origin, caching.
        **{
            name: {"description": text, "required": True, "schema": {"type": "string", **schema}}
            for name, text, schema in (
                ("Access-Control-Allow-Origin", "Any origin may send hits.", {"const": "*"}),
                ("Cache-Control", "How long the answer may be kept.", {"minLength": 1}),
                ("ETag", "The script's version, for If-None-Match.", {"minLength": 1}),
                ("Vary", "The script is also served gzipped.", {"const": "Accept-Encoding"}),
                ("Content-Encoding", "gzip when the client accepts it.", {"const": "gzip"}),
            )
        },
    }


_RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def _header_refs(*names: str) -> dict[str, Schema]:
    return {name: _ref(name, "headers") for name in names}


def _json(schema: Schema, media_type: str = JSONAPI) -> dict[str, Schema]:
    return {media_type: {"schema": schema}}


_ERRORS = {
    "400": ("BadRequest", "Wrong or badly formatted parameters; source.parameter names the one."),
    "401": ("Unauthorized", "The API token is missing or not valid."),
    "402": ("PremiumRequired", "The account has no Premium subscription or active trial."),
    "403": (
        "Forbidden",
        "The token is disabled, or its user may not see the account (whether or not it exists).",
    ),
    "404": ("NotFound", "The resource (or route) was not found."),
    "413": ("PayloadTooLarge", "The request body is larger than 64 KiB."),
}


def _error_document(status: str | None = None) -> Schema:
    """JSON:API errors; with ``status``, every error object carries exactly that status."""
    if status is None:
        return _ref("ErrorDocument")
    return {
        "allOf": [_ref("ErrorDocument")],
        "properties": {"errors": {"items": {"properties": {"status": {"const": status}}}}},
    }


def _responses() -> dict[str, Schema]:
    headers = _headers()
    # Errors raised before a request is counted against its token's limit (an unreadable
    # body, a token that is not valid) carry no rate-limit headers, so errors do not promise them.
    maybe = {
        name: headers[name]
        | {"required": False, "description": headers[name]["description"] + " Not on every error."}
        for name in _RATE_HEADERS
    }
    out: dict[str, Schema] = {
        name: {"description": text, "headers": maybe, "content": _json(_error_document(status))}
        for status, (name, text) in _ERRORS.items()
    }
    out["TooManyRequests"] = {
        "description": "Over the per-minute limit (100 requests per token, or per client IP "
        "without a valid token; POST /export-requests also 5 per token). The body is the "
        "seed's, to the letter.",
        "headers": _header_refs(*_RATE_HEADERS, "Retry-After"),
        "content": _json(_ref("RateLimitDocument")),
    }
    return out


_RESPONSE_NAMES = {status: name for status, (name, _) in _ERRORS.items()} | {
    "429": "TooManyRequests"
}


# --- Operations, from the route table ---


def _statuses(endpoint: Endpoint, doc: Operation) -> list[str]:
    """Every answer an operation can give besides its success, and no catch-all: any caller
    can be rate limited (429) and send a parameter the API refuses (400: a control
    character, an unknown sparse fieldset); a token route refuses a missing or unknown token
    (401), a disabled one or an account not the user's (403); a premium route an account
    without premium features (402); a route with a body one that is too large (413)."""
    statuses = {400, 429, *doc.errors}
    if endpoint.auth is Auth.TOKEN:
        statuses |= {401, 403}
    if doc.premium:
        statuses.add(402)
    if doc.body:
        statuses.add(413)
    return sorted(str(status) for status in statuses)


def _request_body(doc: Operation) -> Schema:
    assert doc.body is not None
    assert doc.reply.resource is not None
    params = _ref(doc.body)
    document = {"type": {"const": doc.reply.resource.TYPE}, "attributes": params}
    wrapped = _object(
        {"data": _object(document)},
        ["data"],
        description="The same parameters as a JSON:API document's data.attributes.",
    )
    as_json = {"oneOf": [params, wrapped]}
    return {
        "required": True,
        "description": "Form, JSON or JSON:API body (openfeeder also takes the parameters from "
        "the query string).",
        "content": {
            "application/x-www-form-urlencoded": {"schema": params},
            "multipart/form-data": {"schema": params},
            "application/json": {"schema": as_json},
            JSONAPI: {"schema": as_json},
        },
    }


def _operation(endpoint: Endpoint, components: Schema) -> Schema:
    """One operation; the parameters and documents it uses are added to ``components``."""
    doc = endpoint.doc
    assert isinstance(doc, Operation), "Endpoint requires a doc on the documented surfaces"
    reply = doc.reply
    parameters = components["parameters"]
    refs: list[str] = []
    for name in re.findall(r"\{(\w+)\}", endpoint.path):
        parameters[_key(name)] = _path_parameter(name)
        refs.append(_key(name))
    for name in doc.query:
        key = _key(name) + ("NotInBody" if doc.body else "")
        parameters[key] = _query_parameter(name, with_body=doc.body is not None)
        refs.append(key)
    if reply.paged:
        refs += _PAGING
    refs += [_fieldset_name(t) for t in _reply_types(reply) if _fieldset_name(t) in parameters]

    if reply.resource is not None:
        components["schemas"][_document_name(reply)] = _document(reply)
        content = _ref(_document_name(reply))
    else:
        content = _ref(reply.schema) if reply.schema else {"type": "object"}
    responses: dict[str, Schema] = {
        str(reply.status): {
            "description": reply.description,
            "headers": _header_refs(*_RATE_HEADERS, *reply.headers),
            "content": _json(content, reply.media_type),
        }
    }
    for status in _statuses(endpoint, doc):
        responses[status] = _ref(_RESPONSE_NAMES[status], "responses")

    op: Schema = {"operationId": doc.operation_id, "tags": [doc.tag], "summary": doc.summary}
    if doc.description:
        op["description"] = doc.description
    if endpoint.auth is Auth.PUBLIC:
        op["security"] = []
    op["parameters"] = [_ref(key, "parameters") for key in refs]
    if doc.body:
        op["requestBody"] = _request_body(doc)
    op["responses"] = responses
    if doc.extension:
        op[EXTENSION] = True
    return op


def _answer(answer: Answer, headers: Mapping[str, Schema]) -> Schema:
    out: Schema = {"description": answer.description}
    declared = _header_refs(*answer.headers) | {
        name: headers[name] | {"required": False} for name in answer.maybe_headers
    }
    if declared:
        out["headers"] = declared
    if answer.schemas is not None:
        out["content"] = {
            media: {"schema": _ref(schema) if isinstance(schema, str) else dict(schema)}
            for media, schema in answer.schemas.items()
        }
    return out


def _raw_operation(endpoint: Endpoint, components: Schema) -> Schema:
    """A raw ASGI route (the tracker's): its parameters and answers as the route table states
    them, every one of them; it is public."""
    doc = endpoint.doc
    assert isinstance(doc, RawOperation)
    components["schemas"] |= copy.deepcopy(dict(doc.schemas or {}))
    parameters: list[Schema] = []
    for parameter in doc.parameters:
        item: Schema = {"name": parameter.name, "in": parameter.location}
        if parameter.required or parameter.location == "path":
            item["required"] = True
        item |= {"description": parameter.description, "schema": dict(parameter.schema)}
        parameters.append(item)
    op: Schema = {"operationId": doc.operation_id, "tags": [doc.tag], "summary": doc.summary}
    if doc.description:
        op["description"] = doc.description
    op["security"] = []
    op["parameters"] = parameters
    if doc.body is not None:
        op["requestBody"] = {
            "required": False,
            "content": {media: {"schema": dict(schema)} for media, schema in doc.body.items()},
        }
    op["responses"] = {
        str(answer.status): _answer(answer, components["headers"]) for answer in doc.answers
    }
    return op


_DESCRIPTION = """\
A Leadfeeder-compatible API: the same paths, parameters and JSON:API documents, so clients
written for the Leadfeeder API work against an openfeeder base URL.

* **Authentication:** `Authorization: Token token=<token>` (also `Token token="<token>"` and
  `Bearer <token>`). Missing or unknown token: 401; disabled token: 403.
* **Rate limits:** 100 requests per token per UTC minute (per client IP without a valid token);
  `POST /export-requests` also 5 per minute. Headers `X-RateLimit-Limit`,
  `X-RateLimit-Remaining`, `X-RateLimit-Reset`; `Retry-After` on 429.
* **Errors:** JSON:API error objects with `status`, `title`, `detail` and `source.parameter`.
* **Sparse fieldsets:** `fields[<type>]=a,b` for every type.
* Properties marked `x-openfeeder-extension` are additions to the Leadfeeder contract.
* **Tracker:** `/tr` and `/lftracker_v1_<hash>.js` (tag Tracker) are what websites call: no
  token, any origin, a flood limit per client address, plain JSON errors (not JSON:API).
"""


def openapi_document(
    endpoints: Sequence[Endpoint], server_url: str | None = None
) -> dict[str, Any]:
    """The document of ``endpoints`` (the route table's API and document routes, in table
    order); ``server_url`` (the public base URL) becomes its only server."""
    components: Schema = {
        "securitySchemes": {
            "token": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": 'The value is `Token token=<token>` (or `Token token="<token>"`).',
            },
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "`Authorization: Bearer <token>` is accepted as well.",
            },
        },
        "parameters": _PAGING | _fieldset_parameters(),
        "headers": _headers(),
        "responses": _responses(),
        "schemas": _resource_schemas() | _other_schemas(),
    }
    paths: dict[str, Schema] = {}
    for endpoint in endpoints:
        build = _raw_operation if isinstance(endpoint.doc, RawOperation) else _operation
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = build(endpoint, components)
    tags = dict.fromkeys(e.doc.tag for e in endpoints if e.doc is not None)
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "openfeeder API",
            "version": __version__,
            "description": _DESCRIPTION,
            "license": {"name": "MIT", "identifier": "MIT"},
        },
    }
    if server_url:
        document["servers"] = [{"url": server_url.rstrip("/")}]
    document["security"] = [{"token": []}, {"bearer": []}]
    document["tags"] = [{"name": name} for name in tags]
    document["paths"] = paths
    document["components"] = components
    # Parts of it are module data (parameter schemas); callers get a document of their own.
    return copy.deepcopy(document)
