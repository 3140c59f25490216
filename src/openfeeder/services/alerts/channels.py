"""What each channel kind sends for an event: a webhook's signed JSON (or the endpoint's
Mustache body template over the same fields), a Slack Block Kit message, a Microsoft Teams
MessageCard. ``HTTP_CHANNELS`` is the one dispatch table of kinds delivered by one POST;
``OTHER_CHANNELS`` holds the kinds with a sender of their own (``email``: the mailer's
``services.alerts.email.send_alert``). A kind in neither table cannot be chosen for an
endpoint."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import chevron
import orjson

from openfeeder.domain.alerts import TEST_EVENT_TYPE, ChannelKind, Endpoint
from openfeeder.domain.errors import BadRequest
from openfeeder.services.alerts import email
from openfeeder.services.alerts.signing import signed_headers

# Slack's limits (Block Kit reference): text objects of sections at most 3000 characters, a
# header's plain text 150, a button's 75, a message 50 blocks.
SLACK_TEXT = 3000
SLACK_HEADER = 150
SLACK_BUTTON = 75
SLACK_BLOCKS = 50
PAGES_SHOWN = 10

TITLES = {
    "lead.new_company": "New company",
    "lead.returning": "Returning company",
    "lead.page_visit": "Page visited",
    "lead.quality": "Lead quality reached",
    TEST_EVENT_TYPE: "Test event",
}


@dataclass(frozen=True)
class Outgoing:
    body: bytes
    headers: dict[str, str]


def webhook_request(endpoint: Endpoint, event: dict[str, Any], timestamp: int) -> Outgoing:
    template = endpoint.config.get("template")
    if template:
        body = render_template(str(template), event).encode()
        kind = str(endpoint.config.get("content_type") or "application/json")
    else:
        body, kind = orjson.dumps(event), "application/json"
    headers = signed_headers(endpoint.secrets, str(event["id"]), timestamp, body)
    return Outgoing(body, headers | {"Content-Type": kind})


def check_template(template: str) -> str:
    """A body template as given: bounded, no partials (they would read files), renders."""
    if len(template) > 20_000:
        raise BadRequest("A body template has at most 20000 characters.", parameter="template")
    if "{{>" in template.replace(" ", ""):
        raise BadRequest("Body templates cannot include partials.", parameter="template")
    try:
        render_template(template, {})
    except Exception as error:  # chevron raises its own and plain errors on bad syntax
        raise BadRequest(
            f"The body template does not parse: {error}", parameter="template"
        ) from None
    return template


def render_template(template: str, event: dict[str, Any]) -> str:
    # No partials path: a {{> name}} tag can never open a file.
    return str(chevron.render(template, event, partials_path=None, partials_dict={}))


def slack_escape(text: str) -> str:
    """Slack mrkdwn's three control characters, as its formatting guide asks."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True)
class Summary:
    """The facts both chat messages show, from the event body."""

    title: str
    company: str
    url: str | None
    logo: str | None
    location: str
    industry: str | None
    source: str
    pages: list[str]


def summarise(event: dict[str, Any]) -> Summary:
    data = event.get("data") or {}
    lead = ((data.get("lead") or {}).get("data") or {}).get("attributes") or {}
    places = [
        item.get("attributes") or {}
        for item in (data.get("lead") or {}).get("included") or []
        if item.get("type") == "locations"
    ]
    visit = ((data.get("visit") or {}).get("data") or {}).get("attributes") or {}
    place = places[0] if places else {}
    location = ", ".join(str(p) for p in (place.get("city"), place.get("country")) if p)
    source = " / ".join(str(p) for p in (visit.get("source"), visit.get("medium")) if p)
    pages = [str(step.get("page_path") or "") for step in visit.get("visit_route") or []]
    url = lead.get("view_in_leadfeeder")
    logo = lead.get("logo_url")
    return Summary(
        title=TITLES.get(str(event.get("type")), str(event.get("type"))),
        company=str(lead.get("name") or "Unknown company"),
        url=str(url) if url else None,
        logo=str(logo) if isinstance(logo, str) and logo.startswith("https://") else None,
        location=location or "Unknown location",
        industry=str(lead["industry"]) if lead.get("industry") else None,
        source=source or "(direct)",
        pages=pages,
    )


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_message(event: dict[str, Any]) -> dict[str, Any]:
    """A Block Kit message: header, company (linked to its lead page) with its logo,
    location and source, the pages seen, and a button to the lead page."""
    s = summarise(event)
    # Each part is cut before it is escaped (escaping at most quintuples it), so the whole
    # stays within a section's 3000 characters and a link is never cut in half.
    name = slack_escape(_cut(s.company, 200))
    linked = f"*<{s.url}|{name}>*" if s.url and len(s.url) <= 1000 else f"*{name}*"
    lines = [linked, slack_escape(_cut(s.location, 200))]
    if s.industry:
        lines.append(slack_escape(_cut(s.industry, 100)))
    company: dict[str, Any] = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": _cut("\n".join(lines), SLACK_TEXT)},
    }
    if s.logo and len(s.logo) <= SLACK_TEXT:
        company["accessory"] = {
            "type": "image",
            "image_url": s.logo,
            "alt_text": _cut(s.company, 2000),
        }
    shown = [f"• {slack_escape(page)}" for page in s.pages[:PAGES_SHOWN]]
    if len(s.pages) > PAGES_SHOWN:
        shown.append(f"… and {len(s.pages) - PAGES_SHOWN} more")
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _cut(f"{s.title}: {s.company}", SLACK_HEADER)},
        },
        company,
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": _cut(f"*Source*\n{slack_escape(s.source)}", 2000)},
                {"type": "mrkdwn", "text": f"*Pages*\n{len(s.pages)}"},
            ],
        },
    ]
    if shown:
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": _cut("*Pages seen*\n" + "\n".join(shown), SLACK_TEXT),
                },
            }
        )
    if s.url and len(s.url) <= SLACK_TEXT:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open lead"},
                        "url": s.url,
                    }
                ],
            }
        )
    fallback = _cut(
        f"{s.title}: {slack_escape(s.company)} ({slack_escape(s.location)})", SLACK_TEXT
    )
    return {"text": fallback, "blocks": blocks[:SLACK_BLOCKS]}


def teams_message(event: dict[str, Any]) -> dict[str, Any]:
    """A MessageCard (the format Teams' incoming webhooks take), markdown off: visitor data
    is shown as text."""
    s = summarise(event)
    pages = ", ".join(s.pages[:PAGES_SHOWN]) + (" …" if len(s.pages) > PAGES_SHOWN else "")
    section: dict[str, Any] = {
        "activityTitle": _cut(s.company, 300),
        "activitySubtitle": _cut(s.location, 300),
        "facts": [
            {"name": "Source", "value": _cut(s.source, 300)},
            {"name": "Pages", "value": _cut(pages or "-", 2000)},
        ],
        "markdown": False,
    }
    if s.logo:
        section["activityImage"] = s.logo
    card: dict[str, Any] = {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": _cut(f"{s.title}: {s.company}", 300),
        "title": _cut(f"{s.title}: {s.company}", 300),
        "sections": [section],
    }
    if s.url:
        card["potentialAction"] = [
            {"@type": "OpenUri", "name": "Open lead", "targets": [{"os": "default", "uri": s.url}]}
        ]
    return card


def _json_request(
    message: Callable[[dict[str, Any]], dict[str, Any]],
) -> Callable[[Endpoint, dict[str, Any], int], Outgoing]:
    def request(endpoint: Endpoint, event: dict[str, Any], timestamp: int) -> Outgoing:
        return Outgoing(orjson.dumps(message(event)), {"Content-Type": "application/json"})

    return request


HTTP_CHANNELS: dict[ChannelKind, Callable[[Endpoint, dict[str, Any], int], Outgoing]] = {
    ChannelKind.WEBHOOK: webhook_request,
    ChannelKind.SLACK: _json_request(slack_message),
    ChannelKind.TEAMS: _json_request(teams_message),
}

# Kinds delivered by a sender of their own: ``send(settings, endpoint_config, event)`` raises
# on failure.
OTHER_CHANNELS: dict[ChannelKind, Callable[[Any, dict[str, Any], dict[str, Any]], None]] = {
    ChannelKind.EMAIL: email.send_alert,
}


def available(kind: ChannelKind) -> bool:
    return kind in HTTP_CHANNELS or kind in OTHER_CHANNELS
