"""Handlers for lead lists, single leads and visit lists."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from openfeeder.api import params, resources
from openfeeder.api.context import Context
from openfeeder.api.jsonapi import JSONAPIResponse, page_links
from openfeeder.domain.models import Page
from openfeeder.services import feeds, leads, visits

# Query parameters repeated in pagination links; anything else (e.g. a typo) is dropped.
_CARRIED = ("start_date", "end_date", "custom_feed_id")


def _paged(ctx: Context, page: Page, number: int, size: int, data: list[dict[str, Any]]) -> Any:
    carried = {k: v for k, v in ctx.params.items() if k in _CARRIED or k.startswith("fields[")}
    url = ctx.url(ctx.path_as_sent)
    locations = [item.location for item in page.items]
    return {
        "data": data,
        "included": resources.included_locations(locations, ctx.fields),
        "links": page_links(url, carried, number, size, page.total),
        "meta": {"total_count": page.total},
    }


def list_leads(ctx: Context, account_id: str, feed_id: str | None = None) -> Response:
    account = ctx.account(account_id, premium=True)
    first, last = params.interval(ctx.params)
    number, size = params.paging(ctx.params)
    feed = feeds.get_feed(
        ctx.db, account, ctx.user, feed_id or ctx.params.get("custom_feed_id") or "all_leads"
    )
    page = leads.list_leads(ctx.db, account, feed, first, last, number, size)
    data = [resources.lead(item, ctx.base_url, ctx.fields) for item in page.items]
    return JSONAPIResponse(_paged(ctx, page, number, size, data))


def get_lead(ctx: Context, account_id: str, lead_id: str) -> Response:
    account = ctx.account(account_id, premium=True)
    lead = leads.get_lead(ctx.db, account, lead_id)
    return JSONAPIResponse(
        {
            "data": resources.lead(lead, ctx.base_url, ctx.fields),
            "included": resources.included_locations([lead.location], ctx.fields),
        }
    )


def list_visits(ctx: Context, account_id: str, lead_id: str | None = None) -> Response:
    account = ctx.account(account_id, premium=True)
    lead_pk = leads.get_lead(ctx.db, account, lead_id).pk if lead_id is not None else None
    first, last = params.interval(ctx.params)
    number, size = params.paging(ctx.params)
    page = visits.list_visits(ctx.db, account, first, last, number, size, lead_pk)
    data = [resources.visit(item, ctx.fields) for item in page.items]
    return JSONAPIResponse(_paged(ctx, page, number, size, data))
