"""Resource objects of a lead, its location and a visit, rendered through their models as
the API serves them: the API (``api/resources.py``) and the alerts' webhook bodies, which
carry the same shapes, both render here."""

from __future__ import annotations

from typing import Any

from openfeeder.domain.models import Lead, Location, Visit
from openfeeder.domain.representation import LeadAttributes, LocationAttributes, VisitAttributes


def location_resource(item: Location, wanted: frozenset[str] | None = None) -> dict[str, Any]:
    return LocationAttributes.of(item).resource(item.id, wanted)


def lead_resource(item: Lead, app_url: str, wanted: frozenset[str] | None = None) -> dict[str, Any]:
    return LeadAttributes.of(item, app_url).resource(
        item.id, wanted, {"location": item.location.id}
    )


def visit_resource(item: Visit, wanted: frozenset[str] | None = None) -> dict[str, Any]:
    return VisitAttributes.of(item).resource(item.id, wanted, {"location": item.location.id})


def lead_document(item: Lead, app_url: str) -> dict[str, Any]:
    """``GET /accounts/{id}/leads/{lead_id}``'s document: the lead with its location."""
    return {"data": lead_resource(item, app_url), "included": [location_resource(item.location)]}


def visit_document(item: Visit) -> dict[str, Any]:
    """A visit as the visit lists serve it, with its location."""
    return {"data": visit_resource(item), "included": [location_resource(item.location)]}
