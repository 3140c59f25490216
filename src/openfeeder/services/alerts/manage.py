"""Managing alerts: an account's endpoints (with signing secrets shown once, rotation), its
rules, the delivery log, replaying a delivery and sending a test event. The CLI, the REST
hooks and the dashboard's pages each call these and only render."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from openfeeder.domain.alerts import (
    MAX_NAME,
    MAX_TARGETS,
    TEST_EVENT_TYPE,
    Attempt,
    ChannelKind,
    Delivery,
    Endpoint,
    Rule,
    parse_cooldown,
    parse_kind,
    parse_params,
    parse_trigger,
)
from openfeeder.domain.errors import BadRequest, NotFound
from openfeeder.domain.feeds import builtin_feeds
from openfeeder.domain.models import Account
from openfeeder.services.alerts.channels import available, check_template
from openfeeder.services.alerts.events import delivery_rows, event_body
from openfeeder.services.alerts.http import check_url
from openfeeder.services.alerts.signing import new_secret
from openfeeder.services.documents import lead_document, visit_document
from openfeeder.services.mailer import MailError, valid_address
from openfeeder.store import accounts as accounts_store
from openfeeder.store import alerts as store
from openfeeder.store import leads as leads_store
from openfeeder.store import visits as visits_store
from openfeeder.store.db import Database

DEFAULT_COOLDOWN = 86_400  # a day between two events of one rule about one company


@dataclass(frozen=True)
class NewEndpoint:
    endpoint: Endpoint
    secret: str | None  # the signing secret, shown this once (webhooks only)


def _name(text: str, fallback: str) -> str:
    cleaned = " ".join((text or fallback).split())
    if len(cleaned) > MAX_NAME or any(ord(ch) < 0x20 for ch in cleaned):
        raise BadRequest(
            f"A name has at most {MAX_NAME} characters and no control characters.",
            parameter="name",
        )
    return cleaned


MAX_RECIPIENTS = 20


def email_recipients(target: str) -> list[str]:
    """The addresses of an email endpoint's target, each checked; a ``BadRequest`` naming the
    first bad one."""
    listed = [part.strip() for part in target.removeprefix("mailto:").split(",") if part.strip()]
    if not listed:
        raise BadRequest("An email endpoint needs at least one address.", parameter="url")
    if len(listed) > MAX_RECIPIENTS:
        raise BadRequest(
            f"An email endpoint takes at most {MAX_RECIPIENTS} addresses.", parameter="url"
        )
    try:
        return list(dict.fromkeys(valid_address(address) for address in listed))
    except MailError as error:
        raise BadRequest(error.detail, parameter="url") from None


def create_endpoint(
    db: Database,
    account: Account,
    kind: str,
    url: str,
    now: datetime,
    *,
    name: str = "",
    template: str | None = None,
    hook_user_id: int | None = None,
) -> NewEndpoint:
    channel = parse_kind(kind)
    if not available(channel):
        raise BadRequest(
            f"{channel.value} endpoints are not available in this installation yet.",
            parameter="kind",
        )
    config: dict[str, Any] = {}
    if channel is ChannelKind.EMAIL:
        # An email endpoint's target is its recipients: "a@example.com, b@example.com" (or
        # a mailto: URL of them); they are kept in its config, the mailto: URL shown.
        config["to"] = email_recipients(url)
        url = "mailto:" + ",".join(config["to"])
    else:
        url = check_url(url)
    if template:
        if channel is not ChannelKind.WEBHOOK:
            raise BadRequest("Only webhook endpoints take a body template.", parameter="template")
        config["template"] = check_template(template)
    secret = new_secret() if channel is ChannelKind.WEBHOOK else None
    values = {
        "account_id": account.id,
        "kind": channel.value,
        "name": _name(name, url),
        "url": url,
        "config": config,
        "secrets": [secret] if secret else [],
        "enabled": True,
        "created_at": now,
        "hook_user_id": hook_user_id,
    }
    with db.write() as conn:
        endpoint_id = store.create_endpoint(conn, values)
        endpoint = store.get_endpoint(conn, account.id, endpoint_id)
    assert endpoint is not None
    return NewEndpoint(endpoint, secret)


def list_endpoints(db: Database, account: Account) -> list[Endpoint]:
    with db.read() as conn:
        return store.list_endpoints(conn, account.id)


def get_endpoint(db: Database, account: Account, endpoint_id: int) -> Endpoint:
    with db.read() as conn:
        endpoint = store.get_endpoint(conn, account.id, endpoint_id)
    if endpoint is None:
        raise NotFound(f"Alert endpoint {endpoint_id} was not found in this account.")
    return endpoint


def delete_endpoint(db: Database, account: Account, endpoint_id: int) -> None:
    """Remove an endpoint with its deliveries, and from the rules that sent to it."""
    with db.write() as conn:
        if not store.delete_endpoint(conn, account.id, endpoint_id):
            raise NotFound(f"Alert endpoint {endpoint_id} was not found in this account.")
        for rule in store.list_rules(conn, account.id):
            if endpoint_id in rule.endpoint_ids:
                kept = [i for i in rule.endpoint_ids if i != endpoint_id]
                store.update_rule(conn, account.id, rule.id, {"endpoint_ids": kept})


def rotate_secret(db: Database, account: Account, endpoint_id: int) -> str:
    """A new signing secret, shown once; the newest old one stays valid beside it (two
    signatures per delivery) until the next rotation or ``finish_rotation``."""
    endpoint = get_endpoint(db, account, endpoint_id)
    if endpoint.kind is not ChannelKind.WEBHOOK:
        raise BadRequest("Only webhook endpoints have signing secrets.", parameter="endpoint")
    secret = new_secret()
    with db.write() as conn:
        store.update_endpoint(
            conn, account.id, endpoint_id, {"secrets": [secret, *endpoint.secrets[:1]]}
        )
    return secret


def finish_rotation(db: Database, account: Account, endpoint_id: int) -> None:
    """Drop every secret but the newest."""
    endpoint = get_endpoint(db, account, endpoint_id)
    with db.write() as conn:
        store.update_endpoint(
            conn, account.id, endpoint_id, {"secrets": list(endpoint.secrets[:1])}
        )


def set_endpoint_enabled(db: Database, account: Account, endpoint_id: int, enabled: bool) -> None:
    """Enable (the failure streak and the reason it was disabled are cleared) or disable."""
    values: dict[str, Any] = {"enabled": enabled}
    if enabled:
        values |= {"failing_since": None, "disabled_at": None, "disabled_reason": None}
    with db.write() as conn:
        if not store.update_endpoint(conn, account.id, endpoint_id, values):
            raise NotFound(f"Alert endpoint {endpoint_id} was not found in this account.")


def create_rule(
    db: Database,
    account: Account,
    now: datetime,
    *,
    feed_id: str,
    trigger: str,
    params: dict[str, Any] | None = None,
    endpoint_ids: list[int],
    name: str = "",
    cooldown_seconds: Any = DEFAULT_COOLDOWN,
    user_id: int | None = None,
    enabled: bool = True,
) -> Rule:
    kind = parse_trigger(trigger)
    checked = parse_params(kind, params or {})
    cooldown = parse_cooldown(cooldown_seconds)
    if len(endpoint_ids) > MAX_TARGETS:
        raise BadRequest(f"A rule sends to at most {MAX_TARGETS} endpoints.", parameter="endpoints")
    with db.write() as conn:
        _check_feed(conn, account.id, feed_id, user_id)
        known = {e.id for e in store.list_endpoints(conn, account.id)}
        unknown = sorted(set(endpoint_ids) - known)
        if unknown:
            raise BadRequest(
                f"Alert endpoint {unknown[0]} was not found in this account.",
                parameter="endpoints",
            )
        rule_id = store.create_rule(
            conn,
            {
                "account_id": account.id,
                "name": _name(name, f"{kind.value} on {feed_id}"),
                "feed_id": feed_id,
                "trigger": kind.value,
                "params": checked,
                "cooldown_seconds": cooldown,
                "enabled": enabled,
                "endpoint_ids": sorted(set(endpoint_ids)),
                "user_id": user_id,
                "created_at": now,
            },
        )
        rule = store.get_rule(conn, account.id, rule_id)
    assert rule is not None
    return rule


def _check_feed(conn: Any, account_id: int, feed_id: str, user_id: int | None) -> None:
    builtin = {feed.id for feed in builtin_feeds(0, "")}
    if feed_id == "followed_companies" and user_id is None:
        raise BadRequest("A rule on followed_companies needs its user.", parameter="feed")
    if feed_id in builtin:
        return
    if feed_id not in {str(row["id"]) for row in accounts_store.list_feeds(conn, account_id)}:
        raise BadRequest(f"Custom feed {feed_id} was not found in this account.", parameter="feed")


def list_rules(db: Database, account: Account) -> list[Rule]:
    with db.read() as conn:
        return store.list_rules(conn, account.id)


def delete_rule(db: Database, account: Account, rule_id: int) -> None:
    with db.write() as conn:
        if not store.delete_rule(conn, account.id, rule_id):
            raise NotFound(f"Alert rule {rule_id} was not found in this account.")


def set_rule_enabled(db: Database, account: Account, rule_id: int, enabled: bool) -> None:
    with db.write() as conn:
        if not store.update_rule(conn, account.id, rule_id, {"enabled": enabled}):
            raise NotFound(f"Alert rule {rule_id} was not found in this account.")


def list_deliveries(
    db: Database,
    account: Account,
    endpoint_id: int | None = None,
    limit: int = 100,
    before: int | None = None,
) -> list[Delivery]:
    """Newest first; ``before`` a delivery id pages on to older ones."""
    with db.read() as conn:
        return store.list_deliveries(
            conn, account.id, endpoint_id, max(1, min(limit, 1000)), before
        )


def delivery_log(
    db: Database, account: Account, delivery_id: int
) -> tuple[Delivery, list[Attempt]]:
    with db.read() as conn:
        delivery = store.get_delivery(conn, account.id, delivery_id)
        if delivery is None:
            raise NotFound(f"Delivery {delivery_id} was not found in this account.")
        return delivery, store.list_attempts(conn, delivery_id)


def replay_delivery(db: Database, account: Account, delivery_id: int, now: datetime) -> Delivery:
    """Send a delivery again now (its event, so the same webhook-id), retries afresh."""
    with db.write() as conn:
        if store.get_delivery(conn, account.id, delivery_id) is None:
            raise NotFound(f"Delivery {delivery_id} was not found in this account.")
        store.replay_delivery(conn, delivery_id, now)
        delivery = store.get_delivery(conn, account.id, delivery_id)
    assert delivery is not None
    return delivery


def send_test_event(
    db: Database, account: Account, endpoint_id: int, now: datetime, app_url: str
) -> Delivery:
    """A ``test`` event to one endpoint, due now: the account's newest visit and its lead
    as data when it has one, so the receiver sees the real shapes."""
    event_id = str(uuid.uuid4())
    with db.write() as conn:
        endpoint = store.get_endpoint(conn, account.id, endpoint_id)
        if endpoint is None:
            raise NotFound(f"Alert endpoint {endpoint_id} was not found in this account.")
        data: dict[str, Any] = {"lead": None, "visit": None}
        newest = visits_store.list_visits(conn, account.id, date.min, date.max, 0, 1)
        if newest.items:
            visit = newest.items[0]
            lead = leads_store.get_lead(conn, account.id, visit.lead_id)
            if lead is not None:
                data = {"lead": lead_document(lead, app_url), "visit": visit_document(visit)}
        payload = event_body(event_id, TEST_EVENT_TYPE, now, account, data)
        store.add_test_event(
            conn,
            {
                "id": event_id,
                "account_id": account.id,
                "type": TEST_EVENT_TYPE,
                "payload": payload,
                "created_at": now,
            },
            delivery_rows(event_id, [endpoint.id], now),
        )
        return store.list_deliveries(conn, account.id, endpoint.id, 1)[0]
