"""The resource models: every attribute rendered from a complete record has a schema in the
OpenAPI document, every schema'd attribute is rendered, each says what it means, and sparse
fieldsets and unset attributes leave out what they should."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from typing import Any

import orjson
import pytest

from openfeeder.api import resources
from openfeeder.api.enrich import ip_enrichment
from openfeeder.api.jsonapi import ALL_FIELDS, JSONAPIResponse
from openfeeder.api.openapi import MODELS, openapi_document
from openfeeder.app import routes
from openfeeder.domain.alerts import HookAttributes
from openfeeder.domain.feeds import Feed, parse_criteria
from openfeeder.domain.models import Account, Company, ExportRequest, Lead, Location, Visit
from openfeeder.domain.representation import EXPORT_LEAD_FIELDS, LeadAttributes, VisitAttributes
from openfeeder.domain.resource import field_names
from openfeeder.identify.outcome import Identification
from openfeeder.services.accounts import AccountView
from openfeeder.services.enrich import IpEnrichment
from openfeeder.services.exports import report
from openfeeder.store.export_rows import ExportRow

HELSINKI = Location("FI-helsinki", "Finland", "FI", "Uusimaa", None, "Helsinki", None)
ACME = Company(
    id="acme",
    name="Acme Oy",
    domain="acme.example",
    website_url="https://acme.example",
    industry="Software",
    industries=["Software Development"],
    dealfront_id="df1",
    phone="+358504303422",
    linkedin_url="https://www.linkedin.com/company/acme",
    twitter_handle="acme",
    facebook_url="https://www.facebook.com/acme",
    logo_url="https://logos.example.com/acme.png",
    employee_count=40,
    employees_min=11,
    employees_max=50,
    revenue="EUR 395752792.0",
    business_id="KVK 1",
)


def lead(quality: int | None) -> Lead:
    return Lead(
        pk=1,
        id="acme_FI-helsinki",
        account_id=7,
        company=ACME,
        location=HELSINKI,
        assignee="user@example.com",
        emailed_to="user@example.com",
        crm_lead_id=110,
        crm_organization_id=7,
        tags=["tag1"],
        first_visit_date=date(2026, 1, 1),
        last_visit_date=date(2026, 1, 30),
        visits=3,
        quality=quality,
    )


def export_row(lead: Lead) -> ExportRow:
    """The lead as the export's query reads it (dates as PostgreSQL's driver gives them)."""
    company = lead.company
    return ExportRow(
        id=lead.id,
        quality=lead.quality or 0,
        bounces=1,
        last_day=lead.last_visit_date or date(2026, 1, 30),
        pageviews=4,
        visits=lead.visits,
        keywords=["crm"],
        first_visit_date=lead.first_visit_date,
        last_visit_date=lead.last_visit_date,
        industry=company.industry,
        name=company.name,
        assignee=lead.assignee,
        emailed_to=lead.emailed_to,
        crm_lead_id=lead.crm_lead_id,
        website_url=company.website_url,
        linkedin_url=company.linkedin_url,
        twitter_handle=company.twitter_handle,
        facebook_url=company.facebook_url,
        location_id=lead.location.id,
    )


def visit(adobe_cookies: list[dict[str, str]] | None) -> Visit:
    step = {
        "hostname": "acme.example",
        "page_path": "/",
        "previous_page_path": "(entrance)",
        "time_on_page": 12,
        "page_title": "Home",
        "page_url": "https://acme.example/",
        "display_page_name": "/",
    }
    return Visit(
        id="v1",
        lead_id="acme_FI-helsinki",
        location=HELSINKI,
        started_at=datetime(2026, 1, 2, 8, 30, 15, tzinfo=UTC),
        date=date(2026, 1, 2),
        hour=10,
        source="Google",
        medium="cpc",
        campaign="Spring",
        keyword="leads",
        query_term=None,
        referring_url="https://www.google.com/",
        page_depth=1,
        visit_length=12,
        visit_route=[step],
        lf_client_id="LF1.1.abc",
        ga_client_ids=["123.123"],
        adobe_cookies=adobe_cookies,
        country_code="FI",
        device_type="desktop",
        match_source="asn",
        match_reason="AS64500 belongs to Acme",
    )


def complete_resources() -> dict[str, dict[str, Any]]:
    """One resource object of every type, rendered from a record with everything set, by the
    schema its attributes must match."""
    account = Account(7, "Acme", "premium", False, ["api"], "Europe/Helsinki", "abc123")
    export = ExportRequest(
        "e1", 7, 1, "all_leads", date(2026, 1, 1), date(2026, 1, 31), "processed", 1, None,
        "f.json", datetime(2026, 2, 1, tzinfo=UTC), None,
    )  # fmt: skip
    criteria = [{"criterion_type": "country_code", "search_value": "FI", "excluded": False}]
    found = IpEnrichment(
        "203.0.113.7",
        ACME,
        Identification(
            company_id=ACME.id,
            match_source="company_range",
            match_reason="203.0.113.7 is in 203.0.113.0/24 (Acme Oy)",
            drop_reason=None,
            location=HELSINKI,
        ),
    )
    return {
        "AccountAttributes": resources.account(AccountView(account, "ok")),
        "CustomFeedAttributes": resources.feed(Feed("f1", "Finland", parse_criteria(criteria))),
        "ListedLeadAttributes": resources.lead(lead(quality=7), "http://testserver"),
        "LeadAttributes": resources.lead(lead(quality=None), "http://testserver"),
        "LocationAttributes": resources.location(HELSINKI),
        "VisitAttributes": resources.visit(visit([{"MCMID": "1", "MCAAMB": "2", "MCAAMLH": "6"}])),
        "ExportRequestAttributes": resources.export_request(export, "http://testserver"),
        "WebsiteTrackingScriptAttributes": resources.tracking_script(
            7, "abc123", "Europe/Helsinki", "http://testserver", ALL_FIELDS
        ),
        "IpEnrichmentAttributes": ip_enrichment(found),
        "ExportLeadAttributes": report.lead_object(export_row(lead(quality=7))),
        # As POST /hooks answers it: the only answer with the secret.
        "HookAttributes": HookAttributes(
            account_id="7",
            event="lead.new_company",
            target_url="https://hooks.example.com/openfeeder",
            feed_id="all_leads",
            created_at="2026-02-01T00:00:00Z",
            secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ).resource("3"),
    }


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    components: dict[str, Any] = openapi_document(routes.documented())["components"]
    return components["schemas"]


def test_every_model_is_rendered_here() -> None:
    # A new resource model must get a complete example above, or this test says so.
    rendered = {name.removeprefix("Listed") for name in complete_resources()}
    assert {model.__name__ for model in MODELS} <= rendered


def encoded(resource: dict[str, Any]) -> dict[str, Any]:
    """A resource object as the API sends it (the models become objects only when encoded)."""
    body: dict[str, Any] = orjson.loads(JSONAPIResponse(resource).body)
    return body


@pytest.mark.parametrize("schema_name", sorted(complete_resources()))
def test_rendered_attributes_are_the_documented_ones(
    schema_name: str, schemas: dict[str, Any]
) -> None:
    attributes = encoded(complete_resources()[schema_name])["attributes"]
    documented = schemas[schema_name]["properties"]
    assert list(attributes) == list(documented), "rendered and documented attributes differ"


@pytest.mark.parametrize("schema_name", sorted(complete_resources()))
def test_every_attribute_says_what_it_means(schema_name: str, schemas: dict[str, Any]) -> None:
    properties = schemas[schema_name]["properties"]
    # A reference's description is on the schema it points at.
    undescribed = [n for n, s in properties.items() if "description" not in s and "$ref" not in s]
    assert not undescribed


def test_a_sparse_fieldset_keeps_the_model_order_and_the_relationships() -> None:
    wanted = frozenset({"quality", "name", "view_in_leadfeeder"})
    resource = LeadAttributes.of(lead(quality=7), "http://x").resource(
        "acme_FI-helsinki", wanted, {"location": "FI-helsinki"}
    )
    assert list(resource["attributes"]) == ["name", "view_in_leadfeeder", "quality"]
    assert resource["relationships"] == {
        "location": {"data": {"id": "FI-helsinki", "type": "locations"}}
    }


def test_unset_attributes_are_left_out_not_null() -> None:
    single = encoded(resources.lead(lead(quality=None), "http://x"))["attributes"]
    assert "quality" not in single
    bare = encoded(resources.visit(visit(None)))["attributes"]
    assert list(bare) == [n for n in field_names(VisitAttributes) if n != "adobe_cookies"]


def test_export_lead_objects_carry_the_subset_in_the_seed_order() -> None:
    rendered = report.lead_object(export_row(lead(quality=7)))
    assert list(rendered) == ["attributes", "id", "relationships", "type"]
    assert tuple(rendered["attributes"]) == EXPORT_LEAD_FIELDS


@pytest.mark.parametrize(
    "handled",
    [{}, {"assignee": "a@example.com"}, {"emailed_to": "b@example.com"}, {"crm_lead_id": 0}],
)
@pytest.mark.parametrize("industry", [None, "Software"])
def test_export_lead_objects_carry_the_values_the_lead_model_gives(
    handled: dict[str, Any], industry: str | None
) -> None:
    unhandled = {"assignee": None, "emailed_to": None, "crm_lead_id": None}
    record = dataclasses.replace(
        lead(quality=7), company=dataclasses.replace(ACME, industry=industry), **unhandled
    )
    record = dataclasses.replace(record, **handled)
    model = encoded(resources.lead(record, "http://x"))
    exported = orjson.loads(orjson.dumps(report.lead_object(export_row(record))))
    assert exported["attributes"] == {
        name: model["attributes"][name] for name in EXPORT_LEAD_FIELDS
    }
    assert exported["attributes"]["status"] == ("handled" if handled else "new")
    assert (exported["id"], exported["relationships"]) == (model["id"], model["relationships"])
