"""Custom feeds of an account: the four built-in ones plus those the account defined."""

from __future__ import annotations

from typing import Any

from openfeeder.domain.errors import NotFound
from openfeeder.domain.feeds import Feed, builtin_feeds, parse_criteria
from openfeeder.domain.models import Account, User
from openfeeder.store import accounts as store
from openfeeder.store.db import Database


def list_feeds(db: Database, account: Account, user: User) -> list[Feed]:
    with db.read() as conn:
        rows = store.list_feeds(conn, account.id)
    custom = [Feed(str(row["id"]), row["name"], parse_criteria(row["criteria"])) for row in rows]
    return builtin_feeds(user.id, user.name) + custom


def get_feed(db: Database, account: Account, user: User, feed_id: str) -> Feed:
    for feed in list_feeds(db, account, user):
        if feed.id == feed_id:
            return feed
    raise NotFound(f"Custom feed {feed_id} was not found in this account.")


def create_feed(db: Database, account: Account, name: str, criteria: list[dict[str, Any]]) -> Feed:
    parsed = parse_criteria(criteria)
    with db.write() as conn:
        feed_id = store.create_feed(conn, account.id, name, [c.as_json() for c in parsed])
    return Feed(str(feed_id), name, parsed)
