"""The OpenAPI document: valid OpenAPI 3.1, covers every path of the seed and every route of
the app, and real responses of every operation (successes and each documented error) match
the schemas it declares."""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from ipaddress import ip_network
from typing import Any
from urllib.parse import quote

import pytest
from jsonschema import Draft202012Validator, ValidationError
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from starlette.testclient import TestClient

from openfeeder.api.openapi import JSONAPI, openapi_document
from openfeeder.api.resources import TYPES
from openfeeder.app import routes
from openfeeder.config import Settings
from openfeeder.demo import load_demo
from openfeeder.domain import ids
from openfeeder.domain.models import Account
from openfeeder.identify.ranges import network_bounds
from openfeeder.ratelimit import MemoryCounter, RateLimiter
from openfeeder.routing import Auth, Endpoint, Surface
from openfeeder.services import exports, feeds
from openfeeder.services.alerts import hooks
from openfeeder.store import accounts, admin
from openfeeder.store.db import Database
from openfeeder.store.identify import add_ranges
from tests.support.clients import build_app
from tests.support.factories import BOSTON, HELSINKI, Builder, Member
from tests.support.seed import seed_file

DOCUMENT_URI = "urn:openfeeder:openapi"
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document(routes.documented(), "http://testserver")


# --- (a) the document itself -------------------------------------------------------------


@pytest.mark.parametrize("server_url", [None, "https://leads.example.com/"])
def test_document_is_valid_openapi_3_1(server_url: str | None) -> None:
    document = openapi_document(routes.documented(), server_url)
    validate(document, cls=OpenAPIV31SpecValidator)
    assert document["openapi"].startswith("3.1.")
    if server_url:
        assert document["servers"] == [{"url": "https://leads.example.com"}]


def test_attribute_schemas_are_the_renderers_attributes(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    by_type = {
        "accounts": "AccountAttributes",
        "custom_feeds": "CustomFeedAttributes",
        "leads": "ListedLeadAttributes",
        "locations": "LocationAttributes",
        "visits": "VisitAttributes",
        "export_requests": "ExportRequestAttributes",
        "website-tracking-scripts": "WebsiteTrackingScriptAttributes",
    }
    assert set(by_type) == set(TYPES)
    for type_, schema in by_type.items():
        assert list(schemas[schema]["properties"]) == list(TYPES[type_]), type_
    single = list(schemas["LeadAttributes"]["properties"])
    assert single == [name for name in TYPES["leads"] if name != "quality"]


def test_every_type_has_a_sparse_fieldset_parameter(document: dict[str, Any]) -> None:
    parameters = document["components"]["parameters"].values()
    fieldsets = {
        p["name"]: p["schema"]["items"]["enum"]
        for p in parameters
        if p["name"].startswith("fields")
    }
    for type_, names in TYPES.items():
        assert fieldsets[f"fields[{type_}]"] == list(names)


def test_security_accepts_token_and_bearer(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["token"] == schemes["token"] | {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
    }
    assert schemes["bearer"]["scheme"] == "bearer"
    assert document["security"] == [{"token": []}, {"bearer": []}]
    public = {"/download/{file_name}", "/openapi.json", "/tr", "/lftracker_v1_{name}"}
    for path, method, operation in operations(document):
        assert (operation.get("security") == []) == (path in public), (method, path)


# --- (b) the seed's paths and the app's routes ---------------------------------------------

# What the seed documents, kept here so the check runs where the seed is not checked out;
# test_seed_snapshot_is_current keeps it equal to the seed wherever the seed is present.
SEED_OPERATIONS = (
    ("GET", "/accounts"),
    ("GET", "/accounts/{}"),
    ("GET", "/accounts/{}/custom-feeds"),
    ("GET", "/accounts/{}/custom-feeds/{}"),
    ("GET", "/accounts/{}/leads"),
    ("GET", "/accounts/{}/custom-feeds/{}/leads"),
    ("GET", "/accounts/{}/leads/{}"),
    ("GET", "/accounts/{}/leads/{}/visits"),
    ("GET", "/accounts/{}/visits"),
    ("POST", "/export-requests"),
    ("GET", "/export-requests/{}"),
    ("GET", "/download/{}"),
    ("GET", "/accounts/{}/website-tracking-script"),
)
# Every other URL the seed shows (curl examples, status_url, download_url, links).
SEED_EXAMPLE_PATHS = (
    "/accounts",
    "/accounts/6002",
    "/accounts/6002/custom-feed/999991535",
    "/accounts/6002/custom-feeds/661122/leads",
    "/accounts/6002/leads",
    "/accounts/6002/leads/25e7ccea-611b-11e5-b180-3b69e435d91d_7xeTMh2VfiAzFd86n7GNJ3",
    "/accounts/6002/leads/25e7ccea-611b-11e5-b180-3b69e435d91d_7xeTMh2VfiAzFd86n7GNJ3/visits",
    "/accounts/6002/visits",
    "/download/ee9de62d-d54b-4cd6-a703-77217a399dbf.json",
    "/export-feed/06ac7d56-34fe-11e5-8094-4fbabdb782e1",
    "/export-requests",
    "/export-requests/06ac7d56-34fe-11e5-8094-4fbabdb782e1",
)
SEED_HOST = "https://api.leadfeeder.com"


def shape(path: str) -> str:
    """``/accounts/<account_id>`` and ``/accounts/{account_id}`` → ``/accounts/{}``."""
    return re.sub(r"<[^>]*>|\{[^}]*\}", "{}", path.split("?", maxsplit=1)[0])


def seed_operations(text: str) -> list[tuple[str, str]]:
    """The ``HTTP Request`` lines: the method and path each is followed by, placeholders as {}."""
    lines = [line.strip() for line in text.splitlines()]
    found = []
    for heading, request in itertools.pairwise(lines):
        if heading == "HTTP Request":
            method, _, url = request.partition(" ")
            assert url.startswith(SEED_HOST), request
            found.append((method, shape(url.removeprefix(SEED_HOST))))
    return found


def seed_example_paths(text: str) -> list[str]:
    paths = set(re.findall(re.escape(SEED_HOST) + r'(/[^\s"?]*)', text))
    return sorted(p for p in paths if "<" not in p and p != "/...")


def test_seed_snapshot_is_current() -> None:
    path = seed_file()
    if not path.is_file():
        pytest.skip("the seed (leadfeeder-api.txt) is not checked out; set OPENFEEDER_SEED_FILE")
    text = path.read_text(encoding="utf-8")
    assert seed_operations(text) == list(SEED_OPERATIONS)
    assert seed_example_paths(text) == sorted(SEED_EXAMPLE_PATHS)


def operations(document: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method.upper(), item[method]


def test_every_seed_operation_is_documented(document: dict[str, Any]) -> None:
    documented = {(method, shape(path)) for path, method, _ in operations(document)}
    missing = [op for op in SEED_OPERATIONS if op not in documented]
    assert not missing, f"seed operations missing from the OpenAPI document: {missing}"


def test_every_url_the_seed_shows_matches_a_documented_path(document: dict[str, Any]) -> None:
    patterns = [
        re.compile("^" + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(path)) + "$")
        for path in document["paths"]
    ]
    unmatched = [p for p in SEED_EXAMPLE_PATHS if not any(r.match(p) for r in patterns)]
    assert not unmatched


def test_app_routes_and_documented_operations_are_the_same(document: dict[str, Any]) -> None:
    documented_surfaces = (*routes.on(Surface.API), *routes.on(Surface.DOCUMENTS))
    # The tracker's routes too, but its CORS preflight (test_openapi_tracker.py).
    tracker = [e for e in routes.on(Surface.TRACKER) if e.methods != ("OPTIONS",)]
    served = {(e.method, shape(e.path)) for e in (*documented_surfaces, *tracker)}
    documented = {(method, shape(path)) for path, method, _ in operations(document)}
    assert served - documented == set(), "served but not documented"
    assert documented - served == set(), "documented but not served"


def test_a_documented_route_cannot_be_declared_without_its_doc() -> None:
    handler = routes.documented()[0].handler
    for surface in (Surface.API, Surface.DOCUMENTS):
        with pytest.raises(TypeError, match="without a doc"):
            Endpoint("/somewhere", handler, surface, Auth.PUBLIC)
    Endpoint("/somewhere", handler, Surface.TRACKER, Auth.PUBLIC)  # not in the document


# --- (c) real responses match the document -------------------------------------------------


def _escape(segment: str) -> str:
    return quote(segment.replace("~", "~0").replace("/", "~1"), safe="~")


def _response_object(
    document: Mapping[str, Any], method: str, path_template: str, status: int
) -> tuple[dict[str, Any], str]:
    """The response object for a status and the JSON pointer it lives at (following $ref)."""
    operation = document["paths"].get(path_template, {}).get(method.lower())
    assert operation is not None, f"{method} {path_template} is not in the document"
    responses = operation["responses"]
    assert str(status) in responses, (
        f"{method} {path_template} answered {status}, which the document does not declare "
        f"(declared: {', '.join(responses)})"
    )
    response = responses[str(status)]
    pointer = "/" + "/".join(
        _escape(s) for s in ("paths", path_template, method.lower(), "responses", str(status))
    )
    if "$ref" in response:
        pointer = response["$ref"].removeprefix("#")
        response = _lookup(document, pointer)
    return response, pointer


def _lookup(document: Mapping[str, Any], pointer: str) -> Any:
    node: Any = document
    for segment in pointer.strip("/").split("/"):
        node = node[segment.replace("~1", "/").replace("~0", "~")]
    return node


def _describe(error: ValidationError) -> str:
    lines = [f"  at {error.json_path}: {error.message[:300]}"]
    lines += [f"      ({sub.json_path}: {sub.message[:200]})" for sub in error.context or []]
    return "\n".join(lines)


def assert_matches_openapi(
    document: Mapping[str, Any],
    method: str,
    path_template: str,
    status: int,
    body: Any,
    content_type: str = JSONAPI,
) -> None:
    """Validate a response body against the schema the document declares for it.

    The schema is addressed by its JSON pointer inside the document, registered as one
    Draft 2020-12 resource, so every ``#/components/...`` reference resolves against it.
    """
    response, pointer = _response_object(document, method, path_template, status)
    content = response.get("content", {})
    assert content_type in content, (
        f"{method} {path_template} {status}: content type {content_type} not declared "
        f"(declared: {', '.join(content)})"
    )
    registry: Registry[Any] = Registry().with_resource(
        DOCUMENT_URI, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    schema_pointer = f"{pointer}/content/{_escape(content_type)}/schema"
    validator = Draft202012Validator(
        {"$ref": f"{DOCUMENT_URI}#{schema_pointer}"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, f"{method} {path_template} {status} does not match the document:\n" + (
        "\n".join(_describe(e) for e in errors)
    )


def assert_headers_match(
    document: Mapping[str, Any],
    method: str,
    path_template: str,
    status: int,
    headers: Mapping[str, str],
) -> None:
    """Every header the document marks required is there; integer headers parse as such."""
    response, _ = _response_object(document, method, path_template, status)
    for name, declared in response.get("headers", {}).items():
        header = (
            _lookup(document, declared["$ref"].removeprefix("#"))
            if "$ref" in declared
            else declared
        )
        value = headers.get(name)
        if value is None:
            assert not header.get("required"), f"{method} {path_template} {status}: no {name}"
            continue
        schema = header["schema"]
        if schema.get("type") == "integer":
            assert value.isdigit(), f"{name}: {value!r} is not an integer"
        parsed = int(value) if schema.get("type") == "integer" else value
        problems = [e.message for e in Draft202012Validator(schema).iter_errors(parsed)]
        assert not problems, f"{method} {path_template} {status}: {name}: {problems}"


JAN = "start_date=2026-01-01&end_date=2026-01-31"
JANUARY = (date(2026, 1, 1), date(2026, 1, 31))


@dataclass
class World:
    """A premium account with annotated, located leads and visits; a lite account; and
    users with every kind of access."""

    member: Member
    stranger: Member
    disabled: Member
    account: Account
    lite: Account
    lead_id: str
    bare_lead_id: str
    feed_id: str
    extras: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        tokens = {
            "member": self.member.token,
            "stranger": self.stranger.token,
            "disabled": self.disabled.token,
            "invalid": "not-a-token",
        }
        if who == "none":
            return {}
        if who == "bearer":
            return {"Authorization": f"Bearer {self.member.token}"}
        return {"Authorization": f"Token token={tokens[who]}"}


@pytest.fixture
def world(builder: Builder, settings: Settings) -> World:
    member, stranger, disabled = builder.user(), builder.user(), builder.user()
    account = builder.account(member, disabled, timezone="Europe/Helsinki")
    lite = builder.account(member, subscription="lite")
    builder.account(stranger)
    (known,) = builder.companies(
        1,
        website_url="https://www.example.com",
        industry="Software",
        industry_code=20,
        dealfront_id="VqNyvp8Bwz",
        phone="+358504303422",
        linkedin_url="https://www.linkedin.com/company/example",
        twitter_handle="example",
        facebook_url="https://www.facebook.com/example",
        logo_url="https://logos.example.com/1.png",
        employee_count=40,
        employees_min=11,
        employees_max=50,
        revenue="EUR 395752792.0",
        business_id="KVK Number 123",
    )
    (bare,) = builder.companies(1)
    with builder.db.write() as conn:  # GET /ip-enrich?ip=203.0.113.7 finds it by this range
        network = ip_network("203.0.113.0/24")
        add_ranges(conn, [(known.id, str(network), *network_bounds(network))])
    builder.visits(
        account,
        [known],
        per_company=4,
        source="Google",
        medium="cpc",
        campaign="Spring",
        keyword="website leads",
        referring_url="https://www.google.com/",
        lf_client_id="LF1.1.0123456789abcdef.1700000000000",
        ga_client_ids=["123.123"],
        adobe_cookies=[{"MCMID": "681245", "MCAAMB": "RKh123Vc5", "MCAAMLH": "6"}],
        device_type="desktop",
        match_source="ip_range",
        match_reason="203.0.113.0/24 belongs to the company",
    )
    builder.visits(account, [bare], location=BOSTON, seed=2)
    lead_id = ids.lead_id(known.id, HELSINKI.id)
    with builder.db.write() as conn:
        admin.annotate_leads(
            conn,
            account.id,
            [
                {
                    "lead_id": lead_id,
                    "assignee": "user@company.com",
                    "emailed_to": "user@example.com,user@company.com",
                    "crm_lead_id": 110,
                    "crm_organization_id": 7,
                    "tags": ["tag1", "tag2"],
                }
            ],
        )
        admin.follow_leads(conn, member.user.id, account.id, [lead_id])
        accounts.set_token_disabled(conn, disabled.token_id, True)
    feed = feeds.create_feed(
        builder.db,
        account,
        "Finland",
        [{"criterion_type": "country_code", "search_value": "FI", "excluded": False}],
    )
    export = exports.create_export(
        builder.db,
        _NoQueue(),
        account,
        member.user,
        "all_leads",
        date(2026, 1, 1),
        date(2026, 1, 31),
    )
    exports.run_export(builder.db, settings, exports.make_export_files(settings), export.id)
    file_name = exports.get_export(builder.db, member.user, export.id).file_name
    assert file_name is not None
    hook = hooks.subscribe(
        builder.db,
        account,
        member.user,
        datetime.now(UTC),
        target_url="https://hooks.example.com/catch/0",
        event="lead.returning",
    )
    return World(
        member=member,
        stranger=stranger,
        disabled=disabled,
        account=account,
        lite=lite,
        lead_id=lead_id,
        bare_lead_id=ids.lead_id(bare.id, BOSTON.id),
        feed_id=feed.id,
        extras={"export": export.id, "file": file_name, "hook": hook.endpoint.id},
    )


class _NoQueue:
    """The world runs its export itself; nothing needs to be queued."""

    def enqueue_export(self, export_id: str) -> None:
        pass


@dataclass(frozen=True)
class Case:
    """One request: ``url`` is formatted with the world (``{a}`` account, ``{lite}``, ``{lead}``,
    ``{bare}``, ``{feed}``, ``{jan}``, plus ``extras``), as user ``who``."""

    name: str
    method: str
    template: str
    url: str
    status: int
    who: str = "member"
    form: Mapping[str, str] | None = None
    json: Mapping[str, str] | None = None
    raw: str | None = None  # a JSON body sent as is
    parameter: str | None = None  # the error's expected source.parameter

    def target(self, world: World) -> str:
        return self.url.format(
            a=world.account.id,
            lite=world.lite.id,
            lead=world.lead_id,
            bare=world.bare_lead_id,
            feed=world.feed_id,
            jan=JAN,
            **world.extras,
        )

    def payload(self, world: World) -> dict[str, Any]:
        fill = {
            k: v.format(a=world.account.id, lite=world.lite.id)
            for k, v in (self.form or self.json or {}).items()
        }
        if self.raw is not None:
            return {"content": self.raw, "headers": {"Content-Type": "application/json"}}
        if self.json is not None:
            return {"json": fill}
        return {"data": fill} if self.form is not None else {}


def check(
    document: Mapping[str, Any],
    case: Case,
    world: World,
    client: TestClient,
    complete: Mapping[str, Any] | None = None,
) -> None:
    """Send the case's request and hold the response to the document; with ``complete`` (the
    document with every attribute required), a response without sparse fieldsets must also
    carry every documented attribute."""
    target = case.target(world)
    payload = case.payload(world)
    headers = world.headers(case.who) | payload.pop("headers", {})
    response = client.request(case.method, target, headers=headers, **payload)
    assert response.status_code == case.status, (
        f"{case.method} {target} as {case.who}: {response.status_code} {response.text[:300]}"
    )
    media = response.headers.get("content-type", "").split(";")[0].strip()
    body = response.json()
    assert_matches_openapi(document, case.method, case.template, case.status, body, media)
    assert_headers_match(document, case.method, case.template, case.status, response.headers)
    if case.parameter is not None:
        assert [e.get("source", {}).get("parameter") for e in body["errors"]] == [case.parameter]
    if complete is not None and "fields[" not in target:
        assert_matches_openapi(complete, case.method, case.template, case.status, body, media)


# Attributes only some resources carry: visits with Adobe cookies, a hook just made (its secret).
_SOMETIMES = {"adobe_cookies", "secret"}


def every_attribute_required(document: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the document in which a resource without sparse fieldsets must carry every
    attribute (``adobe_cookies`` excepted: only visits that have them show it)."""
    strict = copy.deepcopy(dict(document))
    for name, schema in strict["components"]["schemas"].items():
        if name.endswith("Attributes"):
            schema["required"] = [p for p in schema["properties"] if p not in _SOMETIMES]
    return strict


# The operations with one valid request each, and what each can be refused for.
A = "/accounts/{account_id}"
FEED = f"{A}/custom-feeds/{{feed_id}}"
LEAD = f"{A}/leads/{{lead_id}}"
EXPORT_FORM = {
    "account_id": "{a}",
    "custom_feed_id": "all_leads",
    "start_date": "2026-01-01",
    "end_date": "2026-01-31",
}


HOOK_FORM = {
    "account_id": "{a}",
    "target_url": "https://hooks.example.com/catch/1",
    "event": "lead.new_company",
}


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    url: str
    form: Mapping[str, str] | None = None
    in_account: bool = True  # 403 for a user outside the account
    premium: bool = False  # 402 on a lite account: url/form with {a} → {lite}
    public: bool = False

    def case(self, name: str, status: int, **changes: Any) -> Case:
        base = Case(name, self.method, self.template, self.url, status, form=self.form)
        return replace(base, **changes)


OPERATIONS = [
    Operation("GET", "/accounts", "/accounts", in_account=False),
    Operation("GET", A, "/accounts/{a}"),
    Operation("GET", f"{A}/custom-feeds", "/accounts/{a}/custom-feeds"),
    Operation("GET", FEED, "/accounts/{a}/custom-feeds/{feed}"),
    Operation("GET", f"{A}/custom-feed/{{feed_id}}", "/accounts/{a}/custom-feed/{feed}"),
    Operation("GET", f"{A}/leads", "/accounts/{a}/leads?{jan}", premium=True),
    Operation(
        "GET", f"{FEED}/leads", "/accounts/{a}/custom-feeds/{feed}/leads?{jan}", premium=True
    ),
    Operation(
        "GET",
        f"{A}/custom-feed/{{feed_id}}/leads",
        "/accounts/{a}/custom-feed/all_leads/leads?{jan}",
        premium=True,
    ),
    Operation("GET", LEAD, "/accounts/{a}/leads/{lead}", premium=True),
    Operation("GET", f"{LEAD}/visits", "/accounts/{a}/leads/{lead}/visits?{jan}", premium=True),
    Operation("GET", f"{A}/visits", "/accounts/{a}/visits?{jan}", premium=True),
    Operation("GET", f"{A}/website-tracking-script", "/accounts/{a}/website-tracking-script"),
    Operation("POST", "/export-requests", "/export-requests", form=EXPORT_FORM, premium=True),
    Operation("GET", "/export-requests/{export_id}", "/export-requests/{export}", in_account=False),
    Operation("GET", "/export-feed/{export_id}", "/export-feed/{export}", in_account=False),
    Operation("GET", "/download/{file_name}", "/download/{file}", public=True, in_account=False),
    Operation("GET", "/openapi.json", "/openapi.json", public=True, in_account=False),
    Operation("GET", "/ip-enrich", "/ip-enrich?ip=203.0.113.7", in_account=False),
    Operation("POST", "/hooks", "/hooks", form=HOOK_FORM),
    Operation("DELETE", "/hooks/{hook_id}", "/hooks/{hook}", in_account=False),
]
BY_TEMPLATE = {(op.method, op.template): op for op in OPERATIONS}


def _op(method: str, template: str) -> Operation:
    return BY_TEMPLATE[(method, template)]


def _lite(op: Operation) -> Case:
    form = {k: v.replace("{a}", "{lite}") for k, v in op.form.items()} if op.form else None
    url = op.url.replace("{a}", "{lite}")
    return Case("lite account", op.method, op.template, url, 402, form=form)


def _with(op: Operation, name: str, status: int, query: str, **changes: Any) -> Case:
    joiner = "&" if "?" in op.url else "?"
    return op.case(name, status, url=op.url + joiner + query, **changes)


SUCCESSES = [
    *(op.case("ok", 201 if op.method == "POST" else 200) for op in OPERATIONS),
    _op("POST", "/hooks").case(
        "JSON body, page visits",
        201,
        form=None,
        json=HOOK_FORM | {"event": "lead.page_visit", "pattern": "/pricing*"},
    ),
    _op("GET", "/accounts").case("bearer token", 200, who="bearer"),
    _with(_op("GET", "/accounts"), "sparse", 200, "fields[accounts]=name,on_trial"),
    _op("GET", A).case("lite account", 200, url="/accounts/{lite}"),
    _op("GET", FEED).case("built-in feed", 200, url="/accounts/{a}/custom-feeds/recommended_leads"),
    _with(_op("GET", f"{A}/leads"), "page 1 of 2", 200, "page[size]=1"),
    _with(_op("GET", f"{A}/leads"), "page 2 of 2", 200, "page[size]=1&page[number]=2"),
    _with(_op("GET", f"{A}/leads"), "past the last page", 200, "page[number]=9"),
    _with(_op("GET", f"{A}/leads"), "feed by query", 200, "custom_feed_id=followed_companies"),
    _with(_op("GET", f"{A}/leads"), "sparse", 200, "fields[leads]=name,quality&fields[locations]="),
    _op("GET", f"{A}/leads").case(
        "empty interval", 200, url="/accounts/{a}/leads?start_date=2020-01-01&end_date=2020-01-02"
    ),
    _op("GET", LEAD).case("no firmographics", 200, url="/accounts/{a}/leads/{bare}"),
    _with(_op("GET", LEAD), "sparse", 200, "fields[leads]=name,employee_count"),
    _with(_op("GET", f"{A}/visits"), "page 2", 200, "page[size]=2&page[number]=2"),
    _with(
        _op("GET", f"{A}/visits"), "sparse", 200, "fields[visits]=started_at&fields[locations]=city"
    ),
    _op("POST", "/export-requests").case("JSON body", 201, form=None, json=EXPORT_FORM),
    _op("POST", "/export-requests").case(
        "query parameters",
        201,
        form=None,
        url="/export-requests?account_id={a}&custom_feed_id={feed}"
        "&start_date=2026-01-01&end_date=2026-01-31",
    ),
]


def _errors() -> list[Case]:
    out: list[Case] = []
    for op in OPERATIONS:
        # Every operation refuses a control character in any parameter, before anything else.
        out.append(_with(op, "control character", 400, "note=a%00b", parameter="note"))
        if op.public:
            continue
        out.append(op.case("no token", 401, who="none"))
        out.append(op.case("unknown token", 401, who="invalid"))
        out.append(op.case("disabled token", 403, who="disabled"))
        if op.in_account:
            out.append(op.case("not a member", 403, who="stranger"))
        if op.premium:
            out.append(_lite(op))
        out.append(
            _with(op, "unknown fieldset type", 400, "fields[nope]=x", parameter="fields[nope]")
        )
    for template in (f"{A}/leads", f"{FEED}/leads", f"{LEAD}/visits", f"{A}/visits"):
        op = _op("GET", template)
        bare = op.url.split("?")[0]
        out += [
            op.case(
                "no start_date", 400, url=bare + "?end_date=2026-01-31", parameter="start_date"
            ),
            op.case(
                "bad date",
                400,
                url=bare + "?start_date=2026-1-1&end_date=2026-01-31",
                parameter="start_date",
            ),
            op.case(
                "start after end",
                400,
                url=bare + "?start_date=2026-02-01&end_date=2026-01-31",
                parameter="start_date",
            ),
            _with(op, "page size 101", 400, "page[size]=101", parameter="page[size]"),
            _with(op, "page number 0", 400, "page[number]=0", parameter="page[number]"),
        ]
    post = _op("POST", "/export-requests")
    out += [
        _with(
            _op("GET", f"{A}/leads"),
            "unknown lead field",
            400,
            "fields[leads]=nope",
            parameter="fields[leads]",
        ),
        _with(
            _op("GET", A),
            "unknown account field",
            400,
            "fields[accounts]=nope",
            parameter="fields[accounts]",
        ),
        post.case(
            "no account_id",
            400,
            form={k: v for k, v in EXPORT_FORM.items() if k != "account_id"},
            parameter="account_id",
        ),
        post.case(
            "bad end_date", 400, form=EXPORT_FORM | {"end_date": "tomorrow"}, parameter="end_date"
        ),
        post.case("invalid JSON", 400, form=None, json=None, raw="{not json"),
        post.case("body too large", 413, form=None, json=None, raw="{" + " " * 70_000 + "}"),
        post.case("unknown feed", 404, form=EXPORT_FORM | {"custom_feed_id": "nope"}),
        _op("GET", FEED).case("unknown feed", 404, url="/accounts/{a}/custom-feeds/nope"),
        _op("GET", f"{A}/custom-feed/{{feed_id}}").case(
            "unknown feed", 404, url="/accounts/{a}/custom-feed/12345"
        ),
        _op("GET", f"{FEED}/leads").case(
            "unknown feed", 404, url="/accounts/{a}/custom-feeds/nope/leads?{jan}"
        ),
        _op("GET", f"{A}/custom-feed/{{feed_id}}/leads").case(
            "unknown feed", 404, url="/accounts/{a}/custom-feed/nope/leads?{jan}"
        ),
        _with(_op("GET", f"{A}/leads"), "unknown feed by query", 404, "custom_feed_id=nope"),
        _op("GET", LEAD).case("unknown lead", 404, url="/accounts/{a}/leads/nope_nope"),
        _op("GET", f"{LEAD}/visits").case(
            "unknown lead", 404, url="/accounts/{a}/leads/nope_nope/visits?{jan}"
        ),
        _op("GET", "/export-requests/{export_id}").case(
            "unknown export", 404, url="/export-requests/x"
        ),
        _op("GET", "/export-requests/{export_id}").case(
            "someone else's export", 404, who="stranger"
        ),
        _op("GET", "/export-feed/{export_id}").case("unknown export", 404, url="/export-feed/nope"),
        _op("GET", "/download/{file_name}").case(
            "unknown file", 404, url="/download/" + "0" * 32 + ".json"
        ),
        _op("GET", "/download/{file_name}").case("not a file name", 404, url="/download/..%2Fx"),
        _op("GET", "/ip-enrich").case("not an ip", 400, url="/ip-enrich?ip=x", parameter="ip"),
        _op("GET", "/ip-enrich").case("nothing identifies it", 404, url="/ip-enrich?ip=192.0.2.1"),
        _op("POST", "/hooks").case(
            "unknown event", 400, form=HOOK_FORM | {"event": "lead.x"}, parameter="event"
        ),
        _op("POST", "/hooks").case(
            "no target_url",
            400,
            form={k: v for k, v in HOOK_FORM.items() if k != "target_url"},
            parameter="target_url",
        ),
        _op("POST", "/hooks").case(
            "not an http URL",
            400,
            form=HOOK_FORM | {"target_url": "ftp://x"},
            parameter="target_url",
        ),
        _op("POST", "/hooks").case(
            "body too large", 413, form=None, json=None, raw="{" + " " * 70_000 + "}"
        ),
        _op("DELETE", "/hooks/{hook_id}").case("unknown hook", 404, url="/hooks/999999"),
        _op("DELETE", "/hooks/{hook_id}").case("someone else's hook", 404, who="stranger"),
    ]
    return out


ERRORS = _errors()
RATE_LIMITED = [op.case("over the limit", 429) for op in OPERATIONS]


@pytest.fixture
def strict(document: dict[str, Any]) -> dict[str, Any]:
    return every_attribute_required(document)


def test_successful_responses_match_the_document(
    api: TestClient,
    world: World,
    document: dict[str, Any],
    strict: dict[str, Any],
    subtests: pytest.Subtests,
) -> None:
    for case in SUCCESSES:
        with subtests.test(msg=f"{case.method} {case.template}: {case.name}"):
            check(document, case, world, api, complete=strict)


def test_error_responses_match_the_document(
    settings: Settings, world: World, document: dict[str, Any], subtests: pytest.Subtests
) -> None:
    # Every request counts against the limits, errors included, and this test sends more
    # than five bad export requests; the limits themselves are tested in test_ratelimit.py.
    with _limited_client(settings, 10_000, 10_000) as client:
        for case in ERRORS:
            with subtests.test(msg=f"{case.method} {case.template}: {case.status} {case.name}"):
                check(document, case, world, client)


def _limited_client(settings: Settings, per_minute: int, exports_per_minute: int) -> TestClient:
    """The app with small limits and a clock stopped mid-minute, so no window ends mid-test."""
    settings = settings.model_copy(
        update={
            "run_jobs_in_process": False,
            "rate_limit_per_minute": per_minute,
            "export_rate_limit_per_minute": exports_per_minute,
        }
    )
    limiter = RateLimiter(MemoryCounter(), clock=lambda: 1_800_000_030.0)
    return TestClient(build_app(settings, limiter=limiter))


def test_rate_limited_responses_match_the_document(
    settings: Settings, world: World, document: dict[str, Any], subtests: pytest.Subtests
) -> None:
    with _limited_client(settings, 1, 1) as client:
        # Use up the minute: once for the member's token, once for the client's IP.
        assert client.get("/accounts", headers=world.headers("member")).status_code == 200
        assert client.get("/openapi.json").status_code == 200
        for case in RATE_LIMITED:
            with subtests.test(msg=f"{case.method} {case.template}: 429"):
                check(document, case, world, client)
                assert client.request(case.method, case.target(world)).headers["Retry-After"]


def test_the_export_limit_answers_with_the_seeds_429(
    settings: Settings, world: World, document: dict[str, Any]
) -> None:
    case = _op("POST", "/export-requests").case("second export this minute", 429)
    with _limited_client(settings, 100, 1) as client:
        check(document, replace(case, status=201), world, client)
        check(document, case, world, client)
        response = client.post("/export-requests", headers=world.headers("member"))
    assert response.json() == {
        "errors": [
            {
                "title": "Exceeded the Export requests rate limit of 1 requests per minute. "
                "Try again later.",
                "links": {"about": "http://docs.leadfeeder.com/api/#exporting-feeds"},
            }
        ]
    }


def test_cases_cover_every_documented_response(document: dict[str, Any]) -> None:
    exercised = {(c.method, c.template, str(c.status)) for c in SUCCESSES + ERRORS + RATE_LIMITED}
    declared = {
        (method, path, status)
        for path, method, operation in operations(document)
        for status in operation["responses"]
        if operation["tags"] != ["Tracker"]  # test_openapi_tracker.py exercises those
    }
    assert sorted(declared - exercised) == [], "documented but never exercised"
    assert sorted(exercised - declared) == [], "exercised but not documented"


def test_served_document_is_the_built_one(api: TestClient) -> None:
    response = api.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == openapi_document(routes.documented(), "http://testserver")


def test_the_helper_rejects_what_the_document_does_not_allow(document: dict[str, Any]) -> None:
    account = {"id": "1", "type": "accounts", "attributes": {"name": "A"}}
    assert_matches_openapi(document, "GET", "/accounts", 200, {"data": [account]})
    wrong = [
        {"data": [account | {"id": 1}]},  # an integer id
        {"data": [account | {"attributes": {"name": None}}]},  # null where not nullable
        {"data": [account | {"attributes": {"colour": "red"}}]},  # an undocumented attribute
        {"data": [account | {"type": "leads"}]},  # the wrong type
        {"data": [account], "links": {}},  # an undocumented member
    ]
    for body in wrong:
        with pytest.raises(AssertionError, match="does not match the document"):
            assert_matches_openapi(document, "GET", "/accounts", 200, body)
    with pytest.raises(AssertionError, match="does not declare"):
        assert_matches_openapi(document, "GET", "/accounts", 402, {"errors": []})
    with pytest.raises(AssertionError, match="content type text/html not declared"):
        assert_matches_openapi(document, "GET", "/accounts", 200, {}, "text/html")
    error = {"errors": [{"status": "400", "title": "Bad Request", "source": {"parameter": "x"}}]}
    assert_matches_openapi(document, "GET", "/accounts", 400, error)
    with pytest.raises(AssertionError, match="does not match the document"):
        assert_matches_openapi(document, "GET", "/accounts", 401, error)  # status "400" on a 401


def test_the_demo_data_matches_the_document(
    settings: Settings,
    db: Database,
    document: dict[str, Any],
    strict: dict[str, Any],
    subtests: pytest.Subtests,
) -> None:
    """The demo's accounts, feeds, lead lists, leads, visits and an export, as the demo's user
    sees them, carry every documented attribute and nothing undocumented."""
    today = date(2026, 2, 1)
    demo = load_demo(db, settings, today)
    headers = {"Authorization": f"Token token={demo.token}"}
    first = today - timedelta(days=90)
    interval = f"start_date={first}&end_date={today}&page[size]=100"
    with _limited_client(settings, 100_000, 100) as client:

        def valid(template: str, url: str, status: int = 200, **request: Any) -> Any:
            response = client.request("POST" if request else "GET", url, headers=headers, **request)
            method = response.request.method
            with subtests.test(msg=f"{method} {url}"):
                assert response.status_code == status, response.text[:300]
                media = response.headers["content-type"].split(";")[0]
                assert_matches_openapi(strict, method, template, status, response.json(), media)
            return response.json()

        valid("/accounts", "/accounts")
        for account in demo.accounts:
            a = f"/accounts/{account.id}"
            valid(A, a)
            valid(f"{A}/website-tracking-script", f"{a}/website-tracking-script")
            feed_ids = [
                feed["id"] for feed in valid(f"{A}/custom-feeds", f"{a}/custom-feeds")["data"]
            ]
            if not account.premium_features:
                continue
            for feed_id in feed_ids:
                valid(FEED, f"{a}/custom-feeds/{feed_id}")
                valid(f"{FEED}/leads", f"{a}/custom-feeds/{feed_id}/leads?{interval}")
            leads: list[dict[str, Any]] = []
            next_url: str | None = f"{a}/leads?{interval}"
            while next_url:  # every page, following links.next as clients do
                page = valid(f"{A}/leads", next_url)
                leads += page["data"]
                next_url = page["links"].get("next")
            for lead in leads[:: max(1, len(leads) // 20)]:
                valid(LEAD, f"{a}/leads/{lead['id']}")
                valid(f"{LEAD}/visits", f"{a}/leads/{lead['id']}/visits?{interval}")
            for number in (1, 2):
                valid(f"{A}/visits", f"{a}/visits?{interval}&page[number]={number}")
            form = {"account_id": str(account.id), "custom_feed_id": "all_leads"}
            form |= {"start_date": str(first), "end_date": str(today)}
            export = valid("/export-requests", "/export-requests", 201, data=form)["data"]
            exports.run_export(db, settings, exports.make_export_files(settings), export["id"])
            status_url = f"/export-requests/{export['id']}"
            status = valid("/export-requests/{export_id}", status_url)["data"]
            assert status["attributes"]["status"] == "processed"
            download = status["attributes"]["download_url"].removeprefix("http://testserver")
            report = valid("/download/{file_name}", download)
            assert len(report["data"]) == len(leads)
