"""Digest subscriptions and the claim rows that make each digest go out once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from openfeeder.domain.models import Account, User
from openfeeder.store import schema as t

_ACCOUNT = ("id", "name", "subscription", "on_trial", "subscription_addons", "timezone")


@dataclass(frozen=True)
class Subscription:
    id: int
    user: User
    account: Account
    feed_id: str
    cadence: str  # daily or weekly
    last_sent_period: date | None
    created_at: datetime


def create(
    conn: sa.Connection, user_id: int, account_id: int, feed_id: str, cadence: str, now: datetime
) -> int | None:
    """The new subscription's id; None when the user has this one already."""
    s = t.digest_subscriptions
    exists = sa.select(s.c.id).where(
        s.c.user_id == user_id,
        s.c.account_id == account_id,
        s.c.feed_id == feed_id,
        s.c.cadence == cadence,
    )
    if conn.execute(exists).first() is not None:
        return None
    row = {
        "user_id": user_id,
        "account_id": account_id,
        "feed_id": feed_id,
        "cadence": cadence,
        "created_at": now,
    }
    return int(conn.execute(s.insert().values(row).returning(s.c.id)).scalar_one())


def _query() -> sa.Select[tuple[object, ...]]:
    s, u = t.digest_subscriptions, t.users
    return (
        sa.select(
            s.c.id,
            s.c.feed_id,
            s.c.cadence,
            s.c.last_sent_period,
            s.c.created_at,
            u.c.id.label("user_id"),
            u.c.email.label("user_email"),
            u.c.name.label("user_name"),
            t.accounts.c.script_hash,
            *(t.accounts.c[name].label(f"account_{name}") for name in _ACCOUNT),
        )
        .join(u, u.c.id == s.c.user_id)
        .join(t.accounts, t.accounts.c.id == s.c.account_id)
        .order_by(s.c.id)
    )


def _subscription(row: sa.Row[tuple[object, ...]]) -> Subscription:
    m = row._mapping
    return Subscription(
        id=m["id"],
        user=User(m["user_id"], m["user_email"], m["user_name"]),
        account=Account(
            id=m["account_id"],
            name=m["account_name"],
            subscription=m["account_subscription"],
            on_trial=m["account_on_trial"],
            subscription_addons=list(m["account_subscription_addons"]),
            timezone=m["account_timezone"],
            script_hash=m["script_hash"],
        ),
        feed_id=m["feed_id"],
        cadence=m["cadence"],
        last_sent_period=m["last_sent_period"],
        created_at=m["created_at"],
    )


def list_subscriptions(
    conn: sa.Connection, *, user_id: int | None = None, account_id: int | None = None
) -> list[Subscription]:
    s = t.digest_subscriptions
    query = _query()
    if user_id is not None:
        query = query.where(s.c.user_id == user_id)
    if account_id is not None:
        query = query.where(s.c.account_id == account_id)
    return [_subscription(row) for row in conn.execute(query)]


def get(conn: sa.Connection, subscription_id: int) -> Subscription | None:
    row = conn.execute(_query().where(t.digest_subscriptions.c.id == subscription_id)).first()
    return _subscription(row) if row is not None else None


def by_unsubscribe_hash(conn: sa.Connection, token_hash: str) -> Subscription | None:
    d = t.digest_sends
    owner = sa.select(d.c.subscription_id).where(d.c.unsubscribe_hash == token_hash)
    row = conn.execute(_query().where(t.digest_subscriptions.c.id.in_(owner))).first()
    return _subscription(row) if row is not None else None


def delete(conn: sa.Connection, subscription_id: int) -> bool:
    s = t.digest_subscriptions
    return bool(conn.execute(s.delete().where(s.c.id == subscription_id)).rowcount)


def claim(
    conn: sa.Connection,
    subscription_id: int,
    period: date,
    now: datetime,
    *,
    retry_before: datetime,
    max_attempts: int,
    unsubscribe_hash: str,
) -> bool:
    """Whether this caller now holds the (subscription, period) digest and must send it.

    The first claim inserts the row: the primary key lets one inserter win. A failed send,
    or one claimed before ``retry_before`` and never finished (its sender died), is taken
    over by a conditional update that again only one caller wins, until ``max_attempts``.
    """
    d = t.digest_sends
    row = {
        "subscription_id": subscription_id,
        "period": period,
        "status": "sending",
        "attempts": 1,
        "claimed_at": now,
        "unsubscribe_hash": unsubscribe_hash,
    }
    try:
        with conn.begin_nested():
            conn.execute(d.insert().values(row))
        return True
    except sa.exc.IntegrityError:
        pass
    retry = (
        d.update()
        .where(
            d.c.subscription_id == subscription_id,
            d.c.period == period,
            d.c.attempts < max_attempts,
            sa.or_(
                d.c.status == "failed",
                sa.and_(d.c.status == "sending", d.c.claimed_at < retry_before),
            ),
        )
        .values(
            status="sending",
            attempts=d.c.attempts + 1,
            claimed_at=now,
            unsubscribe_hash=unsubscribe_hash,
        )
    )
    return bool(conn.execute(retry).rowcount)


def finish(
    conn: sa.Connection,
    subscription_id: int,
    period: date,
    status: str,
    now: datetime,
    *,
    leads: int | None = None,
    error: str | None = None,
) -> None:
    """Record how the claimed digest ended; a sent or skipped one is the subscription's
    newest handled period from now on."""
    d, s = t.digest_sends, t.digest_subscriptions
    conn.execute(
        d.update()
        .where(d.c.subscription_id == subscription_id, d.c.period == period)
        .values(status=status, finished_at=now, leads=leads, error=error)
    )
    if status in ("sent", "skipped"):
        conn.execute(
            s.update()
            .where(
                s.c.id == subscription_id,
                sa.or_(s.c.last_sent_period.is_(None), s.c.last_sent_period < period),
            )
            .values(last_sent_period=period)
        )


def sends(conn: sa.Connection, subscription_id: int) -> list[dict[str, object]]:
    """The subscription's digests, newest period first (for operators and tests)."""
    d = t.digest_sends
    query = (
        sa.select(d.c.period, d.c.status, d.c.attempts, d.c.leads, d.c.error, d.c.finished_at)
        .where(d.c.subscription_id == subscription_id)
        .order_by(d.c.period.desc())
    )
    return [dict(row._mapping) for row in conn.execute(query)]
