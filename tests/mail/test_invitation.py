"""The invitation email the dashboard's invitations send, through a real SMTP server."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

from starlette.testclient import TestClient

from openfeeder.config import Settings
from openfeeder.domain.models import Account
from openfeeder.services.mail_messages import send_invitation
from openfeeder.services.mailer import SmtpMailer
from openfeeder.store.db import Database
from tests.dashboard.conftest import csrf_of, give_password, sign_in
from tests.mail.conftest import StartSmtp, parts
from tests.support.clients import MakeClient
from tests.support.factories import Member
from tests.support.servers import free_port

LINK = "https://leads.example.com/app/invitations/abc123"


def test_an_invitation_arrives_with_both_parts_and_the_link(
    start_smtp: StartSmtp, tmp_path: Path
) -> None:
    server = start_smtp("tls")
    mailer = SmtpMailer(server.settings(Settings(data_dir=tmp_path)))
    send_invitation(mailer, "new@example.com", "Example <Oy>", "Anna\nLindqvist", LINK)
    (got,) = server.received
    assert got.rcpt_tos == ["new@example.com"]
    assert got.message["Subject"] == "Anna Lindqvist invited you to Example <Oy> on openfeeder"
    text, html = parts(got.message)
    assert f"Accept the invitation here:\n{LINK}\n" in text
    assert "Anna Lindqvist invited you to the account Example <Oy>" in text
    assert f'href="{LINK}"' in html
    assert "Example &lt;Oy&gt;" in html
    assert "<Oy>" not in html


def test_an_invitation_link_that_is_not_http_is_not_linked(
    start_smtp: StartSmtp, tmp_path: Path
) -> None:
    server = start_smtp("none")
    mailer = SmtpMailer(server.settings(Settings(data_dir=tmp_path)))
    send_invitation(mailer, "new@example.com", "Example", "Anna", "javascript:alert(1)")
    _, html = parts(server.received[0].message)
    assert "javascript:" not in html


def _invite_on_the_page(client: TestClient, account: Account, email: str) -> tuple[str, str]:
    """Invites through the members page: the link it shows once and what it says of email."""
    path = f"/app/{account.id}/settings/members"
    answer = client.post(
        path, data={"csrf": csrf_of(client, path), "email": email, "role": "member"}
    )
    assert answer.status_code == 200, answer.text
    link = re.search(r'<pre id="invite-link" class="snippet">([^<]+)</pre>', answer.text)
    said = re.search(r'<p id="invite-emailed">([^<]+)</p>', answer.text)
    assert link is not None
    assert said is not None
    return unescape(link.group(1)), unescape(said.group(1))


def test_an_invitation_from_the_members_page_is_emailed_with_the_link_it_shows(
    start_smtp: StartSmtp, make_client: MakeClient, db: Database, account: Account, member: Member
) -> None:
    server = start_smtp("starttls")
    give_password(db, member)
    base = Settings(data_dir=Path("unused"))
    smtp = server.settings(base)
    changes = {
        name: getattr(smtp, name) for name in Settings.model_fields if name.startswith("smtp_")
    }
    client = make_client(**changes)
    assert sign_in(client, member.user.email).status_code == 303

    link, said = _invite_on_the_page(client, account, "colleague@example.com")
    assert said == "The invitation was emailed to colleague@example.com."
    (got,) = server.received
    assert got.rcpt_tos == ["colleague@example.com"]
    text, html = parts(got.message)
    assert link in text
    assert f'href="{link}"' in html
    assert account.name in text
    # The emailed link is the one that works.
    assert make_client().get(link.removeprefix("http://testserver")).status_code == 200


def test_without_smtp_or_with_a_refusing_server_the_page_says_to_send_the_link(
    make_client: MakeClient, db: Database, account: Account, member: Member
) -> None:
    give_password(db, member)
    client = make_client()
    assert sign_in(client, member.user.email).status_code == 303
    _, said = _invite_on_the_page(client, account, "one@example.com")
    assert "Email is not set up" in said

    nothing_there = make_client(
        smtp_host="127.0.0.1",
        smtp_port=free_port(),
        smtp_security="none",
        smtp_from="openfeeder <a@openfeeder.test>",
        smtp_timeout=2.0,
    )
    assert sign_in(nothing_there, member.user.email).status_code == 303
    link, said = _invite_on_the_page(nothing_there, account, "two@example.com")
    assert said.startswith("The email to two@example.com could not be sent (")
    assert said.endswith("send the link yourself.")
    assert link.startswith("http://testserver/app/invite/")  # the invitation stands
