"""Digests: a user's daily or weekly email of one feed's leads, sent at 09:00 in the account's
timezone (weekly ones on Monday) for the day or week before, skipped when the feed had no
leads then. The list is the feed's lead list for that interval (``services.leads``), so a
digest shows what the dashboard and the API show for the same feed and dates.

``send_due`` is called by the job queue's upkeep every minute in every worker. A digest goes
out once: whoever inserts its (subscription, period) row sends it (``store.digests.claim``);
a failed send is tried again at later upkeeps, a few times.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from openfeeder.config import Settings
from openfeeder.domain.errors import BadRequest, Conflict, Forbidden, NotFound
from openfeeder.domain.models import Account, Lead, User
from openfeeder.services import access, admin, feeds, leads
from openfeeder.services.mail_messages import line, render
from openfeeder.services.mailer import Mail, Mailer, MailError
from openfeeder.services.urls import lead_page_url, public_base_url
from openfeeder.store import digests as store
from openfeeder.store.db import Database
from openfeeder.store.digests import Subscription

__all__ = [
    "CADENCES",
    "DigestPeriod",
    "Subscription",
    "due_period",
    "send_due",
    "subscribe",
    "unsubscribe",
]

log = logging.getLogger(__name__)

Cadence = Literal["daily", "weekly"]
CADENCES: tuple[Cadence, ...] = ("daily", "weekly")
SEND_AT = time(9, 0)  # local time of the account
MAX_LEADS = 50  # leads listed in one digest; the rest are counted and linked
MAX_ATTEMPTS = 5
# A digest claimed this long ago and never finished: its sender died mid-way; send again.
STALE_CLAIM = timedelta(minutes=15)


@dataclass(frozen=True)
class DigestPeriod:
    first: date
    last: date
    send_at: datetime  # aware

    @property
    def label(self) -> str:
        if self.first == self.last:
            return f"{self.first:%A} {self.first.day} {self.first:%B %Y}"
        return f"{self.first.day} {self.first:%b} – {self.last.day} {self.last:%b %Y}"


def due_period(cadence: str, zone: ZoneInfo, now: datetime) -> DigestPeriod:
    """The newest digest whose sending time has come at ``now``: a daily one covers the day
    before its 09:00, a weekly one the Monday-to-Sunday week before its Monday 09:00."""
    local = now.astimezone(zone)
    day = local.date()
    if cadence == "daily":
        send_day = day if local.time() >= SEND_AT else day - timedelta(days=1)
        first = last = send_day - timedelta(days=1)
    else:
        send_day = day - timedelta(days=day.weekday())
        if send_day == day and local.time() < SEND_AT:
            send_day -= timedelta(days=7)
        first, last = send_day - timedelta(days=7), send_day - timedelta(days=1)
    return DigestPeriod(first, last, datetime.combine(send_day, SEND_AT, tzinfo=zone))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ── managing subscriptions ──


def cadence_of(value: str) -> Cadence:
    for cadence in CADENCES:
        if value == cadence:
            return cadence
    raise BadRequest(f"cadence must be daily or weekly, not {value[:20]!r}.", parameter="cadence")


def subscribe(
    db: Database, now: datetime, email: str, account_id: int, feed_id: str, cadence: str
) -> Subscription:
    """Subscribe the user with ``email`` to a digest of one of the account's feeds."""
    chosen = cadence_of(cadence)
    user = admin.get_user(db, email)
    admin.get_account(db, account_id)  # NotFound for an account that does not exist
    try:
        account = access.account_for(db, user, str(account_id))
    except (Forbidden, NotFound):
        raise BadRequest(f"{user.email} is not a member of account {account_id}.") from None
    feed = feeds.get_feed(db, account, user, feed_id)
    return _create(db, now, account, user, feed.id, chosen)


def _create(
    db: Database, now: datetime, account: Account, user: User, feed_id: str, cadence: Cadence
) -> Subscription:
    with db.write() as conn:
        new_id = store.create(conn, user.id, account.id, feed_id, cadence, now)
        if new_id is None:
            raise Conflict(f"{user.email} gets the {cadence} digest of feed {feed_id} already.")
        made = store.get(conn, new_id)
    assert made is not None
    return made


def list_subscriptions(
    db: Database, *, email: str | None = None, account_id: int | None = None
) -> list[Subscription]:
    user_id = admin.get_user(db, email).id if email else None
    if account_id is not None:
        admin.get_account(db, account_id)  # NotFound for an account that does not exist
    with db.read() as conn:
        return store.list_subscriptions(conn, user_id=user_id, account_id=account_id)


def remove(db: Database, subscription_id: int) -> None:
    with db.write() as conn:
        if not store.delete(conn, subscription_id):
            raise NotFound(f"Digest subscription {subscription_id} does not exist.")


def by_token(db: Database, token: str) -> Subscription:
    """The subscription an unsubscribe link names."""
    if not token or len(token) > 100:
        raise NotFound(_GONE)
    with db.read() as conn:
        found = store.by_unsubscribe_hash(conn, token_hash(token))
    if found is None:
        raise NotFound(_GONE)
    return found


_GONE = "This unsubscribe link is not valid (any more): the digest may be stopped already."


def unsubscribe(db: Database, token: str) -> Subscription:
    """Stop the digest an unsubscribe link names; the subscription that was removed."""
    found = by_token(db, token)
    with db.write() as conn:
        store.delete(conn, found.id)
    return found


def feed_name(db: Database, subscription: Subscription) -> str:
    try:
        feed = feeds.get_feed(db, subscription.account, subscription.user, subscription.feed_id)
    except NotFound:
        return f"feed {subscription.feed_id} (deleted)"
    return feed.name


# ── the dashboard's Digests page: a signed-in member's own subscriptions ──


def subscriptions_in(
    db: Database, account: Account, user: User, *, everyone: bool
) -> list[Subscription]:
    """The account's subscriptions: the user's own, or with ``everyone`` (an admin's view)
    every member's."""
    with db.read() as conn:
        return store.list_subscriptions(
            conn, user_id=None if everyone else user.id, account_id=account.id
        )


def subscribe_member(
    db: Database, now: datetime, account: Account, user: User, feed_id: str, cadence: str
) -> Subscription:
    """Subscribe a member (the caller checked the membership) to one of the account's feeds;
    a bad cadence or an unknown feed is a ``BadRequest`` (a form error), a repeat a
    ``Conflict``."""
    chosen = cadence_of(cadence)
    try:
        feed = feeds.get_feed(db, account, user, feed_id)
    except NotFound:
        raise BadRequest("There is no such feed in this account.", parameter="feed") from None
    return _create(db, now, account, user, feed.id, chosen)


def remove_in(
    db: Database, account: Account, user: User, subscription_id: int, *, anyones: bool
) -> None:
    """Remove one of the account's subscriptions: the user's own, or with ``anyones`` (an
    admin) any member's. Another account's, or another member's, is not found."""
    with db.write() as conn:
        found = store.get(conn, subscription_id)
        if (
            found is None
            or found.account.id != account.id
            or not (anyones or found.user.id == user.id)
        ):
            raise NotFound("There is no such digest subscription.")
        store.delete(conn, subscription_id)


# ── sending ──


@dataclass
class SendReport:
    sent: int = 0
    skipped: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.sent + self.skipped + self.failed


def send_due(db: Database, mailer: Mailer, settings: Settings, now: datetime) -> SendReport:
    """Send every digest whose time has come and that nobody sent yet."""
    report = SendReport()
    with db.read() as conn:
        subscriptions = store.list_subscriptions(conn)
    for subscription in subscriptions:
        period = due_period(subscription.cadence, ZoneInfo(subscription.account.timezone), now)
        done = subscription.last_sent_period
        # A subscription made after this digest's time starts with the next one.
        if (done is not None and done >= period.first) or period.send_at < subscription.created_at:
            continue
        token = secrets.token_urlsafe(32)
        with db.write() as conn:
            claimed = store.claim(
                conn,
                subscription.id,
                period.first,
                now,
                retry_before=now - STALE_CLAIM,
                max_attempts=MAX_ATTEMPTS,
                unsubscribe_hash=token_hash(token),
            )
        if not claimed:
            continue
        try:
            status, count, error = _send_one(db, mailer, settings, subscription, period, token)
        except Exception as unexpected:  # a bug or a store error: the others still go out
            log.exception("digest %d for %s failed", subscription.id, period.first)
            status, count = "failed", None
            error = f"{unexpected.__class__.__name__}: {unexpected}"[:500]
        with db.write() as conn:
            store.finish(conn, subscription.id, period.first, status, now, leads=count, error=error)
        setattr(report, status, getattr(report, status) + 1)
    if report.total:
        log.info(
            "digests: %d sent, %d skipped, %d failed", report.sent, report.skipped, report.failed
        )
    return report


def _send_one(
    db: Database,
    mailer: Mailer,
    settings: Settings,
    subscription: Subscription,
    period: DigestPeriod,
    token: str,
) -> tuple[Literal["sent", "skipped", "failed"], int | None, str | None]:
    account, user = subscription.account, subscription.user
    try:
        access.account_for(db, user, str(account.id))
        feed = feeds.get_feed(db, account, user, subscription.feed_id)
    except (Forbidden, NotFound) as error:
        return "skipped", None, str(error)
    page = leads.list_leads(db, account, feed, period.first, period.last, 1, MAX_LEADS)
    if page.total == 0:
        return "skipped", 0, None
    mail = digest_mail(settings, subscription, feed.name, period, page.items, page.total, token)
    try:
        mailer.send(mail)
    except MailError as error:
        log.warning("digest %d for %s failed: %s", subscription.id, period.first, error)
        return "failed", page.total, str(error)
    return "sent", page.total, None


def digest_mail(
    settings: Settings,
    subscription: Subscription,
    feed: str,
    period: DigestPeriod,
    found: list[Lead],
    total: int,
    token: str,
) -> Mail:
    base = public_base_url(settings, None)
    account = subscription.account
    query = {
        "feed": subscription.feed_id,
        "range": "custom",
        "start": period.first.isoformat(),
        "end": period.last.isoformat(),
    }
    unsubscribe_url = f"{base}/app/unsubscribe/{token}"
    values = {
        "account": account.name,
        "feed": feed,
        "cadence": subscription.cadence,
        "recipient": subscription.user.email,
        "period_label": period.label,
        "total": total,
        "more": max(0, total - len(found)),
        "feed_url": f"{base}/app/{account.id}/leads?{urlencode(query)}",
        "unsubscribe_url": unsubscribe_url,
        "leads": [
            {
                "name": lead.company.name,
                "quality": lead.quality if lead.quality is not None else 0,
                "visits": lead.visits,
                "location": ", ".join(
                    part for part in (lead.location.city, lead.location.country) if part
                ),
                "url": lead_page_url(base, account.id, lead.id),
            }
            for lead in found
        ],
    }
    text, html = render("digest", **values)
    word = "company" if total == 1 else "companies"
    subject = f"{line(feed, 80)}: {total} {word}, {period.label}"
    return Mail(
        to=[subscription.user.email],
        subject=subject,
        text=text,
        html=html,
        headers=unsubscribe_headers(unsubscribe_url),
    )


def unsubscribe_headers(url: str) -> dict[str, str]:
    """RFC 2369's link and RFC 8058's one-click: a mail client's Unsubscribe button POSTs
    ``List-Unsubscribe=One-Click`` to the link (the page a person opens still asks to
    confirm, so a link scanner that GETs it unsubscribes nobody)."""
    return {
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
