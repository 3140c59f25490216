"""The tracker surface in the OpenAPI document: ``/tr`` (pixel and beacon) and the script are
raw ASGI routes that answer no JSON:API, and every answer they can give — successes, each
refusal, the flood limit, an ingestor that is stopped or absent — is held to the document
(status, content type, headers, body), on both stores."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.testclient import TestClient

from openfeeder.api.openapi import JSONAPI, openapi_document
from openfeeder.app import routes
from openfeeder.domain.models import Account
from openfeeder.ratelimit import MemoryCounter, RateLimiter
from openfeeder.routing import Surface
from tests.api.test_openapi import _response_object, assert_headers_match, assert_matches_openapi
from tests.support.clients import MakeClient
from tests.support.tracking import encode, event

PIXEL = "/tr"
SCRIPT = "/lftracker_v1_{name}"
TOO_LARGE = encode({"x": "y" * 40_000})  # over 32 KiB of JSON: refused before decoding


@dataclass(frozen=True)
class Hit:
    """One tracker request: ``url`` and ``body`` are formatted with ``sid`` (the account's
    script hash) and ``data`` (a new valid event); ``client`` names the app it goes to."""

    name: str
    method: str
    template: str
    url: str
    status: int
    body: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    client: str = "plain"  # "flood" (limit 1, used up), "stopped" ingestor, "none" at all

    def send(self, client: TestClient, sid: str) -> Any:
        def fill(text: str) -> str:
            return text.format(sid=sid, data=encode(event()), big=TOO_LARGE)

        content = fill(self.body) if self.body is not None else None
        return client.request(self.method, fill(self.url), content=content, headers=self.headers)


BEACON = {"Content-Type": "text/plain;charset=UTF-8"}
GZIP = {"Accept-Encoding": "gzip"}
CASES = [
    Hit("pixel", "GET", PIXEL, "/tr?sid={sid}&data={data}", 200),
    Hit("pixel, no sid nor scriptId", "GET", PIXEL, "/tr?data={data}", 404),
    Hit("no data", "GET", PIXEL, "/tr?sid={sid}", 400),
    Hit("not base64", "GET", PIXEL, "/tr?sid={sid}&data=%21%21", 400),
    Hit("NUL in data", "GET", PIXEL, "/tr?sid={sid}&data=%00", 400),
    Hit("unknown script", "GET", PIXEL, "/tr?sid=NoSuchScript1&data={data}", 404),
    Hit("malformed sid", "GET", PIXEL, "/tr?sid=a%00b&data={data}", 404),
    Hit("too large", "GET", PIXEL, "/tr?sid={sid}&data={big}", 413),
    Hit("flooded", "GET", PIXEL, "/tr?sid={sid}&data={data}", 429, client="flood"),
    Hit("stopped", "GET", PIXEL, "/tr?sid={sid}&data={data}", 503, client="stopped"),
    Hit("no ingest", "GET", PIXEL, "/tr?sid={sid}&data={data}", 503, client="none"),
    Hit("beacon", "POST", PIXEL, "/tr?sid={sid}", 204, "{data}", BEACON),
    Hit("beacon, data in the query", "POST", PIXEL, "/tr?sid={sid}&data={data}", 204),
    Hit("beacon, not JSON", "POST", PIXEL, "/tr?sid={sid}", 400, "bm90IGpzb24", BEACON),
    Hit("beacon, unknown script", "POST", PIXEL, "/tr?sid=NoSuchScript1", 404, "{data}", BEACON),
    Hit("beacon, too large", "POST", PIXEL, "/tr?sid={sid}", 413, "{big}", BEACON),
    Hit("beacon, flooded", "POST", PIXEL, "/tr?sid={sid}", 429, "{data}", BEACON, "flood"),
    Hit("beacon, stopped", "POST", PIXEL, "/tr?sid={sid}", 503, "{data}", BEACON, "stopped"),
    Hit("script", "GET", SCRIPT, "/lftracker_v1_{sid}.js", 200),
    Hit("script, variant", "GET", SCRIPT, "/lftracker_v1_{sid}_ex1.js", 200),
    Hit("script, gzip", "GET", SCRIPT, "/lftracker_v1_{sid}.js", 200, None, GZIP),
    Hit("script, unknown", "GET", SCRIPT, "/lftracker_v1_NoSuchHash1234.js", 404),
    Hit("script, no .js", "GET", SCRIPT, "/lftracker_v1_{sid}", 404),
    Hit("script, a slash", "GET", SCRIPT, "/lftracker_v1_a%2Fb.js", 404),
    Hit("script, no ingest", "GET", SCRIPT, "/lftracker_v1_{sid}.js", 503, client="none"),
]  # fmt: skip


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document(routes.documented(), "http://testserver")


@pytest.fixture
def clients(make_client: MakeClient) -> Callable[[str], TestClient]:
    made: dict[str, TestClient] = {}

    def client(kind: str) -> TestClient:
        if kind not in made:
            limit = 1 if kind == "flood" else 1_000_000
            # A clock stopped mid-minute: the one hit of the flood client's minute stays spent.
            limiter = RateLimiter(MemoryCounter(), clock=lambda: 1_800_000_030.0)
            made[kind] = make_client(
                limiter=limiter, pipeline_in_process=False, tracker_flood_per_minute=limit
            )
            services = made[kind].app.state.services  # type: ignore[attr-defined]
            if kind == "stopped":
                services.ingest.stop()
            elif kind == "none":
                services.ingest.stop()
                services.ingest = None
        return made[kind]

    return client


def check(document: Mapping[str, Any], hit: Hit, response: Any) -> None:
    assert response.status_code == hit.status, f"{hit.name}: {response.text[:300]}"
    declared, _ = _response_object(document, hit.method, hit.template, hit.status)
    media = response.headers.get("content-type", "").split(";")[0].strip()
    content = declared.get("content")
    if content is None:
        assert response.content == b"", f"{hit.name}: a body where the document has none"
    else:
        assert media in content, f"{hit.name}: {media} is not one of {', '.join(content)}"
        if media in ("application/json", JSONAPI):
            body = response.json()
            assert_matches_openapi(document, hit.method, hit.template, hit.status, body, media)
        else:
            assert response.content, f"{hit.name}: an empty {media}"
    assert_headers_match(document, hit.method, hit.template, hit.status, response.headers)


def test_tracker_answers_match_the_document(
    clients: Callable[[str], TestClient],
    account: Account,
    document: dict[str, Any],
    subtests: pytest.Subtests,
) -> None:
    # The flood client's one hit this minute is spent before its cases.
    spent = Hit("first", "GET", PIXEL, "/tr?sid={sid}&data={data}", 200, client="flood")
    check(document, spent, spent.send(clients("flood"), account.script_hash))
    for hit in CASES:
        with subtests.test(msg=f"{hit.method} {hit.template}: {hit.status} {hit.name}"):
            check(document, hit, hit.send(clients(hit.client), account.script_hash))


def test_a_script_not_modified_since_matches_the_document(
    clients: Callable[[str], TestClient], account: Account, document: dict[str, Any]
) -> None:
    first = Hit("script", "GET", SCRIPT, "/lftracker_v1_{sid}.js", 200)
    etag = first.send(clients("plain"), account.script_hash).headers["etag"]
    again = Hit("not modified", "GET", SCRIPT, first.url, 304, headers={"If-None-Match": etag})
    check(document, again, again.send(clients("plain"), account.script_hash))


def test_the_beacon_body_and_data_are_described_as_the_server_reads_them(
    document: dict[str, Any],
) -> None:
    beacon = document["paths"]["/tr"]["post"]
    body = beacon["requestBody"]["content"]["text/plain"]["schema"]
    (data,) = [p for p in beacon["parameters"] if p["name"] == "data"]
    pixel_data = next(
        p for p in document["paths"]["/tr"]["get"]["parameters"] if p["name"] == "data"
    )
    assert pixel_data["required"] is True
    assert "required" not in data  # the body may carry it instead
    assert body["maxLength"] == data["schema"]["maxLength"] == 43_708  # base64 of 32 KiB
    standard = base64.b64encode(b'{"a":1}').decode()
    assert standard.endswith("=")
    for schema in (body, data["schema"]):
        assert re.search(schema["pattern"], standard)
        assert re.search(schema["pattern"], base64.urlsafe_b64encode(b"\xfb\xff").decode())
        assert not re.search(schema["pattern"], "a\x00b")


def test_every_tracker_response_in_the_document_is_exercised(document: dict[str, Any]) -> None:
    tracker = {(e.method, e.path) for e in routes.on(Surface.TRACKER) if e.doc is not None}
    declared = {
        (method.upper(), path, status)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if (method.upper(), path) in tracker
        for status in operation["responses"]
    }
    exercised = {(hit.method, hit.template, str(hit.status)) for hit in CASES}
    exercised.add(("GET", SCRIPT, "304"))
    assert sorted(declared - exercised) == [], "documented but never exercised"
    assert sorted(exercised - declared) == [], "exercised but not documented"
