"""A forgotten password: the sign-in page's link, the form that asks for the email (one answer
for every address), the mail through a real SMTP server (aiosmtpd on 127.0.0.1) and the link
it carries, which sets a new password once, within the hour, unless something newer revoked
it; the limits, the form token, bad input, and a server without mail."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import unescape

import httpx
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from openfeeder.config import Settings
from openfeeder.domain.clock import FixedClock
from openfeeder.domain.models import Account
from openfeeder.ratelimit import MemoryCounter, RateLimiter
from openfeeder.services import resets, signin
from openfeeder.store import schema as t
from openfeeder.store.db import Database
from tests.dashboard.conftest import PASSWORD, csrf_of, give_password, hidden_fields, sign_in
from tests.mail.conftest import SmtpServer, StartSmtp, parts
from tests.support.clients import MakeClient, build_app
from tests.support.factories import Builder, Member
from tests.support.servers import free_port

NEW_PASSWORD = "a fresh long password"
LINK = re.compile(r"http://testserver(/app/reset/[A-Za-z0-9_-]+)")
START = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@dataclass
class Harness:
    """The application with mail going to a real SMTP server, on a test clock and a rate
    limiter whose minute the test sets."""

    settings: Settings
    server: SmtpServer
    stack: ExitStack
    clock: FixedClock = field(default_factory=lambda: FixedClock(START))
    seconds: list[float] = field(default_factory=lambda: [START.timestamp()])

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(MemoryCounter(), clock=lambda: self.seconds[0])

    def client(self) -> TestClient:
        app = build_app(self.settings, limiter=self.limiter, clock=self.clock)
        return self.stack.enter_context(TestClient(app))

    def advance(self, by: timedelta) -> None:
        self.clock.advance(by)
        self.seconds[0] += by.total_seconds()

    def links(self) -> list[str]:
        """The path of the reset link in each mail received, in order."""
        found = []
        for got in self.server.received:
            text, _ = parts(got.message)
            match = LINK.search(text)
            assert match is not None, text
            found.append(match.group(1))
        return found


@pytest.fixture
def harness(start_smtp: StartSmtp, settings: Settings) -> Iterator[Harness]:
    server = start_smtp("none")
    configured = server.settings(settings.model_copy(update={"run_jobs_in_process": False}))
    with ExitStack() as stack:
        yield Harness(configured, server, stack)


def ask(client: TestClient, email: str, **extra: str) -> httpx.Response:
    """Fills in and sends the "forgot your password" form as a browser would."""
    fields = hidden_fields(client.get("/app/reset").text)
    return client.post("/app/reset", data={**fields, "email": email, **extra})


def choose(
    client: TestClient, path: str, password: str = NEW_PASSWORD, repeat: str | None = None
) -> httpx.Response:
    """Opens a reset link and sends its form."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    return client.post(
        path,
        data={**hidden_fields(page.text), "password": password, "repeat": repeat or password},
        follow_redirects=False,
    )


def _hash(db: Database, member: Member) -> str | None:
    with db.read() as conn:
        query = sa.select(t.users.c.password_hash).where(t.users.c.id == member.user.id)
        return conn.execute(query).scalar_one()


def _resets(db: Database) -> list[sa.Row[tuple[object, ...]]]:
    with db.read() as conn:
        return list(conn.execute(sa.select(t.password_resets)).all())


def _said(answer: httpx.Response) -> str:
    """The page's words, without its per-request form token."""
    return re.sub(r'name="csrf" value="[^"]*"', "", unescape(answer.text))


def test_a_mailed_link_sets_a_new_password_once_and_signs_everyone_out(
    harness: Harness, db: Database, member: Member, account: Account
) -> None:
    give_password(db, member)
    elsewhere = harness.client()
    assert sign_in(elsewhere, member.user.email).status_code == 303
    client = harness.client()
    login = client.get("/app/login")
    assert 'href="/app/reset"' in login.text

    answer = ask(client, member.user.email.upper())  # emails are case-insensitive
    assert answer.status_code == 200
    assert 'id="reset-sent"' in answer.text
    (got,) = harness.server.received
    assert got.rcpt_tos == [member.user.email]
    assert got.message["Subject"] == "Reset your openfeeder password"
    text, html = parts(got.message)
    (path,) = harness.links()
    assert f"http://testserver{path}\n" in text
    assert f'href="http://testserver{path}"' in html
    assert f"{resets.RESET_MINUTES} minutes" in text
    # Only the token's SHA-256 is kept.
    token = path.rsplit("/", 1)[1]
    (row,) = _resets(db)
    assert token not in str(tuple(row))

    page = client.get(path)
    assert page.status_code == 200
    assert member.user.email in page.text
    done = choose(client, path)
    assert done.status_code == 303
    assert done.headers["location"] == "/app/login?reset=done"
    assert "Your new password is set" in client.get(done.headers["location"]).text

    assert sign_in(harness.client(), member.user.email, PASSWORD).status_code == 401
    assert sign_in(harness.client(), member.user.email, NEW_PASSWORD).status_code == 303
    # The session signed in before the reset has ended.
    leads = elsewhere.get(f"/app/{account.id}/leads", follow_redirects=False)
    assert leads.status_code == 303
    assert leads.headers["location"].startswith("/app/login")

    again = client.get(path)
    assert again.status_code == 410
    assert "used already" in again.text
    before = _hash(db, member)
    fields = hidden_fields(client.get("/app/reset").text)  # a valid form token
    reuse = client.post(path, data={**fields, "password": "x" * 20, "repeat": "x" * 20})
    assert reuse.status_code == 410
    assert _hash(db, member) == before


def test_an_expired_link_is_refused(harness: Harness, db: Database, member: Member) -> None:
    give_password(db, member)
    client = harness.client()
    ask(client, member.user.email)
    (path,) = harness.links()
    harness.advance(timedelta(minutes=resets.RESET_MINUTES - 1))
    assert client.get(path).status_code == 200
    fields = hidden_fields(client.get(path).text)
    harness.advance(timedelta(minutes=1))
    answer = client.get(path)
    assert answer.status_code == 410
    assert "expired" in answer.text
    before = _hash(db, member)
    late = client.post(path, data={**fields, "password": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert late.status_code == 410
    assert _hash(db, member) == before
    assert sign_in(harness.client(), member.user.email, PASSWORD).status_code == 303


def test_an_unknown_address_gets_the_same_page_and_no_mail(
    harness: Harness, db: Database, member: Member, builder: Builder
) -> None:
    give_password(db, member)
    tokens_only = builder.user()  # no password: API tokens only
    client = harness.client()
    known = ask(client, member.user.email)
    assert len(harness.server.received) == 1
    for email in ("nobody@example.com", tokens_only.user.email):
        unknown = ask(client, email)
        assert unknown.status_code == known.status_code == 200
        assert _said(unknown).replace(email, "ADDRESS") == _said(known).replace(
            member.user.email, "ADDRESS"
        )
    assert len(harness.server.received) == 1
    assert len(_resets(db)) == 1


def test_a_newer_request_or_a_changed_password_revokes_the_link(
    harness: Harness, db: Database, member: Member
) -> None:
    give_password(db, member)
    client = harness.client()
    ask(client, member.user.email)
    ask(client, member.user.email)
    first, second = harness.links()
    replaced = client.get(first)
    assert replaced.status_code == 410
    assert "no longer works" in replaced.text
    assert client.get(second).status_code == 200

    # The operator sets the password (openfeeder users set-password): the link stops.
    signin.set_password(db, member.user.email, "the operator's password")
    assert client.get(second).status_code == 410

    # So does a change on the person's own page.
    harness.advance(timedelta(hours=1))  # past the hourly cap of mails
    signed = harness.client()
    assert sign_in(signed, member.user.email, "the operator's password").status_code == 303
    ask(client, member.user.email)
    third = harness.links()[-1]
    assert client.get(third).status_code == 200
    changed = signed.post(
        "/app/me/password",
        data={
            "csrf": csrf_of(signed, "/app/me"),
            "current": "the operator's password",
            "password": NEW_PASSWORD,
            "repeat": NEW_PASSWORD,
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert client.get(third).status_code == 410


def test_both_forms_need_their_form_token(harness: Harness, db: Database, member: Member) -> None:
    give_password(db, member)
    client = harness.client()
    hidden_fields(client.get("/app/reset").text)  # the form token's cookie is set
    for sent in ({}, {"csrf": "forged"}):
        refused = client.post("/app/reset", data={**sent, "email": member.user.email})
        assert refused.status_code == 403
    assert harness.server.received == []
    assert _resets(db) == []

    ask(client, member.user.email)
    (path,) = harness.links()
    before = _hash(db, member)
    form = {"password": NEW_PASSWORD, "repeat": NEW_PASSWORD}
    for sent in ({}, {"csrf": "forged"}):
        assert client.post(path, data={**sent, **form}).status_code == 403
    # A token from another browser's page does not match this browser's cookie.
    other = harness.client()
    foreign = hidden_fields(other.get(path).text)
    client.get(path)
    assert client.post(path, data={**foreign, **form}).status_code == 403
    assert _hash(db, member) == before
    assert client.get(path).status_code == 200  # the link still works


def test_bad_input_is_a_form_error(harness: Harness, db: Database, member: Member) -> None:
    give_password(db, member)
    client = harness.client()
    for email, says in (
        ("", "Enter the email address you sign in with."),
        ("not an email", "is not an email address"),
    ):
        answer = ask(client, email)
        assert answer.status_code == 400
        assert says in unescape(answer.text)
        assert 'name="email"' in answer.text  # the form again
    assert harness.server.received == []

    ask(client, member.user.email)
    (path,) = harness.links()
    before = _hash(db, member)
    for password, repeat, says in (
        (NEW_PASSWORD, NEW_PASSWORD + "!", "The two passwords differ."),
        ("short", "short", f"at least {signin.MIN_PASSWORD} characters"),
        ("x" * (signin.MAX_PASSWORD + 1),) * 2 + (f"at most {signin.MAX_PASSWORD}",),
    ):
        answer = choose(client, path, password, repeat)
        assert answer.status_code == 400
        assert says in unescape(answer.text)
        assert 'name="repeat"' in answer.text
    assert _hash(db, member) == before
    assert choose(client, path).status_code == 303  # bad input used nothing up

    for bad in ("/app/reset/nonsense", "/app/reset/" + "x" * 500):
        answer = client.get(bad)
        assert answer.status_code == 404
        assert "not valid" in answer.text


def test_requests_are_limited_per_address_per_client_and_per_hour(
    harness: Harness, db: Database, member: Member
) -> None:
    give_password(db, member)
    client = harness.client()
    statuses = [
        ask(client, member.user.email).status_code
        for _ in range(resets.REQUEST_PER_EMAIL.per_minute + 1)
    ]
    assert statuses == [200] * resets.REQUEST_PER_EMAIL.per_minute + [429]
    limited = ask(client, member.user.email)
    assert limited.status_code == 429
    assert "Retry-After" in limited.headers
    assert len(harness.server.received) == resets.MAILS_PER_HOUR

    # A new minute: the request is answered as always, but the hour's mails are sent.
    harness.advance(timedelta(minutes=1))
    assert 'id="reset-sent"' in ask(client, member.user.email).text
    assert len(harness.server.received) == resets.MAILS_PER_HOUR
    harness.advance(timedelta(hours=1))
    ask(client, member.user.email)
    assert len(harness.server.received) == resets.MAILS_PER_HOUR + 1

    # Per client address, whatever the addresses asked for.
    harness.advance(timedelta(minutes=1))
    answers = [
        ask(client, f"someone{n}@example.com").status_code
        for n in range(resets.REQUEST_PER_IP.per_minute + 1)
    ]
    assert answers[-1] == 429
    assert set(answers[:-1]) == {200}


def test_a_mail_that_cannot_be_sent_changes_nothing_on_the_page(
    make_client: MakeClient, db: Database, member: Member, caplog: pytest.LogCaptureFixture
) -> None:
    give_password(db, member)
    client = make_client(
        smtp_host="127.0.0.1",
        smtp_port=free_port(),  # nothing listens there
        smtp_security="none",
        smtp_from="openfeeder <a@openfeeder.test>",
        smtp_timeout=2.0,
    )
    with caplog.at_level(logging.WARNING, logger="openfeeder.services.resets"):
        answer = ask(client, member.user.email)
    assert answer.status_code == 200
    assert 'id="reset-sent"' in answer.text
    assert "The password reset mail could not be sent" in caplog.text
    assert member.user.email not in caplog.text


def test_without_mail_the_page_points_to_the_command_line(
    make_client: MakeClient, db: Database, member: Member
) -> None:
    give_password(db, member)
    client = make_client()  # no OPENFEEDER_SMTP_HOST
    page = client.get("/app/reset")
    assert page.status_code == 200
    assert 'id="reset-not-set-up"' in page.text
    assert "openfeeder users set-password" in page.text
    # No form on the page; what a form posted from an older page would send.
    form_token = client.cookies["openfeeder_login_csrf"]
    answer = client.post("/app/reset", data={"csrf": form_token, "email": member.user.email})
    assert answer.status_code == 503
    assert "openfeeder users set-password" in answer.text
    assert _resets(db) == []
