"""Recording visits (the one write path for the demo and the tracking pipeline) and listing them."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from openfeeder.domain.errors import NotFound
from openfeeder.domain.ids import lead_id
from openfeeder.domain.models import Account, NewVisit, Page, RouteStep
from openfeeder.store import accounts as accounts_store
from openfeeder.store import visits as store
from openfeeder.store.db import Database


def visit_route(route: Sequence[RouteStep]) -> list[dict[str, Any]]:
    """The seed's visit_route entries, each linked to the page before it."""
    out = []
    previous = "(entrance)"
    for step in route:
        out.append(
            {
                "hostname": step.hostname,
                "page_path": step.page_path,
                "previous_page_path": previous,
                "time_on_page": step.time_on_page,
                "page_title": step.page_title,
                "page_url": step.page_url,
                "display_page_name": step.page_path,
            }
        )
        previous = step.page_path
    return out


def route_step(url: str, title: str, seconds: int) -> RouteStep:
    hostname, path = _host_and_path(url)
    return RouteStep(hostname, path, title, url, seconds)


@functools.lru_cache(maxsize=4096)
def _host_and_path(url: str) -> tuple[str, str]:
    """A page URL's host name and path with its query (the last few thousand remembered:
    a visit in progress is rebuilt every batch it gets a hit in)."""
    parts = urlsplit(url)
    return parts.hostname or "", (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _row(visit: NewVisit, zone: ZoneInfo) -> dict[str, Any]:
    if visit.started_at.tzinfo is None:
        raise ValueError("NewVisit.started_at must be timezone-aware")
    local = visit.started_at.astimezone(zone)
    return {
        "id": visit.id,
        "account_id": visit.account_id,
        "lead_id": lead_id(visit.company_id, visit.location.id),
        "company_id": visit.company_id,
        "location": visit.location,
        "pages": [step.page_url for step in visit.route],
        "started_at": visit.started_at,
        "date": local.date(),
        "hour": local.hour,
        "source": visit.source,
        "medium": visit.medium,
        "campaign": visit.campaign,
        "keyword": visit.keyword,
        "query_term": visit.query_term,
        "referring_url": visit.referring_url,
        "page_depth": len(visit.route),
        "visit_length": sum(step.time_on_page for step in visit.route),
        "visit_route": visit_route(visit.route),
        "lf_client_id": visit.lf_client_id,
        "ga_client_ids": visit.ga_client_ids,
        "adobe_cookies": visit.adobe_cookies,
        "country_code": visit.location.country_code,
        "device_type": visit.device_type,
        "match_source": visit.match_source,
        "match_reason": visit.match_reason,
    }


def record_visits(db: Database, visits: Sequence[NewVisit]) -> None:
    """Store visits and update their leads and per-day statistics in one transaction."""
    with db.write() as conn:
        record_visits_in(conn, visits)


def record_visits_in(conn: Connection, visits: Sequence[NewVisit]) -> None:
    """``record_visits`` inside a caller's transaction (the pipeline marks its hits processed
    in the same one, so a batch is recorded exactly once)."""
    zones: dict[int, ZoneInfo] = {}
    for account_id in {v.account_id for v in visits}:
        account = accounts_store.get_account(conn, account_id)
        if account is None:
            raise NotFound(f"Account {account_id} does not exist.")
        zones[account_id] = ZoneInfo(account.timezone)
    store.save_visits(conn, [_row(v, zones[v.account_id]) for v in visits])


def list_visits(
    db: Database,
    account: Account,
    first: date,
    last: date,
    page: int,
    size: int,
    lead_pk: int | None = None,
) -> Page:
    with db.read() as conn:
        return store.list_visits(conn, account.id, first, last, (page - 1) * size, size, lead_pk)
