"""The email channel of alerts: one event (a lead and the visit that fired a rule, in the
shapes the API serves) as an email with a plain-text and an HTML part, sent to the
endpoint's recipients (``{"to": [addresses]}``).

The event was built by us, but what it carries came from visitors and company records:
every value is bounded and escaped (``services.mail_messages``), and only http(s) links
survive.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from openfeeder.config import Settings
from openfeeder.services.container import Services
from openfeeder.services.mail_messages import line, link, render
from openfeeder.services.mailer import Mail, Mailer, MailError, make_mailer, valid_address
from openfeeder.services.urls import lead_page_url, public_base_url

__all__ = ["account_zone", "alert_mail", "local_time", "send_alert"]

MAX_PAGES = 20  # pages of the visit listed; the rest are counted

HEADLINES = {
    "lead.new_company": "New company in your feed",
    "lead.returning": "A company is back",
    "lead.page_visit": "A company visited a page you watch",
    "lead.quality": "A lead reached your quality threshold",
    "test": "Test alert",
}


def send_alert(
    settings_or_services: Settings | Services,
    endpoint_config: Mapping[str, Any],
    event: Mapping[str, Any],
    *,
    mailer: Mailer | None = None,
) -> None:
    """Email the event to the endpoint's recipients; raises ``MailError`` when the mail was
    not accepted (the delivery is tried again) or the configuration is unusable."""
    settings = (
        settings_or_services.settings
        if isinstance(settings_or_services, Services)
        else settings_or_services
    )
    mail = alert_mail(settings, recipients(endpoint_config), event)
    (mailer or make_mailer(settings)).send(mail)


def recipients(endpoint_config: Mapping[str, Any]) -> list[str]:
    to = endpoint_config.get("to")
    if isinstance(to, str):
        to = [to]
    if not isinstance(to, list) or not to or not all(isinstance(a, str) for a in to):
        raise MailError("An email endpoint needs a list of addresses in 'to'.", parameter="to")
    return [valid_address(address) for address in to]


def alert_mail(settings: Settings, to: list[str], event: Mapping[str, Any]) -> Mail:
    data = _mapping(event.get("data"))
    lead, lead_included = _resource(data.get("lead"))
    visit, _ = _resource(data.get("visit"))
    attributes = _mapping(lead.get("attributes"))
    account = _mapping(data.get("account"))
    account_attributes = _mapping(account.get("attributes")) or account
    zone = account_zone(account_attributes.get("timezone"))
    kind = str(event.get("type", ""))
    headline = HEADLINES.get(kind, "Lead alert")
    name = line(attributes.get("name")) or "A company"
    values = {
        "headline": headline,
        "account": line(account_attributes.get("name")) or "openfeeder",
        "lead": {
            "name": name,
            "quality": _quality(attributes.get("quality")),
            "location": _place(_location(data, lead, lead_included)),
            "website": link(attributes.get("website_url")),
            "url": _lead_url(settings, account, lead, attributes),
            "known": bool(lead),  # a test event of an account without visits has none
        },
        "visit": _visit(_mapping(visit.get("attributes")), zone),
    }
    text, html = render("alert", **values)
    return Mail(to=to, subject=f"{headline}: {name}", text=text, html=html)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _resource(value: object) -> tuple[Mapping[str, Any], list[Any]]:
    """A resource and the resources included with it, from a JSON:API document
    (``{"data": resource, "included": [...]}``, as the API serves a lead) or a bare resource."""
    item = _mapping(value)
    inner = item.get("data")
    if isinstance(inner, Mapping):
        included = item.get("included")
        return inner, included if isinstance(included, list) else []
    return item, []


def account_zone(name: object) -> ZoneInfo:
    """The account's timezone; UTC for a name that is none (an event from elsewhere)."""
    try:
        return ZoneInfo(name) if isinstance(name, str) and name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _quality(value: object) -> int | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10
    return value if ok else None  # type: ignore[return-value]


def _location(
    data: Mapping[str, Any], lead: Mapping[str, Any], included: list[Any]
) -> Mapping[str, Any]:
    """The lead's location: the one its relationship names among the resources included with
    it (as the API's lead document carries it), or a ``location`` beside the lead."""
    wanted = _mapping(_mapping(_mapping(lead.get("relationships")).get("location")).get("data"))
    for resource in included:
        item = _mapping(resource)
        if item.get("type") == "locations" and item.get("id") == wanted.get("id"):
            return _mapping(item.get("attributes"))
    beside = _mapping(data.get("location"))
    return _mapping(beside.get("attributes")) or beside


def _place(location: Mapping[str, Any]) -> str:
    parts = [location.get(key) for key in ("city", "region", "country")]
    return line(", ".join(str(part) for part in parts if isinstance(part, str) and part))


def _lead_url(
    settings: Settings,
    account: Mapping[str, Any],
    lead: Mapping[str, Any],
    attributes: Mapping[str, Any],
) -> str:
    base = public_base_url(settings, None)
    account_id, lead_id = account.get("id"), lead.get("id")
    if isinstance(account_id, str | int) and isinstance(lead_id, str) and lead_id:
        return lead_page_url(base, account_id, lead_id)
    return link(attributes.get("view_in_leadfeeder")) or f"{base}/app"


def _visit(attributes: Mapping[str, Any], zone: ZoneInfo) -> dict[str, Any] | None:
    if not attributes:
        return None
    route = attributes.get("visit_route")
    steps = [_mapping(step) for step in route] if isinstance(route, list) else []
    pages = [
        {
            "title": line(step.get("page_title")) or line(step.get("page_path")) or "(untitled)",
            "url": link(step.get("page_url")),
            "seconds": seconds if isinstance(seconds := step.get("time_on_page"), int) else 0,
        }
        for step in steps[:MAX_PAGES]
    ]
    return {
        "started": _when(attributes.get("started_at"), zone),
        "source": line(attributes.get("source"), 100),
        "medium": line(attributes.get("medium"), 100),
        "pages": pages,
        "more_pages": max(0, len(steps) - MAX_PAGES),
    }


def _when(value: object, zone: ZoneInfo) -> str:
    """``3 Dec 2026, 22:14 (Pacific/Auckland)`` from the API's UTC timestamp."""
    if not isinstance(value, str):
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return line(value, 40)
    if moment.tzinfo is None:
        return line(value, 40)
    return local_time(moment, zone)


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    """``3 Dec 2026, 22:14 (Pacific/Auckland)``: an aware moment in an account's timezone."""
    local = moment.astimezone(zone)
    return f"{local.day} {local:%b %Y, %H:%M} ({zone.key})"
