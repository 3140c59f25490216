"""The invitation email the dashboard's invitations send, through a real SMTP server."""

from __future__ import annotations

from pathlib import Path

from openfeeder.config import Settings
from openfeeder.services.mail_messages import send_invitation
from openfeeder.services.mailer import SmtpMailer
from tests.mail.conftest import StartSmtp, parts

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
