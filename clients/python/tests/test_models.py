"""The models against Leadfeeder's own documents: every example response in the seed parses,
with every attribute it shows known to the client; the seed's quirks are typed as the API
reference decides; and attributes the client does not know are kept, not dropped."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from tests.support.seed import seed_examples

from openfeeder_client import (
    Account,
    CustomFeed,
    EmployeesRange,
    ExportRequest,
    ExportRow,
    Lead,
    RouteStep,
    TrackingScript,
    Visit,
)
from openfeeder_client.models import Criterion, Included

MODELS: dict[str, Any] = {
    "accounts": Account,
    "custom_feeds": CustomFeed,
    "leads": Lead,
    "visits": Visit,
    "export_requests": ExportRequest,
    "website-tracking-scripts": TrackingScript,
    "timeline_rows": ExportRow,
}


def _documents() -> list[dict[str, Any]]:
    return [body for _, _, body in seed_examples() if "data" in body]


def test_every_seed_response_parses_with_nothing_left_unknown() -> None:
    parsed: dict[str, int] = {}
    for document in _documents():
        included = Included(document.get("included", []))
        data = document["data"] if isinstance(document["data"], list) else [document["data"]]
        for resource in data:
            model = MODELS[resource["type"]].from_resource(resource, included)
            assert model.id == resource["id"]
            assert model.extra == {}, (resource["type"], model.extra)
            parsed[resource["type"]] = parsed.get(resource["type"], 0) + 1
    assert set(parsed) == set(MODELS)


def _seed(kind: str, **having: Any) -> tuple[dict[str, Any], Included]:
    """The seed's first resource of ``kind`` with these attribute values, and the included
    resources of its document."""
    for document in _documents():
        data = document["data"] if isinstance(document["data"], list) else [document["data"]]
        for resource in data:
            attributes = resource["attributes"]
            if resource["type"] == kind and all(
                name in attributes and attributes[name] == value for name, value in having.items()
            ):
                return resource, Included(document.get("included", []))
    raise AssertionError(f"no {kind} with {having} in the seed")


def test_a_seed_lead_is_typed_with_its_location() -> None:
    resource, included = _seed("leads", crm_organization_id="")
    lead = Lead.from_resource(resource, included)
    assert lead.name == "Leadfeeder Inc."
    assert lead.first_visit_date == date(2015, 9, 18)
    assert lead.employees_range == EmployeesRange(min=1, max=22)
    assert lead.industries == ["Technology, Information and Internet", "Software Development"]
    assert lead.crm_organization_id is None  # the seed's "" (its table says Integer)
    assert lead.tags == ["tag1", "tag2"]
    assert lead.location is not None
    assert (lead.location.city, lead.location.region_code) == ("Helsinki", None)


def test_a_seed_visit_is_typed_with_its_route() -> None:
    visits = [
        Visit.from_resource(resource, Included(document.get("included", [])))
        for document in _documents()
        if isinstance(document["data"], list)
        for resource in document["data"]
        if resource["type"] == "visits"
    ]
    first, second = visits[:2]
    assert first.lf_client_id == "1"  # a number in the seed's example, a String in its table
    assert first.started_at == datetime(2018, 4, 13, 6, 23, tzinfo=UTC)
    assert first.adobe_cookies is None
    assert second.adobe_cookies == [{"MCMID": "681245", "MCAAMB": "RKh123Vc5", "MCAAMLH": "6"}]
    assert len(second.visit_route) == second.page_depth == 4
    assert second.visit_route[1] == RouteStep(
        hostname="www.leadfeeder.com",
        page_path="/?campaignid=2",
        previous_page_path="/?campaignid=1",
        time_on_page=40,
        page_title="Website Visitor Tracking Software - Leadfeeder",
        page_url="http://www.leadfeeder.com/?campaignid=2",
        display_page_name="/?campaignid=2",
    )
    assert second.location is not None
    assert second.location.country == "Finland"


def test_a_seed_export_row_has_its_lead_and_stats() -> None:
    row, included = _seed("timeline_rows", quality=2)
    parsed = ExportRow.from_resource(row, included)
    assert parsed.lead.name == "Leadfeeder Inc."
    assert parsed.lead.location is not None
    assert parsed.lead.location.city == "Helsinki"
    assert (parsed.stats.visits, parsed.stats.bounces) == (4, 3)
    assert parsed.stats.last_visit == date(2015, 7, 14)


def test_unknown_attributes_are_kept() -> None:
    lead = Lead.from_resource(
        {
            "id": "c_l",
            "type": "leads",
            "attributes": {"name": "Acme", "intent_score": 87, "signals": ["pricing"]},
        }
    )
    assert lead.name == "Acme"
    assert lead.extra == {"intent_score": 87, "signals": ["pricing"]}
    feed = CustomFeed.from_resource(
        {
            "id": "7",
            "type": "custom_feeds",
            "attributes": {
                "name": "Blog",
                "criteria": [{"criterion_type": "page_url", "search_value": "/blog/", "w": 2}],
            },
        }
    )
    assert feed.criteria == [
        Criterion(criterion_type="page_url", search_value="/blog/", extra={"w": 2})
    ]
    visit = Visit.from_resource(
        {
            "id": "v",
            "type": "visits",
            "attributes": {"visit_route": [{"page_path": "/", "scroll_depth": 0.5}]},
        }
    )
    assert visit.visit_route[0].extra == {"scroll_depth": 0.5}
