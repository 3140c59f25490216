"""``GET /ip-enrich`` through the real application: the company, its location and why it
matched, as the OpenAPI document describes; 400 for a bad ip, 401 without a token, 404 when
nothing identifies the address (saying why when a network type excludes it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from openfeeder.api.openapi import openapi_document
from openfeeder.app import routes
from openfeeder.identify.mmdb import AsnEntry, CityEntry, write_asn_mmdb, write_city_mmdb
from openfeeder.store.db import Database
from tests.api.test_openapi import assert_matches_openapi, every_attribute_required
from tests.support.clients import MakeClient, auth
from tests.support.factories import Builder
from tests.support.identify import Zone, add_company, dns_server


@pytest.fixture
def zone() -> Zone:
    return Zone()


@pytest.fixture
def client(make_client: MakeClient, tmp_path: Path, zone: Zone) -> Iterator[TestClient]:
    asn = write_asn_mmdb(
        tmp_path / "asn.mmdb", [AsnEntry("73.0.0.0/8", 7922, "Comcast Cable Communications, LLC")]
    )
    city = write_city_mmdb(
        tmp_path / "city.mmdb",
        [CityEntry("81.17.0.0/16", "FI", "Finland", "Uusimaa", "18", "Helsinki")],
    )
    with dns_server(zone) as server:
        yield make_client(asn_mmdb=asn, city_mmdb=city, reverse_dns=True, dns_servers=[server])


def get(client: TestClient, token: str | None, ip: str | None) -> Any:
    query = {} if ip is None else {"ip": ip}
    return client.get("/ip-enrich", params=query, headers=auth(token) if token else {})


def test_an_identified_address(client: TestClient, db: Database, builder: Builder) -> None:
    token = builder.user().token
    add_company(
        db,
        "Acme Oy",
        domain="acme.fi",
        ranges=("81.17.0.0/24",),
        website_url="https://acme.fi",
        industries=["Software Development"],
        employee_count=120,
        employees_min=51,
        employees_max=200,
    )
    response = get(client, token, "::ffff:81.17.0.7")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.api+json"
    body = response.json()
    strict = every_attribute_required(openapi_document(routes.documented(), "http://testserver"))
    assert_matches_openapi(strict, "GET", "/ip-enrich", 200, body)
    data = body["data"]
    assert (data["type"], data["id"]) == ("ip_enrichments", "81.17.0.7")
    attributes = data["attributes"]
    assert attributes["company_id"] == "c-acme-oy"
    assert (attributes["name"], attributes["domain"]) == ("Acme Oy", "acme.fi")
    assert attributes["industries"] == [{"name": "Software Development"}]
    assert attributes["employees_range"] == {"min": 51, "max": 200}
    assert attributes["match_source"] == "company_range"
    assert attributes["match_reason"] == "81.17.0.7 is in 81.17.0.0/24 (Acme Oy)"
    location_id = data["relationships"]["location"]["data"]["id"]
    (location,) = body["included"]
    assert location["id"] == location_id
    assert location["attributes"]["city"] == "Helsinki"


def test_reverse_dns_answers_through_the_endpoint(
    client: TestClient, db: Database, builder: Builder, zone: Zone
) -> None:
    token = builder.user().token
    add_company(db, "Initech Oy", domain="initech.fi")
    zone.add("81.20.1.5", "gw1.initech.fi")
    attributes = get(client, token, "81.20.1.5").json()["data"]["attributes"]
    assert (attributes["name"], attributes["match_source"]) == ("Initech Oy", "reverse_dns")


@pytest.mark.parametrize(
    ("ip", "status", "detail"),
    [
        (None, 400, "ip must be an IPv4 or IPv6 address, got ''."),
        ("81.17.0.300", 400, "ip must be an IPv4 or IPv6 address, got '81.17.0.300'."),
        (
            "73.1.2.3",
            404,
            "No company for 73.1.2.3: 73.1.2.3 is in AS7922 (Comcast Cable Communications, "
            "LLC), an ISP network (AS7922 is listed as isp).",
        ),
        ("81.99.0.1", 404, "No company identified for 81.99.0.1."),
    ],
)
def test_errors(
    client: TestClient, builder: Builder, ip: str | None, status: int, detail: str
) -> None:
    response = get(client, builder.user().token, ip)
    assert response.status_code == status
    body = response.json()
    assert_matches_openapi(
        openapi_document(routes.documented(), "http://testserver"),
        "GET",
        "/ip-enrich",
        status,
        body,
    )
    (error,) = body["errors"]
    assert error["detail"] == detail
    if status == 400:
        assert error["source"] == {"parameter": "ip"}


def test_a_token_is_required(client: TestClient) -> None:
    assert get(client, None, "81.17.0.7").status_code == 401
    assert get(client, "not-a-token", "81.17.0.7").status_code == 401
