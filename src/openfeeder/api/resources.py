"""Resource objects per type, built from records through their models, and the attribute
names sparse fieldsets may ask for (taken from the models)."""

from __future__ import annotations

from typing import Any

from openfeeder.api.jsonapi import ALL_FIELDS, Fieldsets
from openfeeder.domain.feeds import Feed
from openfeeder.domain.models import ExportRequest, Lead, Location, Visit
from openfeeder.domain.representation import (
    SPARSE_FIELDSET_MODELS,
    AccountAttributes,
    CustomFeedAttributes,
    ExportRequestAttributes,
    LeadAttributes,
    LocationAttributes,
    VisitAttributes,
    WebsiteTrackingScriptAttributes,
)
from openfeeder.domain.resource import Resource, field_names
from openfeeder.services import documents
from openfeeder.services.accounts import AccountView, script_html

TYPES: dict[str, tuple[str, ...]] = {
    model.TYPE: field_names(model) for model in SPARSE_FIELDSET_MODELS
}


def _render(
    attributes: Resource, id_: str, fields: Fieldsets, related: dict[str, str] | None = None
) -> dict[str, Any]:
    return attributes.resource(id_, fields.of(attributes.TYPE), related)


def account(view: AccountView, fields: Fieldsets = ALL_FIELDS) -> dict[str, Any]:
    a = view.account
    attributes = AccountAttributes(
        name=a.name,
        subscription=a.subscription,
        timezone=a.timezone,
        website_tracking_status=view.tracking_status,
        on_trial=a.on_trial,
        subscription_addons=a.subscription_addons,
    )
    return _render(attributes, str(a.id), fields)


def feed(item: Feed, fields: Fieldsets = ALL_FIELDS) -> dict[str, Any]:
    attributes = CustomFeedAttributes.of(item.name, item.criteria)
    return _render(attributes, item.id, fields)


def location(item: Location, fields: Fieldsets = ALL_FIELDS) -> dict[str, Any]:
    return documents.location_resource(item, fields.of(LocationAttributes.TYPE))


def lead(item: Lead, app_url: str, fields: Fieldsets = ALL_FIELDS) -> dict[str, Any]:
    return documents.lead_resource(item, app_url, fields.of(LeadAttributes.TYPE))


def visit(item: Visit, fields: Fieldsets = ALL_FIELDS) -> dict[str, Any]:
    return documents.visit_resource(item, fields.of(VisitAttributes.TYPE))


def included_locations(locations: list[Location], fields: Fieldsets) -> list[dict[str, Any]]:
    unique = {loc.id: loc for loc in locations}
    return [location(loc, fields) for loc in unique.values()]


def export_request(
    item: ExportRequest, base_url: str, fields: Fieldsets = ALL_FIELDS
) -> dict[str, Any]:
    download = f"{base_url}/download/{item.file_name}" if item.status == "processed" else None
    attributes = ExportRequestAttributes(
        status=item.status,
        created_at=item.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        status_url=f"{base_url}/export-feed/{item.id}",
        download_url=download,
    )
    return _render(attributes, item.id, fields)


def tracking_script(
    account_id: int, script_hash: str, timezone: str, base_url: str, fields: Fieldsets
) -> dict[str, Any]:
    attributes = WebsiteTrackingScriptAttributes(
        script_hash=script_hash,
        script_html=script_html(base_url, script_hash),
        timezone=timezone,
    )
    return _render(attributes, str(account_id), fields)
