"""A real SMTP server on 127.0.0.1 (aiosmtpd, in a thread): plain, with STARTTLS or with TLS
from the first byte, with or without authentication, its certificate from a throwaway CA
(trustme). ``start_smtp(...)`` starts one for a test and stops it at the test's end; each
mail it accepted is in ``server.received``, parsed."""

from __future__ import annotations

import email
import email.policy
import ssl
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from pydantic import SecretStr

from openfeeder.api import resources
from openfeeder.config import Settings
from openfeeder.domain import ids
from openfeeder.domain.feeds import builtin_feeds
from openfeeder.domain.models import Account, Company, NewVisit
from openfeeder.services import leads, visits
from openfeeder.services.accounts import AccountView
from openfeeder.services.visits import record_visits, route_step
from openfeeder.store.companies import upsert_companies
from openfeeder.store.db import Database
from tests.support.factories import HELSINKI, Builder
from tests.support.servers import free_port

USER, PASSWORD = "mailer", "s3cret-pass"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class SmtpServer:
    port: int
    security: str
    ca_file: Path
    # Appended by the server's thread before it answers the DATA command, so a mail is here
    # by the time the sender's call returns.
    received: list[Received] = field(default_factory=list)

    def settings(self, base: Settings, **changes: Any) -> Settings:
        """``base`` pointed at this server (user and password when it asks for them)."""
        values: dict[str, Any] = {
            "smtp_host": "127.0.0.1",
            "smtp_port": self.port,
            "smtp_security": self.security,
            "smtp_from": "openfeeder <alerts@openfeeder.test>",
            "smtp_ca_file": self.ca_file,
            "smtp_timeout": 5.0,
        }
        if isinstance(password := changes.get("smtp_password"), str):
            changes["smtp_password"] = SecretStr(password)  # model_copy does not validate
        return base.model_copy(update=values | changes)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def parts(message: EmailMessage) -> tuple[str, str]:
    """The text/plain and text/html bodies of a multipart/alternative message (with the
    wire's CRLF line ends as newlines)."""
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    return (
        str(text.get_content()).replace("\r\n", "\n"),
        str(html.get_content()).replace("\r\n", "\n"),
    )


@pytest.fixture(scope="session")
def certificate_authority() -> trustme.CA:
    return trustme.CA()


def _authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


class _Controller(Controller):
    def factory(self) -> SMTP:
        # With TLS from the first byte aiosmtpd cannot tell the connection is encrypted (it
        # knows only STARTTLS), so AUTH must be allowed "without TLS", which it warns about.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
            return SMTP(self.handler, **self.SMTP_kwargs)


StartSmtp = Callable[..., SmtpServer]


@pytest.fixture
def start_smtp(certificate_authority: trustme.CA, tmp_path: Path) -> Iterator[StartSmtp]:
    """``start_smtp(security="none", auth=False, starttls=True)``: a running server.
    ``starttls=False`` with security none is a server that does not offer STARTTLS."""
    controllers: list[Controller] = []
    ca_file = tmp_path / "smtp-ca.pem"
    certificate_authority.cert_pem.write_to_path(str(ca_file))
    certificate = certificate_authority.issue_cert("127.0.0.1", "localhost")

    def start(security: str = "none", *, auth: bool = False, starttls: bool = True) -> SmtpServer:
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        certificate.configure_cert(server_tls)
        server = SmtpServer(free_port(), security, ca_file)
        options: dict[str, Any] = {
            "hostname": "127.0.0.1",
            "port": server.port,
            "ready_timeout": 10.0,
        }
        if auth:
            options |= {"authenticator": _authenticator, "auth_required": True}
        if security == "tls":
            options["ssl_context"] = server_tls
            options["auth_require_tls"] = False  # the whole connection is TLS already
        elif security == "starttls" or starttls:
            options |= {"tls_context": server_tls, "require_starttls": security == "starttls"}
        controller = _Controller(server, **options)
        controller.start()
        controllers.append(controller)
        return server

    yield start
    for controller in controllers:
        controller.stop()


# ── leads with hostile data, and alert events in the API's shapes ──

HOSTILE_NAME = '<script>alert("name")</script> Acme & Sons\r\nBcc: x@evil.test'
HOSTILE_TITLE = "<script>alert('title')</script>Pricing"


def hostile_visit(
    builder: Builder, account: Account, started_at: datetime, name: str = HOSTILE_NAME
) -> NewVisit:
    """A visit of a company whose name and page title carry markup and line breaks."""
    company = Company(
        id=ids.new_company_id(), name=name, website_url="javascript:alert(1)", industries=[]
    )
    with builder.db.write() as conn:
        upsert_companies(conn, [company])
    visit = NewVisit(
        id=ids.new_visit_id(),
        account_id=account.id,
        company_id=company.id,
        location=HELSINKI,
        started_at=started_at,
        route=[
            route_step("https://www.example.com/", "Home", 20),
            route_step("https://www.example.com/pricing", HOSTILE_TITLE, 75),
        ],
        source="Google",
        medium="organic",
    )
    record_visits(builder.db, [visit])
    return visit


def _plain(value: object) -> Any:
    return msgspec.json.decode(msgspec.json.encode(value))


def alert_event(
    db: Database, account: Account, visit: NewVisit, kind: str = "lead.new_company"
) -> dict[str, Any]:
    """The event the alerts engine hands a channel: the account, and the lead (with its
    interval quality) and the visit each as the API's document of it, location included."""
    day = visit.started_at.astimezone(ZoneInfo(account.timezone)).date()
    found = leads.list_leads(db, account, builtin_feeds(0, "")[0], day, day, 1, 10).items
    lead = next(item for item in found if item.company.id == visit.company_id)
    stored = visits.list_visits(db, account, day, day, 1, 10, lead_pk=lead.pk).items[0]
    location = _plain(resources.location(lead.location))
    return {
        "id": "evt_test_1",
        "type": kind,
        "timestamp": "2026-12-03T09:00:00Z",
        "data": {
            "account": _plain(resources.account(AccountView(account, "ok"))),
            "lead": {
                "data": _plain(resources.lead(lead, "http://ignored.example")),
                "included": [location],
            },
            "visit": {"data": _plain(resources.visit(stored)), "included": [location]},
        },
    }
