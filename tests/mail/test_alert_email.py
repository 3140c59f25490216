"""The email channel of alerts: an event in the API's shapes becomes a mail with both parts,
whose links open the lead in the dashboard, and whose hostile values stay inert."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest

from openfeeder.app import build_services
from openfeeder.config import Settings
from openfeeder.domain.models import Account
from openfeeder.services.alerts.email import send_alert
from openfeeder.services.mailer import MailError
from openfeeder.store.db import Database
from tests.dashboard.conftest import give_password, sign_in
from tests.mail.conftest import (
    HOSTILE_NAME,
    HOSTILE_TITLE,
    StartSmtp,
    alert_event,
    hostile_visit,
    parts,
)
from tests.support.clients import MakeClient
from tests.support.factories import Builder, Member

STARTED = datetime(2026, 12, 3, 9, 14, tzinfo=UTC)
LINK = re.compile(r'href="([^"]+)"')


@pytest.fixture
def event(db: Database, builder: Builder, member: Member) -> tuple[Account, dict[str, Any]]:
    account = builder.account(member, timezone="Pacific/Auckland")
    visit = hostile_visit(builder, account, STARTED)
    return account, alert_event(db, account, visit)


def _sent(start_smtp: StartSmtp, settings: Settings, payload: dict[str, Any]) -> EmailMessage:
    server = start_smtp("none")
    send_alert(server.settings(settings), {"to": ["sales@example.com"]}, payload)
    assert len(server.received) == 1
    return server.received[0].message


def test_a_new_company_alert_arrives_with_both_parts_and_a_working_link(
    start_smtp: StartSmtp,
    settings: Settings,
    event: tuple[Account, dict[str, Any]],
    make_client: MakeClient,
    db: Database,
    member: Member,
) -> None:
    account, payload = event
    server = start_smtp("starttls")
    client = make_client()
    public = str(client.base_url)
    mail_settings = server.settings(settings, public_url=public)
    send_alert(mail_settings, {"to": ["sales@example.com", "ceo@example.com"]}, payload)

    assert len(server.received) == 1
    got = server.received[0]
    assert got.rcpt_tos == ["sales@example.com", "ceo@example.com"]
    assert got.message["Subject"].startswith("New company in your feed: ")
    text, html = parts(got.message)
    lead_id = payload["data"]["lead"]["data"]["id"]
    lead_url = f"{public}/app/{account.id}/leads/{lead_id}"
    for part in (text, html):
        assert lead_url in part
        assert "Helsinki, Uusimaa, Finland" in part
        assert "Google" in part
        assert "organic" in part
        assert "Home" in part
    assert "Quality: " in text
    # The visit's time in the account's zone: 09:14 UTC is 22:14 in Auckland (NZDT).
    assert "3 Dec 2026, 22:14 (Pacific/Auckland)" in text

    give_password(db, member)
    assert sign_in(client, member.user.email).status_code == 303
    links = [href for href in LINK.findall(html) if href.startswith(public)]
    assert lead_url in links
    answer = client.get(lead_url.removeprefix(public))
    assert answer.status_code == 200
    assert "Acme &amp; Sons" in answer.text


def test_hostile_names_and_titles_are_escaped_in_html_and_inert_in_text(
    start_smtp: StartSmtp, settings: Settings, event: tuple[Account, dict[str, Any]]
) -> None:
    message = _sent(start_smtp, settings, event[1])
    text, html = parts(message)

    assert "<script" not in html
    assert "&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt; Acme &amp; Sons" in html
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;Pricing" in html
    assert "javascript:" not in html  # the company's website link is dropped, not linked
    # The text part is text/plain: markup there is only characters, and line breaks in a
    # name cannot start a line of their own (no fake "Bcc:" line, in the body or headers).
    assert message.get_body(("plain",)).get_content_type() == "text/plain"
    assert "New company in your feed: " + HOSTILE_NAME.replace("\r\n", " ") in text
    assert HOSTILE_TITLE in text
    assert not any(row.startswith("Bcc:") for row in text.splitlines())
    assert message["Bcc"] is None
    assert "\n" not in message["Subject"]


def test_the_html_lists_pages_with_their_links_and_time(
    start_smtp: StartSmtp, settings: Settings, event: tuple[Account, dict[str, Any]]
) -> None:
    _, html = parts(_sent(start_smtp, settings, event[1]))
    assert '<a href="https://www.example.com/pricing"' in html
    assert "75 s" in html


@pytest.mark.parametrize(
    ("config", "says"),
    [
        ({}, "needs a list of addresses"),
        ({"to": []}, "needs a list of addresses"),
        ({"to": [42]}, "needs a list of addresses"),
        ({"to": ["not-an-address"]}, "is not an email address"),
    ],
)
def test_a_bad_endpoint_config_is_a_clear_error(
    settings: Settings,
    event: tuple[Account, dict[str, Any]],
    config: dict[str, Any],
    says: str,
) -> None:
    with pytest.raises(MailError, match=says):
        send_alert(settings, config, event[1])


def test_a_refused_delivery_raises_for_the_retry(
    settings: Settings, event: tuple[Account, dict[str, Any]]
) -> None:
    unreachable = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": 9, "smtp_from": "a@example.com"}
    )
    with pytest.raises(MailError, match=r"Could not send mail through 127\.0\.0\.1:9"):
        send_alert(unreachable, {"to": ["sales@example.com"]}, event[1])


def test_bare_resources_beside_each_other_work_too(
    start_smtp: StartSmtp, settings: Settings, event: tuple[Account, dict[str, Any]]
) -> None:
    account, payload = event
    data = payload["data"]
    lead = data["lead"]["data"]
    bare = payload | {
        "data": {
            "account": {"id": str(account.id), "name": "Bare", "timezone": "UTC"},
            "lead": lead,
            "location": data["lead"]["included"][0],
            "visit": data["visit"]["data"],
        }
    }
    text, _ = parts(_sent(start_smtp, settings, bare))
    assert "Location: Helsinki, Uusimaa, Finland" in text
    assert "3 Dec 2026, 09:14 (UTC)" in text
    assert f"/app/{account.id}/leads/{lead['id']}" in text


def test_the_services_container_serves_as_well_as_the_settings(
    start_smtp: StartSmtp, settings: Settings, event: tuple[Account, dict[str, Any]]
) -> None:
    server = start_smtp("none")
    services = build_services(server.settings(settings, run_jobs_in_process=False))
    try:
        send_alert(services, {"to": "sales@example.com"}, event[1])
    finally:
        services.queue.close()
        services.db.dispose()
    assert [got.rcpt_tos for got in server.received] == [["sales@example.com"]]


def test_a_test_event_without_a_lead_still_makes_a_sensible_mail(
    start_smtp: StartSmtp, settings: Settings, event: tuple[Account, dict[str, Any]]
) -> None:
    _, payload = event
    empty = payload | {
        "type": "test",
        "data": {"account": payload["data"]["account"], "lead": None, "visit": None},
    }
    message = _sent(start_smtp, settings, empty)
    assert message["Subject"] == "Test alert: A company"
    text, html = parts(message)
    assert "This event carries no lead (the account has no visits yet)." in text
    assert "Open the dashboard" in html
    assert "Pages seen" not in text
