"""Handler for ``GET /ip-enrich`` (an openfeeder extension): the company, location and match
the resolver chain finds for one IP, as an ``ip_enrichments`` resource."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from openfeeder.api import resources
from openfeeder.api.context import Context
from openfeeder.api.jsonapi import ALL_FIELDS, Fieldsets, JSONAPIResponse
from openfeeder.domain.representation import IpEnrichmentAttributes, industry_name
from openfeeder.services.enrich import IpEnrichment, enrich_ip


def ip_enrichment(found: IpEnrichment, fields: Fieldsets = ALL_FIELDS) -> dict[str, Any]:
    company, identification = found.company, found.identification
    # An identified address always has a source and a reason (services.enrich raises otherwise).
    assert identification.match_source is not None
    assert identification.match_reason is not None
    attributes = IpEnrichmentAttributes(
        ip=found.ip,
        company_id=company.id,
        name=company.name,
        domain=company.domain,
        website_url=company.website_url,
        industry=industry_name(company.industry),
        industries=[{"name": name} for name in company.industries],
        employee_count=company.employee_count,
        employees_range={"min": company.employees_min, "max": company.employees_max},
        revenue=company.revenue,
        phone=company.phone,
        linkedin_url=company.linkedin_url,
        twitter_handle=company.twitter_handle,
        facebook_url=company.facebook_url,
        logo_url=company.logo_url,
        business_id=company.business_id,
        dealfront_id=company.dealfront_id,
        match_source=identification.match_source,
        match_reason=identification.match_reason,
    )
    wanted = fields.of(attributes.TYPE)
    return attributes.resource(found.ip, wanted, {"location": identification.location.id})


def ip_enrich(ctx: Context) -> Response:
    found = enrich_ip(ctx.db, ctx.services.identifier(), ctx.params.get("ip"))
    location = found.identification.location
    return JSONAPIResponse(
        {
            "data": ip_enrichment(found, ctx.fields),
            "included": resources.included_locations([location], ctx.fields),
        }
    )
