"""Resource objects per type, and the attribute names sparse fieldsets may ask for."""

from __future__ import annotations

from typing import Any

from openfeeder.api.jsonapi import ALL_FIELDS, Fieldsets, resource
from openfeeder.domain.feeds import Feed
from openfeeder.domain.models import ExportRequest, Lead, Location, Visit
from openfeeder.domain.representation import (
    LEAD_FIELDS,
    LOCATION_FIELDS,
    VISIT_FIELDS,
    lead_attributes,
    location_attributes,
    visit_attributes,
)
from openfeeder.services.accounts import AccountView, script_html

ACCOUNT_FIELDS = (
    "name",
    "subscription",
    "timezone",
    "website_tracking_status",
    "on_trial",
    "subscription_addons",
)
FEED_FIELDS = ("name", "criteria")
EXPORT_FIELDS = ("status", "created_at", "status_url", "download_url")
SCRIPT_FIELDS = ("script_hash", "script_html", "timezone")

TYPES: dict[str, tuple[str, ...]] = {
    "accounts": ACCOUNT_FIELDS,
    "custom_feeds": FEED_FIELDS,
    "leads": LEAD_FIELDS,
    "locations": LOCATION_FIELDS,
    "visits": VISIT_FIELDS,
    "export_requests": EXPORT_FIELDS,
    "website-tracking-scripts": SCRIPT_FIELDS,
}


def account(view: AccountView, fields: Fieldsets = ALL_FIELDS) -> dict[str, Any]:
    a = view.account
    attributes = {
        "name": a.name,
        "subscription": a.subscription,
        "timezone": a.timezone,
        "website_tracking_status": view.tracking_status,
        "on_trial": a.on_trial,
        "subscription_addons": a.subscription_addons,
    }
    return resource("accounts", str(a.id), attributes, fields)


def feed(item: Feed, fields: Fieldsets = ALL_FIELDS) -> dict[str, Any]:
    attributes = {"name": item.name, "criteria": [c.as_json() for c in item.criteria]}
    return resource("custom_feeds", item.id, attributes, fields)


def location(item: Location, fields: Fieldsets = ALL_FIELDS) -> dict[str, Any]:
    return resource("locations", item.id, location_attributes(item), fields)


def lead(item: Lead, app_url: str, fields: Fieldsets = ALL_FIELDS) -> dict[str, Any]:
    return resource(
        "leads",
        item.id,
        lead_attributes(item, app_url),
        fields,
        {"location": ("locations", item.location.id)},
    )


def visit(item: Visit, fields: Fieldsets = ALL_FIELDS) -> dict[str, Any]:
    return resource(
        "visits",
        item.id,
        visit_attributes(item),
        fields,
        {"location": ("locations", item.location.id)},
    )


def included_locations(locations: list[Location], fields: Fieldsets) -> list[dict[str, Any]]:
    unique = {loc.id: loc for loc in locations}
    return [location(loc, fields) for loc in unique.values()]


def export_request(
    item: ExportRequest, base_url: str, fields: Fieldsets = ALL_FIELDS
) -> dict[str, Any]:
    download = f"{base_url}/download/{item.file_name}" if item.status == "processed" else None
    attributes = {
        "status": item.status,
        "created_at": item.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "status_url": f"{base_url}/export-feed/{item.id}",
        "download_url": download,
    }
    return resource("export_requests", item.id, attributes, fields)


def tracking_script(
    account_id: int, script_hash: str, timezone: str, base_url: str, fields: Fieldsets
) -> dict[str, Any]:
    attributes = {
        "script_hash": script_hash,
        "script_html": script_html(base_url, script_hash),
        "timezone": timezone,
    }
    return resource("website-tracking-scripts", str(account_id), attributes, fields)
