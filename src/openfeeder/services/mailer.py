"""Outgoing email: a ``Mail`` (recipients, subject, a plain-text and an HTML body) composed
into a multipart/alternative message with the stdlib ``email`` package and handed to the
SMTP server of the settings (``OPENFEEDER_SMTP_*``) with the stdlib ``smtplib``.

Sending is synchronous on purpose: every sender (an alert job, the digest upkeep, a dashboard
handler in the thread pool, a CLI command) already runs in a thread of its own, so an async
client would only add an event loop to each. Every failure is one ``MailError`` naming the
server and what went wrong; the caller decides whether to try again.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import ClassVar, Protocol

from openfeeder.config import Settings
from openfeeder.domain.errors import OpenfeederError

__all__ = [
    "Mail",
    "MailError",
    "Mailer",
    "SmtpMailer",
    "compose",
    "header_text",
    "make_mailer",
]

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}
MAX_SUBJECT = 200
MAX_RECIPIENTS = 50


@dataclass
class MailError(OpenfeederError):
    """The mail could not be handed to the SMTP server (or email is not set up)."""

    status: ClassVar[int] = 502
    title: ClassVar[str] = "Bad Gateway"


@dataclass(frozen=True)
class Mail:
    to: Sequence[str]
    subject: str
    text: str
    html: str
    headers: Mapping[str, str] = field(default_factory=dict)  # e.g. List-Unsubscribe


class Mailer(Protocol):
    def send(self, mail: Mail) -> None:
        """Hand ``mail`` to the server; raises ``MailError`` when it was not accepted."""
        ...


def header_text(value: object, limit: int = MAX_SUBJECT) -> str:
    """``value`` fit for a header: control characters (a visitor's line breaks) become
    spaces, runs of space one, and it is cut at ``limit`` characters."""
    text = "".join(" " if ord(ch) < 0x20 or ord(ch) == 0x7F else ch for ch in str(value))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def valid_address(value: str) -> str:
    """A bare address (``someone@example.com``); anything else is a ``MailError``."""
    address = value.strip()
    name, parsed = parseaddr(address)
    if (
        not parsed
        or parsed != address
        or name
        or address.count("@") != 1
        or not all(address.split("@"))
        or len(address) > 320
        or any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in address)
    ):
        raise MailError(f"{value[:80]!r} is not an email address.", parameter="to")
    return address


def compose(sender: str, mail: Mail) -> EmailMessage:
    """The message: text/plain first, then text/html (the richest part last, RFC 2046)."""
    if not mail.to:
        raise MailError("A mail needs at least one recipient.", parameter="to")
    if len(mail.to) > MAX_RECIPIENTS:
        raise MailError(f"A mail goes to at most {MAX_RECIPIENTS} recipients.", parameter="to")
    recipients = [valid_address(address) for address in mail.to]
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = header_text(mail.subject)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to alerts
    for name, value in mail.headers.items():
        message[name] = header_text(value, 2000)
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


class SmtpMailer:
    """Sends through the settings' SMTP server, one connection per mail."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @property
    def server(self) -> str:
        s = self._settings
        return f"{s.smtp_host}:{s.smtp_port or DEFAULT_PORTS[s.smtp_security]}"

    def send(self, mail: Mail) -> None:
        settings = self._settings
        if not settings.smtp_host:
            raise MailError("Email is not set up: set OPENFEEDER_SMTP_HOST (docs/email.md).")
        if not settings.smtp_from:
            raise MailError("Email is not set up: set OPENFEEDER_SMTP_FROM (docs/email.md).")
        message = compose(settings.smtp_from, mail)
        try:
            with self._connect() as smtp:
                refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            raise MailError(
                f"{self.server} refused every recipient: {_refusals(error.recipients)}"
            ) from None
        except smtplib.SMTPAuthenticationError as error:
            raise MailError(
                f"{self.server} refused the user name or password: {_reply(error)}"
            ) from None
        except smtplib.SMTPNotSupportedError as error:
            raise MailError(f"{self.server} does not support {error}.") from None
        except smtplib.SMTPResponseException as error:
            raise MailError(f"{self.server} refused the mail: {_reply(error)}") from None
        except ssl.SSLError as error:
            raise MailError(f"TLS with {self.server} failed: {error.reason or error}") from None
        except (smtplib.SMTPException, OSError) as error:
            what = "timed out" if isinstance(error, TimeoutError) else str(error) or "failed"
            raise MailError(
                f"Could not send mail through {self.server}: {error.__class__.__name__}: {what}"
            ) from None
        if refused:
            # Some recipients took it; sending again would repeat it to them.
            log.warning("%s refused some recipients: %s", self.server, _refusals(refused))

    def _connect(self) -> smtplib.SMTP:
        s = self._settings
        host, port, timeout = s.smtp_host or "", s.smtp_port, s.smtp_timeout
        port = port or DEFAULT_PORTS[s.smtp_security]
        # The EHLO name: the machine's own name, without the DNS lookup getfqdn would make.
        local = socket.gethostname() or "localhost"
        smtp: smtplib.SMTP
        if s.smtp_security == "tls":
            smtp = smtplib.SMTP_SSL(
                host, port, local_hostname=local, timeout=timeout, context=self._tls()
            )
        else:
            smtp = smtplib.SMTP(host, port, local_hostname=local, timeout=timeout)
        try:
            if s.smtp_security == "starttls":
                smtp.ehlo()
                if not smtp.has_extn("starttls"):
                    raise smtplib.SMTPNotSupportedError("STARTTLS")
                smtp.starttls(context=self._tls())
                smtp.ehlo()
            if s.smtp_user:
                password = s.smtp_password.get_secret_value() if s.smtp_password else ""
                smtp.login(s.smtp_user, password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _tls(self) -> ssl.SSLContext:
        ca_file = self._settings.smtp_ca_file
        try:
            return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        except (OSError, ssl.SSLError) as error:
            raise MailError(f"OPENFEEDER_SMTP_CA_FILE cannot be read: {error}") from None


def _reply(error: smtplib.SMTPResponseException) -> str:
    reply = error.smtp_error
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply or "")
    return header_text(f"{error.smtp_code} {text}", 300)


def _refusals(refused: Mapping[str, tuple[int, bytes]]) -> str:
    return "; ".join(
        header_text(f"{address} ({code} {reply.decode('utf-8', 'replace')})", 200)
        for address, (code, reply) in list(refused.items())[:5]
    )


def make_mailer(settings: Settings) -> Mailer:
    """The mailer the settings describe (whether email is set up is checked on send)."""
    return SmtpMailer(settings)
