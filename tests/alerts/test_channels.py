"""Chat messages: the Slack payload checked against Block Kit's structure (block and element
types, text object limits, at most 50 blocks, mrkdwn escaping of visitor-controlled text) and
the Teams MessageCard, both made from a real event of the pipeline and posted to a real
receiver."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any

from openfeeder.domain.clock import FixedClock
from openfeeder.services import alerts
from openfeeder.services.alerts.channels import slack_escape, slack_message, teams_message
from tests.alerts.conftest import Receiver
from tests.alerts.test_events import process, visit
from tests.support.pipeline import T0, World

# Block Kit: the blocks and elements used, with the limits its reference gives.
TEXT_LIMITS = {"header": 150, "section": 3000, "button": 75, "field": 2000}


def check_text(text: dict[str, Any], limit: int, kinds: tuple[str, ...]) -> None:
    assert set(text) <= {"type", "text", "emoji", "verbatim"}
    assert text["type"] in kinds
    assert isinstance(text["text"], str)
    assert 0 < len(text["text"]) <= limit
    if text["type"] == "mrkdwn":
        unescaped = text["text"]
        for link in _links(unescaped):
            unescaped = unescaped.replace(link, "")
        assert "<" not in unescaped
        assert ">" not in unescaped


def _links(text: str) -> list[str]:
    """The ``<url|label>`` links mrkdwn allows (the only unescaped angle brackets)."""
    out, start = [], text.find("<")
    while start != -1:
        end = text.index(">", start)
        out.append(text[start : end + 1])
        start = text.find("<", end)
    return out


def check_block_kit(message: dict[str, Any]) -> None:
    assert isinstance(message["text"], str)
    assert len(message["text"]) <= 3000
    blocks = message["blocks"]
    assert 0 < len(blocks) <= 50
    for block in blocks:
        match block["type"]:
            case "header":
                assert set(block) == {"type", "text"}
                check_text(block["text"], TEXT_LIMITS["header"], ("plain_text",))
            case "section":
                assert set(block) <= {"type", "text", "fields", "accessory", "block_id"}
                assert "text" in block or "fields" in block
                if "text" in block:
                    check_text(block["text"], TEXT_LIMITS["section"], ("mrkdwn", "plain_text"))
                for item in block.get("fields", []):
                    check_text(item, TEXT_LIMITS["field"], ("mrkdwn", "plain_text"))
                assert len(block.get("fields", [])) <= 10
                if "accessory" in block:
                    image = block["accessory"]
                    assert image["type"] == "image"
                    assert image["image_url"].startswith("https://")
                    assert 0 < len(image["alt_text"]) <= 2000
            case "actions":
                assert 0 < len(block["elements"]) <= 25
                for element in block["elements"]:
                    assert element["type"] == "button"
                    check_text(element["text"], TEXT_LIMITS["button"], ("plain_text",))
                    assert len(element["url"]) <= 3000
            case other:
                raise AssertionError(f"unexpected block type {other}")


def hostile_event(pages: int = 3) -> dict[str, Any]:
    """An event as the pipeline makes them, with a company name and pages that try markup."""
    route = [
        {"page_path": f"/p/{i}?q=<b>&x=1", "page_url": f"https://e.example/p/{i}"}
        for i in range(pages)
    ]
    return {
        "id": "evt",
        "type": "lead.new_company",
        "timestamp": "2026-03-02T09:00:00.000000Z",
        "data": {
            "account": {"id": "1", "type": "accounts", "attributes": {"name": "A"}},
            "lead": {
                "data": {
                    "id": "lead1",
                    "type": "leads",
                    "attributes": {
                        "name": "Smith & <Jones> Ltd " + "x" * 4000,
                        "logo_url": "https://logo.example/a.png",
                        "industry": "Software",
                        "view_in_leadfeeder": "https://of.example/app/1/leads/lead1",
                    },
                },
                "included": [
                    {
                        "id": "l",
                        "type": "locations",
                        "attributes": {"city": "Espoo <script>", "country": "Finland"},
                    }
                ],
            },
            "visit": {
                "data": {
                    "attributes": {"source": "google", "medium": "organic", "visit_route": route}
                }
            },
        },
    }


def test_slack_escapes_mrkdwn_and_keeps_within_block_kit_limits() -> None:
    message = slack_message(hostile_event(pages=400))
    check_block_kit(message)
    company = message["blocks"][1]["text"]["text"]
    assert "Smith &amp; &lt;Jones&gt; Ltd" in company
    assert company.startswith("*<https://of.example/app/1/leads/lead1|Smith &amp;")
    assert "Espoo &lt;script&gt;" in company
    pages = message["blocks"][3]["text"]["text"]
    assert "/p/0?q=&lt;b&gt;&amp;x=1" in pages
    assert "and 390 more" in pages
    assert message["blocks"][-1]["elements"][0]["url"].endswith("/leads/lead1")
    assert message["blocks"][1]["accessory"]["image_url"] == "https://logo.example/a.png"


def test_slack_escape() -> None:
    assert slack_escape("a & b <c> d") == "a &amp; b &lt;c&gt; d"


def test_teams_card_carries_the_company_and_the_link() -> None:
    card = teams_message(hostile_event())
    assert card["@type"] == "MessageCard"
    (section,) = card["sections"]
    assert section["markdown"] is False
    assert section["activityTitle"].startswith("Smith & <Jones> Ltd")
    assert len(section["activityTitle"]) <= 300
    assert card["potentialAction"][0]["targets"][0]["uri"].endswith("/leads/lead1")


def test_slack_and_teams_endpoints_get_their_messages(world: World, receiver: Receiver) -> None:
    clock = FixedClock(datetime.now(UTC))
    slack = alerts.create_endpoint(
        world.db, world.account, "slack", receiver.url + "/s", clock.now()
    )
    teams = alerts.create_endpoint(
        world.db, world.account, "teams", receiver.url + "/t", clock.now()
    )
    assert slack.secret is None
    alerts.create_rule(
        world.db,
        world.account,
        clock.now(),
        feed_id="all_leads",
        trigger="new_company",
        endpoint_ids=[slack.endpoint.id, teams.endpoint.id],
    )
    visit(world, T0, "/", "/pricing")
    process(world, clock)
    alerts.Deliverer(world.settings, world.db, clock=clock, rng=random.Random(1)).run_once()
    by_path = {r.path: json.loads(r.body) for r in receiver.requests}
    check_block_kit(by_path["/hook/s"])
    assert world.acme.name.replace("&", "&amp;") in by_path["/hook/s"]["blocks"][1]["text"]["text"]
    assert "• /pricing" in by_path["/hook/s"]["blocks"][3]["text"]["text"]
    assert by_path["/hook/t"]["sections"][0]["activityTitle"] == world.acme.name
