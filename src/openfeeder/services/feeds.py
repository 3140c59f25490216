"""Custom feeds of an account: the four built-in ones plus those the account defined."""

from __future__ import annotations

from typing import Any

from openfeeder.domain.errors import BadRequest, NotFound
from openfeeder.domain.feeds import Feed, builtin_feeds, parse_criteria
from openfeeder.domain.ids import whole_number
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


MAX_NAME = 200


def feed_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise BadRequest("A feed needs a name.", parameter="name")
    if len(cleaned) > MAX_NAME or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name.strip()):
        raise BadRequest(
            f"A feed name has at most {MAX_NAME} characters and no control characters.",
            parameter="name",
        )
    return cleaned


def create_feed(db: Database, account: Account, name: str, criteria: list[dict[str, Any]]) -> Feed:
    parsed = parse_criteria(criteria)
    name = feed_name(name)
    with db.write() as conn:
        feed_id = store.create_feed(conn, account.id, name, [c.as_json() for c in parsed])
    return Feed(str(feed_id), name, parsed)


def _own_feed_id(feed_id: str) -> int:
    """The number of one of the account's own feeds (built-in feeds cannot change)."""
    number = whole_number(feed_id, 9)
    if number is None:
        raise NotFound(f"Custom feed {feed_id} was not found in this account.")
    return number


def update_feed(
    db: Database, account: Account, feed_id: str, name: str, criteria: list[dict[str, Any]]
) -> Feed:
    parsed = parse_criteria(criteria)
    name = feed_name(name)
    with db.write() as conn:
        changed = store.update_feed(
            conn, account.id, _own_feed_id(feed_id), name, [c.as_json() for c in parsed]
        )
    if not changed:
        raise NotFound(f"Custom feed {feed_id} was not found in this account.")
    return Feed(feed_id, name, parsed)


def delete_feed(db: Database, account: Account, feed_id: str) -> None:
    with db.write() as conn:
        if not store.delete_feed(conn, account.id, _own_feed_id(feed_id)):
            raise NotFound(f"Custom feed {feed_id} was not found in this account.")
