"""The mailer against a real SMTP server on 127.0.0.1: plain, STARTTLS and TLS, with and
without authentication, and each way it fails as one clear ``MailError``."""

from __future__ import annotations

from pathlib import Path

import pytest

from openfeeder.config import Settings
from openfeeder.services.mailer import Mail, MailError, SmtpMailer, compose, header_text
from tests.mail.conftest import PASSWORD, USER, StartSmtp, parts
from tests.support.servers import free_port

MAIL = Mail(
    to=["sales@example.com"],
    subject="Hello",
    text="Plain words.\n",
    html="<p>Rich <b>words</b>.</p>\n",
)


@pytest.fixture
def base(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", data_dir=tmp_path)


def _received_one(server_received: list, to: str = "sales@example.com") -> None:
    assert len(server_received) == 1
    got = server_received[0]
    assert got.rcpt_tos == [to]
    assert got.mail_from == "alerts@openfeeder.test"
    assert got.message["Subject"] == "Hello"
    assert got.message["From"] == "openfeeder <alerts@openfeeder.test>"
    text, html = parts(got.message)
    assert text == "Plain words.\n"
    assert html == "<p>Rich <b>words</b>.</p>\n"


@pytest.mark.parametrize("security", ["none", "starttls", "tls"])
def test_a_mail_arrives_with_both_parts(
    start_smtp: StartSmtp, base: Settings, security: str
) -> None:
    server = start_smtp(security)
    SmtpMailer(server.settings(base)).send(MAIL)
    _received_one(server.received)
    assert server.received[0].message["Auto-Submitted"] == "auto-generated"


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_authentication_after_tls(start_smtp: StartSmtp, base: Settings, security: str) -> None:
    server = start_smtp(security, auth=True)
    settings = server.settings(base, smtp_user=USER, smtp_password=PASSWORD)
    SmtpMailer(settings).send(MAIL)
    _received_one(server.received)


def test_a_wrong_password_is_a_clear_error(start_smtp: StartSmtp, base: Settings) -> None:
    server = start_smtp("starttls", auth=True)
    settings = server.settings(base, smtp_user=USER, smtp_password="wrong")
    with pytest.raises(MailError, match="refused the user name or password: 535"):
        SmtpMailer(settings).send(MAIL)
    assert server.received == []


def test_a_server_that_requires_auth_refuses_an_anonymous_mail(
    start_smtp: StartSmtp, base: Settings
) -> None:
    server = start_smtp("starttls", auth=True)
    with pytest.raises(MailError, match=r"refused the mail: 530"):
        SmtpMailer(server.settings(base)).send(MAIL)


def test_starttls_is_never_given_up_for_plain_text(start_smtp: StartSmtp, base: Settings) -> None:
    server = start_smtp("none", starttls=False)
    with pytest.raises(MailError, match="does not support STARTTLS"):
        SmtpMailer(server.settings(base, smtp_security="starttls")).send(MAIL)
    assert server.received == []


def test_an_untrusted_certificate_is_refused(
    start_smtp: StartSmtp, base: Settings, tmp_path: Path
) -> None:
    import trustme

    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    server = start_smtp("tls")
    with pytest.raises(MailError, match=r"TLS with 127\.0\.0\.1:\d+ failed: CERTIFICATE_VERIFY"):
        SmtpMailer(server.settings(base, smtp_ca_file=other_ca)).send(MAIL)
    assert server.received == []


def test_no_server_listening(base: Settings) -> None:
    port = free_port()
    settings = base.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_from": "a@example.com"}
    )
    with pytest.raises(MailError, match=rf"through 127\.0\.0\.1:{port}: ConnectionRefusedError"):
        SmtpMailer(settings).send(MAIL)


@pytest.mark.parametrize(
    ("changes", "missing"),
    [({}, "OPENFEEDER_SMTP_HOST"), ({"smtp_host": "127.0.0.1"}, "OPENFEEDER_SMTP_FROM")],
)
def test_unconfigured_email_says_what_to_set(
    base: Settings, changes: dict[str, str], missing: str
) -> None:
    with pytest.raises(MailError, match=f"Email is not set up: set {missing}"):
        SmtpMailer(base.model_copy(update=changes)).send(MAIL)


def test_default_ports_follow_security(base: Settings) -> None:
    ports = {
        security: SmtpMailer(
            base.model_copy(update={"smtp_host": "mx", "smtp_security": security})
        ).server
        for security in ("none", "starttls", "tls")
    }
    assert ports == {"none": "mx:25", "starttls": "mx:587", "tls": "mx:465"}


@pytest.mark.parametrize(
    "bad", ["not an address", "a@b@c", "x@", "Name <x@example.com>", "a b@c.d"]
)
def test_recipients_must_be_bare_addresses(bad: str) -> None:
    with pytest.raises(MailError, match="is not an email address"):
        compose("from@example.com", Mail([bad], "s", "t", "h"))


def test_a_hostile_subject_cannot_add_headers() -> None:
    subject = "Acme\r\nBcc: victim@example.com\nX-Evil: 1"
    message = compose("from@example.com", Mail(["to@example.com"], subject, "t", "h"))
    assert message["Bcc"] is None
    assert message["X-Evil"] is None
    assert message["Subject"] == "Acme Bcc: victim@example.com X-Evil: 1"
    assert len(header_text("x" * 500)) == 200


def test_the_from_setting_must_be_an_address(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is not an address"):
        Settings(smtp_from="nobody")
    assert Settings(smtp_from="openfeeder <a@example.com>").smtp_from
