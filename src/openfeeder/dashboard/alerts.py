"""The dashboard's alerts pages (admins only): an account's alert endpoints (a webhook's
signing secret shown once, on creation and on rotation), its alert rules, and the delivery
log with each delivery's attempts and a replay. Every change goes through
``services.alerts``; this module parses forms and renders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.responses import Response

from openfeeder.dashboard.people import _admin_account, _back, _number
from openfeeder.dashboard.web import WebContext
from openfeeder.domain.alerts import MAX_TEMPLATE, ChannelKind, Endpoint, Rule, Trigger
from openfeeder.domain.errors import BadRequest
from openfeeder.domain.ids import whole_number
from openfeeder.domain.models import Account
from openfeeder.services import alerts, feeds
from openfeeder.services.urls import public_base_url

PAGE_SIZE = 50  # deliveries per page of the log
ENDPOINT, RULE = "alert endpoint", "alert rule"  # in "There is no such …"
EXCERPT = 4000  # characters of a logged request or response body shown

KINDS = (
    (ChannelKind.WEBHOOK, "Webhook (signed JSON)"),
    (ChannelKind.SLACK, "Slack incoming webhook"),
    (ChannelKind.TEAMS, "Microsoft Teams incoming webhook"),
    (ChannelKind.EMAIL, "Email"),
)
TRIGGERS = (
    (Trigger.NEW_COMPANY, "New company in the feed"),
    (Trigger.RETURNING, "Company returns after days away"),
    (Trigger.PAGE_VISIT, "Visit to a page matching a pattern"),
    (Trigger.QUALITY, "Lead quality reaches"),
)
COOLDOWNS = (
    (0, "None"),
    (3600, "1 hour"),
    (6 * 3600, "6 hours"),
    (86_400, "1 day"),
    (7 * 86_400, "7 days"),
    (30 * 86_400, "30 days"),
)
# The form field (and rule parameter) each trigger takes.
PARAMETERS = {Trigger.RETURNING: "days", Trigger.PAGE_VISIT: "pattern", Trigger.QUALITY: "quality"}
NOTICES = {
    "tested": "A test event is on its way; its delivery is at the top of the log.",
    "replayed": "The delivery is due again now, with its retries afresh.",
}


@dataclass(frozen=True)
class Shown:
    """A secret shown this once, and the endpoint it signs for."""

    endpoint: Endpoint
    secret: str
    rotated: bool


def default_name(kind: str, url: str) -> str:
    """An unnamed endpoint's name: the service names it by its URL, but a Slack or Teams
    URL is a credential, so those are named by their kind and host."""
    if kind in (ChannelKind.SLACK, ChannelKind.TEAMS):
        try:
            host = urlsplit(url.strip()).hostname or ""
        except ValueError:
            host = ""
        return f"{kind.capitalize()} ({host})" if host else kind.capitalize()
    return ""


def cooldown_label(seconds: int) -> str:
    for value, label in COOLDOWNS:
        if value == seconds:
            return label
    if seconds % 86_400 == 0:
        return f"{seconds // 86_400} days"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} hours"
    return f"{seconds} seconds"


def trigger_label(rule: Rule) -> str:
    label = dict(TRIGGERS)[rule.trigger]
    match rule.trigger:
        case Trigger.RETURNING:
            return f"{label}: {rule.params.get('days')}"
        case Trigger.PAGE_VISIT:
            return f"{label}: {rule.params.get('pattern')}"
        case Trigger.QUALITY:
            return f"{label} {rule.params.get('quality')}"
    return label


def alerts_page(
    ctx: WebContext,
    account_id: str,
    status: int = 200,
    error: str | None = None,
    shown: Shown | None = None,
) -> Response:
    account = _admin_account(ctx, account_id)
    db = ctx.services.db
    endpoints = alerts.list_endpoints(db, account)
    feed_list = feeds.list_feeds(db, account, ctx.user)
    feed_names = {feed.id: feed.name for feed in feed_list}
    names = {e.id: e.name for e in endpoints}
    rules = [
        {
            "rule": rule,
            "feed": feed_names.get(rule.feed_id, rule.feed_id),
            "trigger": trigger_label(rule),
            "cooldown": cooldown_label(rule.cooldown_seconds),
            "endpoints": [names.get(i, f"#{i}") for i in rule.endpoint_ids],
        }
        for rule in alerts.list_rules(db, account)
    ]
    # A failed form keeps what was typed (bounded); the other forms start empty.
    form = {k: v[:MAX_TEMPLATE] for k, v in ctx.form.items()} if error else {}
    return ctx.render(
        "settings_alerts.html",
        status,
        account=account,
        section="alerts",
        endpoints=[(e, e.shown_target) for e in endpoints],
        rules=rules,
        feeds=feed_list,
        kinds=KINDS,
        triggers=TRIGGERS,
        cooldowns=COOLDOWNS,
        shown=shown,
        error=error,
        form=form,
    )


def _change(ctx: WebContext, account_id: str, call: Callable[[Account], Shown | None]) -> Response:
    """Make a change from a form: a bad request is the page again with its message, a
    secret is shown on the page, anything else goes back to it."""
    account = _admin_account(ctx, account_id)
    try:
        shown = call(account)
    except BadRequest as error:
        return alerts_page(ctx, account_id, 400, error.detail)
    if shown is None:
        return _back(f"/app/{account.id}/settings/alerts")
    return alerts_page(ctx, account_id, shown=shown)


def create_endpoint(ctx: WebContext, account_id: str) -> Response:
    """A new endpoint; a webhook's signing secret is shown this once."""
    form = ctx.form

    def create(account: Account) -> Shown | None:
        created = alerts.create_endpoint(
            ctx.services.db,
            account,
            form.get("kind", ""),
            form.get("url", ""),
            ctx.services.clock.now(),
            name=form.get("name", "").strip()
            or default_name(form.get("kind", ""), form.get("url", "")),
            template=form.get("template", "").strip() or None,
        )
        return Shown(created.endpoint, created.secret, False) if created.secret else None

    return _change(ctx, account_id, create)


def rotate_secret(ctx: WebContext, account_id: str, endpoint_id: str) -> Response:
    """A new signing secret, shown once; the previous one stays valid beside it."""
    number = _number(endpoint_id, ENDPOINT)

    def rotate(account: Account) -> Shown:
        secret = alerts.rotate_secret(ctx.services.db, account, number)
        return Shown(alerts.get_endpoint(ctx.services.db, account, number), secret, True)

    return _change(ctx, account_id, rotate)


def _act(
    ctx: WebContext, account_id: str, raw_id: str, what: str, call: Callable[[Account, int], object]
) -> Response:
    """One button's change to an endpoint or rule of the account, then back to the page."""
    account = _admin_account(ctx, account_id)
    call(account, _number(raw_id, what))
    return _back(f"/app/{account.id}/settings/alerts")


def enable_endpoint(ctx: WebContext, account_id: str, endpoint_id: str) -> Response:
    db = ctx.services.db
    return _act(
        ctx,
        account_id,
        endpoint_id,
        ENDPOINT,
        lambda a, n: alerts.set_endpoint_enabled(db, a, n, True),
    )


def disable_endpoint(ctx: WebContext, account_id: str, endpoint_id: str) -> Response:
    db = ctx.services.db
    return _act(
        ctx,
        account_id,
        endpoint_id,
        ENDPOINT,
        lambda a, n: alerts.set_endpoint_enabled(db, a, n, False),
    )


def delete_endpoint(ctx: WebContext, account_id: str, endpoint_id: str) -> Response:
    db = ctx.services.db
    return _act(
        ctx, account_id, endpoint_id, ENDPOINT, lambda a, n: alerts.delete_endpoint(db, a, n)
    )


def send_test_event(ctx: WebContext, account_id: str, endpoint_id: str) -> Response:
    account = _admin_account(ctx, account_id)
    services = ctx.services
    alerts.send_test_event(
        services.db,
        account,
        _number(endpoint_id, ENDPOINT),
        services.clock.now(),
        public_base_url(services.settings, str(ctx.request.base_url)),
    )
    return _back(f"/app/{account.id}/settings/alerts/deliveries?done=tested")


def _chosen_endpoints(form: dict[str, str]) -> list[int]:
    """The endpoints ticked in the rule form (``endpoint_<id>`` checkboxes)."""
    chosen = []
    for key in form:
        if key.startswith("endpoint_"):
            number = whole_number(key.removeprefix("endpoint_"), 9)
            if number is None:
                raise BadRequest("An endpoint of the form is not one of this account's.")
            chosen.append(number)
    if not chosen:
        raise BadRequest("Choose at least one endpoint for the rule to send to.")
    return chosen


def create_rule(ctx: WebContext, account_id: str) -> Response:
    form = ctx.form

    def create(account: Account) -> None:
        trigger = form.get("trigger", "")
        parameter = PARAMETERS.get(Trigger(trigger)) if trigger in set(Trigger) else None
        feed_id = form.get("feed", "")
        alerts.create_rule(
            ctx.services.db,
            account,
            ctx.services.clock.now(),
            feed_id=feed_id,
            trigger=trigger,
            params={parameter: form.get(parameter, "").strip()} if parameter else {},
            endpoint_ids=_chosen_endpoints(form),
            name=form.get("name", ""),
            cooldown_seconds=form.get("cooldown", ""),
            user_id=ctx.user.id if feed_id == "followed_companies" else None,
        )

    return _change(ctx, account_id, create)


def enable_rule(ctx: WebContext, account_id: str, alert_rule_id: str) -> Response:
    db = ctx.services.db
    return _act(
        ctx, account_id, alert_rule_id, RULE, lambda a, n: alerts.set_rule_enabled(db, a, n, True)
    )


def disable_rule(ctx: WebContext, account_id: str, alert_rule_id: str) -> Response:
    db = ctx.services.db
    return _act(
        ctx, account_id, alert_rule_id, RULE, lambda a, n: alerts.set_rule_enabled(db, a, n, False)
    )


def delete_rule(ctx: WebContext, account_id: str, alert_rule_id: str) -> Response:
    db = ctx.services.db
    return _act(ctx, account_id, alert_rule_id, RULE, lambda a, n: alerts.delete_rule(db, a, n))


# ── the delivery log ──


def _query_number(ctx: WebContext, name: str, what: str) -> int | None:
    raw = ctx.query.get(name, "")
    number = whole_number(raw, 18) if raw else None
    if raw and number is None:
        raise BadRequest(f"{name} is the id of {what}: a whole number.", parameter=name)
    return number


def deliveries_page(ctx: WebContext, account_id: str) -> Response:
    """The log, newest first, a page at a time (``before``: the last delivery id seen),
    of every endpoint or of one (``endpoint``)."""
    account = _admin_account(ctx, account_id)
    db = ctx.services.db
    before = _query_number(ctx, "before", "a delivery")
    endpoint_id = _query_number(ctx, "endpoint", "an endpoint")
    only = alerts.get_endpoint(db, account, endpoint_id) if endpoint_id is not None else None
    page = alerts.list_deliveries(db, account, endpoint_id, limit=PAGE_SIZE + 1, before=before)
    names = {e.id: e.name for e in alerts.list_endpoints(db, account)}
    return ctx.render(
        "settings_alerts_deliveries.html",
        account=account,
        section="alerts",
        deliveries=[(d, names.get(d.endpoint_id, f"#{d.endpoint_id}")) for d in page[:PAGE_SIZE]],
        older=page[PAGE_SIZE - 1].id if len(page) > PAGE_SIZE else None,
        paged=before is not None,
        only=only,
        notice=NOTICES.get(ctx.query.get("done", "")),
    )


def delivery_page(ctx: WebContext, account_id: str, delivery_id: str) -> Response:
    account = _admin_account(ctx, account_id)
    db = ctx.services.db
    delivery, attempts = alerts.delivery_log(db, account, _number(delivery_id, "delivery"))
    endpoint = alerts.get_endpoint(db, account, delivery.endpoint_id)
    return ctx.render(
        "settings_alerts_delivery.html",
        account=account,
        section="alerts",
        delivery=delivery,
        endpoint=endpoint,
        attempts=[
            {
                "attempt": a,
                "body": a.request_body[:EXCERPT],
                "cut": len(a.request_body) > EXCERPT,
                "response": (a.response_excerpt or "")[:EXCERPT],
            }
            for a in reversed(attempts)
        ],
        notice=NOTICES.get(ctx.query.get("done", "")),
    )


def replay_delivery(ctx: WebContext, account_id: str, delivery_id: str) -> Response:
    account = _admin_account(ctx, account_id)
    number = _number(delivery_id, "delivery")
    alerts.replay_delivery(ctx.services.db, account, number, ctx.services.clock.now())
    return _back(f"/app/{account.id}/settings/alerts/deliveries/{number}?done=replayed")
