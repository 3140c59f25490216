"""The overview page: an account's top figures for a period beside the period before, its
visits over time (drawn by ``static/overview.js`` from a data attribute: no inline script)
and its top pages, sources, industries and countries."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from starlette.responses import Response

from openfeeder.dashboard.pages import period_of
from openfeeder.dashboard.web import WebContext
from openfeeder.domain import periods
from openfeeder.services import overview as overviews

FIGURE_LABELS = {
    "leads": "Leads",
    "new_leads": "New leads",
    "visits": "Visits",
    "pageviews": "Pageviews",
}


def overview_page(ctx: WebContext, account_id: str) -> Response:
    account = ctx.account(account_id)
    period = period_of(ctx, account)
    found = overviews.overview(ctx.services.db, account, period)
    chart = {
        "unit": found.unit,
        "days": [point.first.isoformat() for point in found.series],
        "visits": [point.visits for point in found.series],
        "pageviews": [point.pageviews for point in found.series],
    }

    custom = period.key == "custom"
    current = {
        "range": period.key,
        "start": period.first.isoformat() if custom else None,
        "end": period.last.isoformat() if custom else None,
    }

    def link(view: str = "overview", **changes: str | None) -> str:
        """This page (or another ``view`` of the account) for the period, with ``changes``
        (the period picker's)."""
        merged = current | {k: v for k, v in changes.items() if k in current}
        query = urlencode({k: v for k, v in merged.items() if v is not None})
        return f"/app/{account.id}/{view}?{query}"

    busiest = max(found.series, key=lambda point: point.visits, default=None)
    return ctx.render(
        "overview.html",
        account=account,
        overview=found,
        period=period,
        presets=periods.PRESETS,
        labels=FIGURE_LABELS,
        chart=json.dumps(chart, separators=(",", ":")),
        busiest=busiest if busiest and busiest.visits else None,
        link=link,
    )
