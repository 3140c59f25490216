"""REST hooks for automation platforms: ``POST /hooks`` subscribes a target URL to one event
type of an account (a webhook endpoint owned by the subscribing user, and one rule on the
feed sending to it); ``DELETE /hooks/{id}`` removes both. A hook's id is its endpoint's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from openfeeder.domain.alerts import EVENT_TYPES, HOOK_EVENTS, Endpoint, Rule, Trigger
from openfeeder.domain.errors import BadRequest, NotFound
from openfeeder.domain.ids import whole_number
from openfeeder.domain.models import Account, User
from openfeeder.services import access
from openfeeder.services.alerts import manage
from openfeeder.services.alerts.http import check_url
from openfeeder.store import alerts as store
from openfeeder.store.db import Database

# What a hook's trigger needs when the subscriber does not say (platforms send only the URL
# and the event): back after a week, quality 5.
DEFAULT_PARAMS: dict[Trigger, dict[str, object]] = {
    Trigger.NEW_COMPANY: {},
    Trigger.RETURNING: {"days": 7},
    Trigger.PAGE_VISIT: {},
    Trigger.QUALITY: {"quality": 5},
}


@dataclass(frozen=True)
class Hook:
    endpoint: Endpoint
    rule: Rule
    secret: str | None = None  # only when just made

    @property
    def event(self) -> str:
        return EVENT_TYPES[self.rule.trigger]


def subscribe(
    db: Database,
    account: Account,
    user: User,
    now: datetime,
    *,
    target_url: str,
    event: str,
    feed_id: str = "all_leads",
    options: dict[str, str] | None = None,
) -> Hook:
    trigger = HOOK_EVENTS.get(event)
    if trigger is None:
        raise BadRequest(f"event must be one of: {', '.join(HOOK_EVENTS)}", parameter="event")
    check_url(target_url, "target_url")
    params = DEFAULT_PARAMS[trigger] | {k: v for k, v in (options or {}).items() if v}
    made = manage.create_endpoint(
        db, account, "webhook", target_url, now, name=f"REST hook {event}", hook_user_id=user.id
    )
    try:
        rule = manage.create_rule(
            db,
            account,
            now,
            feed_id=feed_id,
            trigger=trigger.value,
            params=params,
            endpoint_ids=[made.endpoint.id],
            name=f"REST hook {event}",
            cooldown_seconds=0,
            user_id=user.id,
        )
    except BadRequest:
        manage.delete_endpoint(db, account, made.endpoint.id)
        raise
    return Hook(made.endpoint, rule, made.secret)


def unsubscribe(db: Database, user: User, hook_id: str) -> Hook:
    """Remove a hook the user made in an account the user still belongs to."""
    number = whole_number(hook_id, 9)
    with db.read() as conn:
        found = store.hook_by_id(conn, number) if number is not None else None
    if found is None or found[1] != user.id:
        raise NotFound(f"Hook {hook_id} was not found.")
    account = access.account_for(db, user, str(found[0]))
    endpoint = manage.get_endpoint(db, account, int(hook_id))
    rules = [r for r in manage.list_rules(db, account) if r.endpoint_ids == (endpoint.id,)]
    with db.write() as conn:
        for rule in rules:
            store.delete_rule(conn, account.id, rule.id)
        store.delete_endpoint(conn, account.id, endpoint.id)
    if not rules:
        raise NotFound(f"Hook {hook_id} was not found.")
    return Hook(endpoint, rules[0])
