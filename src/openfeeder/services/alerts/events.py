"""Rules evaluated over the visits a pipeline batch recorded, in the batch's transaction: each
(rule, lead, visit) makes at most one event (the store's unique key; a retried batch or a
second worker finds it there), and each event one delivery per endpoint of its rule.

A rule fires for a visit when the visit's lead is in the rule's feed — the lead list's own
query and criteria over the 30 days up to the visit's day (``store.leads.feed_members``) —
and its trigger holds:

- ``new_company``: the visit is the lead's first (the event comes in the batch that first
  finds the lead in the feed during that visit);
- ``returning``: the lead's previous visit started at least ``days`` days before this one;
- ``page_visit``: a page of the visit matches ``pattern`` (its URL or its path);
- ``quality``: the lead's quality in the feed is at least ``quality``;

and the rule made no event for the lead within its cooldown.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import Connection

from openfeeder.domain.alerts import EVENT_TYPES, Rule, Trigger, glob_match
from openfeeder.domain.feeds import Feed, FeedCriterion, builtin_feeds, parse_criteria
from openfeeder.domain.models import Account
from openfeeder.domain.representation import AccountAttributes
from openfeeder.services.documents import lead_document, visit_document
from openfeeder.store import accounts as accounts_store
from openfeeder.store import alerts as store
from openfeeder.store import leads as leads_store

log = logging.getLogger(__name__)

FEED_WINDOW_DAYS = 30  # the interval feed membership and quality are judged over


def evaluate_visits(
    conn: Connection, visits: Collection[tuple[int, str]], now: datetime, app_url: str
) -> int:
    """Make the events the visits (account id, visit id) fire; how many were made."""
    rules = store.active_rules(conn, {account_id for account_id, _ in visits})
    if not rules:
        return 0
    facts = store.visit_facts(conn, sorted({visit_id for _, visit_id in visits}))
    made = 0
    for account_id in sorted({rule.account_id for rule in rules}):
        mine = [fact for fact in facts if fact["account_id"] == account_id]
        account = accounts_store.get_account(conn, account_id)
        if mine and account is not None:
            made += _evaluate_account(
                conn, account, [r for r in rules if r.account_id == account_id], mine, now, app_url
            )
    return made


def _evaluate_account(
    conn: Connection,
    account: Account,
    rules: list[Rule],
    facts: list[dict[str, Any]],
    now: datetime,
    app_url: str,
) -> int:
    zone = ZoneInfo(account.timezone)
    last = max(fact["started_at"].astimezone(zone).date() for fact in facts)
    first = last - timedelta(days=FEED_WINDOW_DAYS - 1)
    pks = sorted({fact["lead_pk"] for fact in facts})
    feeds = _feeds(conn, account.id, rules)
    members: dict[tuple[Any, ...], dict[int, int]] = {}
    tests: dict[tuple[Any, ...], _Test] = {}  # rules that fire alike, evaluated once a visit
    for rule in rules:
        feed = feeds.get(_feed_key(rule))
        if feed is None:
            continue
        key = _criteria_key(feed.criteria)
        if key not in members:
            members[key] = leads_store.feed_members(
                conn, account.id, first, last, feed.criteria, pks
            )
        alike = (key, rule.trigger, repr(sorted(rule.params.items())))
        if alike not in tests:
            tests[alike] = _Test(rule, members[key], [])
        tests[alike].rules.append(rule)
    candidates: list[tuple[Rule, dict[str, Any], int]] = []
    for fact in facts:
        pages = _Pages(fact["route"])
        for test in tests.values():
            quality = test.members.get(fact["lead_pk"])
            if quality is not None and _fires(test.rule, fact, quality, pages):
                candidates += [(rule, fact, quality) for rule in test.rules]
    if not candidates:
        return 0
    existing = store.existing_events(conn, {fact["id"] for _, fact, _ in candidates})
    cooldowns: dict[int, set[int]] = {}
    for rule, _, _ in candidates:
        cooldowns.setdefault(rule.cooldown_seconds, set()).add(rule.id)
    cooling = store.cooling(conn, cooldowns, {fact["lead_pk"] for _, fact, _ in candidates}, now)
    endpoints = {e.id for e in store.list_endpoints(conn, account.id) if e.enabled}
    events: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    for rule, fact, quality in candidates:
        lead_pk = fact["lead_pk"]
        if (rule.id, lead_pk, fact["id"]) in existing:
            continue
        if (rule.id, lead_pk) in cooling:
            continue
        if rule.cooldown_seconds > 0:  # this event starts the rule's cooldown for the lead
            cooling.add((rule.id, lead_pk))
        event_id = str(uuid.uuid4())
        # The body is built by the event's first delivery (``stored_body``): the batch only
        # writes these two small rows.
        events.append(
            {
                "id": event_id,
                "account_id": account.id,
                "rule_id": rule.id,
                "lead_pk": lead_pk,
                "visit_id": fact["id"],
                "type": EVENT_TYPES[rule.trigger],
                "quality": quality,
                "created_at": now,
            }
        )
        deliveries += delivery_rows(event_id, [i for i in rule.endpoint_ids if i in endpoints], now)
    store.add_events(conn, events, deliveries)
    return len(events)


def delivery_rows(
    event_id: str, endpoint_ids: Iterable[int], now: datetime
) -> list[dict[str, Any]]:
    """One due delivery per endpoint."""
    return [
        {
            "event_id": event_id,
            "endpoint_id": endpoint_id,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for endpoint_id in sorted(set(endpoint_ids))
    ]


@dataclasses.dataclass(frozen=True, slots=True)
class _Test:
    """Rules with the same feed, trigger and parameters: whether they fire for a visit is
    one question (asked of ``rule``, the first), whatever their names, endpoints and
    cooldowns."""

    rule: Rule
    members: dict[int, int]  # the feed's leads among the batch's, with their quality
    rules: list[Rule]


class _Pages:
    """A visit's page URLs and paths, lower-cased once, with each pattern's answer kept."""

    def __init__(self, route: list[dict[str, Any]] | None) -> None:
        self._texts = [
            text.lower()
            for step in route or []
            for text in (str(step.get("page_url") or ""), str(step.get("page_path") or ""))
        ]
        self._answers: dict[str, bool] = {}

    def match(self, pattern: str) -> bool:
        answer = self._answers.get(pattern)
        if answer is None:
            lowered = pattern.lower()
            answer = self._answers[pattern] = any(glob_match(lowered, t) for t in self._texts)
        return answer


def _fires(rule: Rule, fact: Mapping[str, Any], quality: int, pages: _Pages) -> bool:
    previous: datetime | None = fact["previous_start"]
    match rule.trigger:
        case Trigger.NEW_COMPANY:
            return previous is None
        case Trigger.RETURNING:
            away = timedelta(days=int(rule.params["days"]))
            return previous is not None and fact["started_at"] - previous >= away
        case Trigger.PAGE_VISIT:
            return pages.match(str(rule.params["pattern"]))
        case Trigger.QUALITY:
            return quality >= int(rule.params["quality"])
    raise AssertionError(rule.trigger)  # pragma: no cover - exhaustive


def _feed_key(rule: Rule) -> tuple[str, int | None]:
    return (rule.feed_id, rule.user_id if rule.feed_id == "followed_companies" else None)


def _criteria_key(criteria: list[FeedCriterion]) -> tuple[Any, ...]:
    return tuple((c.criterion_type, repr(c.search_value), c.excluded) for c in criteria)


def _feeds(
    conn: Connection, account_id: int, rules: list[Rule]
) -> dict[tuple[str, int | None], Feed]:
    """The feed of each rule: built-in (``followed_companies`` of the rule's user) or the
    account's own; a rule whose feed is gone makes no events."""
    custom = {
        str(row["id"]): Feed(str(row["id"]), row["name"], parse_criteria(row["criteria"]))
        for row in accounts_store.list_feeds(conn, account_id)
    }
    out: dict[tuple[str, int | None], Feed] = {}
    for rule in rules:
        key = _feed_key(rule)
        builtin = {f.id: f for f in builtin_feeds(rule.user_id or 0, "")}
        feed = custom.get(rule.feed_id) or builtin.get(rule.feed_id)
        if feed is None or (rule.feed_id == "followed_companies" and rule.user_id is None):
            log.warning("alert rule %d: feed %s is gone; it makes no events", rule.id, rule.feed_id)
            continue
        out[key] = feed
    return out


def stored_body(conn: Connection, event_id: str, app_url: str) -> dict[str, Any] | None:
    """The event's webhook body: the stored one, or else built now from the lead and visit
    it is about and stored (the first of two racing builders wins; both send that one).
    None when the lead or the visit is gone."""
    row = store.get_event(conn, event_id)
    if row is None:
        return None
    if row["payload"] is not None:
        return dict(row["payload"])
    account = accounts_store.get_account(conn, row["account_id"])
    public = store.lead_public_ids(conn, [row["lead_pk"]]).get(row["lead_pk"])
    lead = (
        None
        if public is None or account is None
        else leads_store.get_lead(conn, account.id, public)
    )
    visit = store.get_visit(conn, row["visit_id"])
    rule = store.get_rule(conn, row["account_id"], row["rule_id"])
    if account is None or lead is None or visit is None or rule is None:
        return None
    lead = dataclasses.replace(lead, quality=row["quality"])
    body = event_body(
        event_id,
        row["type"],
        row["created_at"],
        account,
        {
            "rule": {"id": str(rule.id), "name": rule.name, "feed_id": rule.feed_id},
            "lead": lead_document(lead, app_url),
            "visit": visit_document(visit),
        },
    )
    return store.set_payload(conn, event_id, body)


def event_body(
    event_id: str, event_type: str, now: datetime, account: Account, data: dict[str, Any]
) -> dict[str, Any]:
    """The webhook body: {"id", "type", "timestamp", "data": {"account", ...}} as plain JSON
    values (what the store keeps and every channel renders from)."""
    attributes = AccountAttributes(
        name=account.name,
        subscription=account.subscription,
        timezone=account.timezone,
        website_tracking_status="ok",
        on_trial=account.on_trial,
        subscription_addons=list(account.subscription_addons),
    )
    body = {
        "id": event_id,
        "type": event_type,
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "data": {"account": attributes.resource(str(account.id))} | data,
    }
    return msgspec.to_builtins(body)  # type: ignore[no-any-return]
