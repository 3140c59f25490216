"""Attributes of each resource type exactly as the seed shows them, shared by the API, the
export files and the OpenAPI document. No I/O: records in, plain JSON-ready dicts out."""

from __future__ import annotations

from typing import Any

from openfeeder.domain.models import Lead, Location, Visit

LOCATION_FIELDS = ("country", "country_code", "region", "region_code", "city", "state_code")
LEAD_FIELDS = (
    "name",
    "industry",
    "industries",
    "first_visit_date",
    "status",
    "dealfront_id",
    "last_visit_date",
    "website_url",
    "phone",
    "linkedin_url",
    "twitter_handle",
    "facebook_url",
    "employee_count",
    "employees_range",
    "crm_lead_id",
    "crm_organization_id",
    "tags",
    "logo_url",
    "assignee",
    "business_id",
    "revenue",
    "emailed_to",
    "view_in_leadfeeder",
    "quality",
    "visits",
)
VISIT_FIELDS = (
    "source",
    "medium",
    "referring_url",
    "page_depth",
    "visit_route",
    "keyword",
    "query_term",
    "visit_length",
    "started_at",
    "campaign",
    "date",
    "hour",
    "lf_client_id",
    "ga_client_ids",
    "adobe_cookies",
    "country_code",
    "device_type",
    "lead_id",
    "match_source",
    "match_reason",
)
# The export file's lead objects carry this subset (the seed's sample report).
EXPORT_LEAD_FIELDS = (
    "first_visit_date",
    "industry",
    "last_visit_date",
    "name",
    "status",
    "website_url",
    "linkedin_url",
    "twitter_handle",
    "facebook_url",
)


def location_attributes(location: Location) -> dict[str, Any]:
    return {name: getattr(location, name) for name in LOCATION_FIELDS}


def iso_date(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def lead_attributes(lead: Lead, app_url: str) -> dict[str, Any]:
    """All lead attributes; ``quality`` only where an interval applies (lists, exports)."""
    company = lead.company
    attributes: dict[str, Any] = {
        "name": company.name,
        "industry": company.industry or "N/A",
        "industries": [{"name": name} for name in company.industries],
        "first_visit_date": iso_date(lead.first_visit_date),
        "status": lead.status,
        "dealfront_id": company.dealfront_id,
        "last_visit_date": iso_date(lead.last_visit_date),
        "website_url": company.website_url,
        "phone": company.phone,
        "linkedin_url": company.linkedin_url,
        "twitter_handle": company.twitter_handle,
        "facebook_url": company.facebook_url,
        "employee_count": company.employee_count,
        "employees_range": {"min": company.employees_min, "max": company.employees_max},
        "crm_lead_id": lead.crm_lead_id,
        "crm_organization_id": lead.crm_organization_id,
        "tags": list(lead.tags),
        "logo_url": company.logo_url,
        "assignee": lead.assignee,
        "business_id": company.business_id,
        "revenue": company.revenue,
        "emailed_to": lead.emailed_to,
        "view_in_leadfeeder": f"{app_url.rstrip('/')}/app/{lead.account_id}/leads/{lead.id}",
        "visits": lead.visits,
    }
    if lead.quality is not None:
        attributes["quality"] = lead.quality
    return attributes


def visit_attributes(visit: Visit) -> dict[str, Any]:
    started = visit.started_at.replace(second=0, microsecond=0)
    attributes: dict[str, Any] = {
        "source": visit.source,
        "medium": visit.medium,
        "referring_url": visit.referring_url,
        "page_depth": visit.page_depth,
        "visit_route": visit.visit_route,
        "keyword": visit.keyword,
        "query_term": visit.query_term,
        "visit_length": visit.visit_length,
        "started_at": started.strftime("%Y-%m-%dT%H:%M:00.000Z"),
        "campaign": visit.campaign,
        "date": visit.date.isoformat(),
        "hour": visit.hour,
        "lf_client_id": visit.lf_client_id,
        "ga_client_ids": visit.ga_client_ids,
        "country_code": visit.country_code,
        "device_type": visit.device_type,
        "lead_id": visit.lead_id,
        "match_source": visit.match_source,
        "match_reason": visit.match_reason,
    }
    if visit.adobe_cookies:
        attributes["adobe_cookies"] = visit.adobe_cookies
    return attributes
