"""Lead lists for an interval and a feed, and single leads."""

from __future__ import annotations

from datetime import date

from openfeeder.domain.errors import NotFound
from openfeeder.domain.feeds import Feed
from openfeeder.domain.models import Account, Lead, Page
from openfeeder.store import leads as store
from openfeeder.store.db import Database

LEAD_CAP = store.LEAD_CAP


def list_leads(
    db: Database, account: Account, feed: Feed, first: date, last: date, page: int, size: int
) -> Page:
    with db.read() as conn:
        return store.list_leads(
            conn, account.id, first, last, feed.criteria, (page - 1) * size, size
        )


def get_lead(db: Database, account: Account, lead_id: str) -> Lead:
    with db.read() as conn:
        lead = store.get_lead(conn, account.id, lead_id)
    if lead is None:
        raise NotFound(f"Lead {lead_id} was not found in this account.")
    return lead
