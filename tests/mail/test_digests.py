"""Digests, driven by a test clock through the job queue's upkeep and received by a real SMTP
server: nothing before 09:00 in the account's timezone, the digest at 09:00 with both parts
and working links, once however many workers run, skipped when the feed is empty, and no
more after its unsubscribe link was used."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

from openfeeder.config import Settings
from openfeeder.domain.clock import FixedClock
from openfeeder.domain.models import Account
from openfeeder.jobs import make_queue
from openfeeder.jobs.queue import JobQueue
from openfeeder.services import digests, leads
from openfeeder.services.mailer import Mail, SmtpMailer
from openfeeder.store import accounts
from openfeeder.store import digests as digest_store
from openfeeder.store.db import Database
from tests.dashboard.conftest import give_password, hidden_fields, sign_in
from tests.mail.conftest import HOSTILE_NAME, SmtpServer, StartSmtp, hostile_visit, parts
from tests.support.clients import MakeClient
from tests.support.factories import Builder, Member

AUCKLAND = ZoneInfo("Pacific/Auckland")  # UTC+13 in December (daylight saving time)
LINK = re.compile(r'href="([^"]+)"')


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=AUCKLAND)


@pytest.fixture
def smtp(start_smtp: StartSmtp) -> SmtpServer:
    return start_smtp("none")


@pytest.fixture
def client(make_client: MakeClient, smtp: SmtpServer, settings: Settings) -> TestClient:
    return make_client()


@pytest.fixture
def mail_settings(smtp: SmtpServer, settings: Settings, client: TestClient) -> Settings:
    return smtp.settings(settings, public_url=str(client.base_url))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(local(1, 12))


@pytest.fixture
def queue(mail_settings: Settings, db: Database, clock: FixedClock) -> Iterator[JobQueue]:
    jobs = make_queue(mail_settings, db, clock=clock)
    yield jobs
    jobs.close()


@pytest.fixture
def auckland(builder: Builder, member: Member) -> Account:
    return builder.account(member, timezone="Pacific/Auckland")


def test_due_periods_in_the_accounts_timezone() -> None:
    before, at = local(3, 8, 59), local(3, 9)
    assert digests.due_period("daily", AUCKLAND, before).first == date(2026, 12, 1)
    daily = digests.due_period("daily", AUCKLAND, at)
    assert (daily.first, daily.last, daily.send_at) == (date(2026, 12, 2), date(2026, 12, 2), at)
    # 2026-12-07 is a Monday: the week before it, sent that Monday at 09:00.
    monday = local(7, 9)
    weekly = digests.due_period("weekly", AUCKLAND, monday)
    assert (weekly.first, weekly.last, weekly.send_at) == (
        date(2026, 11, 30),
        date(2026, 12, 6),
        monday,
    )
    assert digests.due_period("weekly", AUCKLAND, monday - timedelta(minutes=1)).first == date(
        2026, 11, 23
    )
    assert digests.due_period("weekly", AUCKLAND, local(12, 23)).first == date(2026, 11, 30)


@dataclass
class Scene:
    """An Auckland account with a member, a clock, the queue on it and a SMTP server."""

    db: Database
    builder: Builder
    member: Member
    account: Account
    smtp: SmtpServer
    queue: JobQueue
    clock: FixedClock
    client: TestClient
    settings: Settings

    def subscribe(self, feed: str = "all_leads", cadence: str = "daily") -> int:
        email, now = self.member.user.email, self.clock.now()
        return digests.subscribe(self.db, now, email, self.account.id, feed, cadence).id

    def visits_on(self, day: int, count: int = 1) -> None:
        """``count`` visits of new companies at noon on that day of December in Auckland."""
        for n in range(count):
            at = local(day, 12, n).astimezone(UTC)
            hostile_visit(self.builder, self.account, at, f"Company {day}-{n}")

    def at(self, moment: datetime) -> None:
        """The clock moves to ``moment`` and the queue's upkeep runs."""
        self.clock.set(moment)
        self.queue.upkeep()


@pytest.fixture
def scene(
    db: Database,
    builder: Builder,
    member: Member,
    auckland: Account,
    smtp: SmtpServer,
    queue: JobQueue,
    clock: FixedClock,
    client: TestClient,
    mail_settings: Settings,
) -> Scene:
    return Scene(db, builder, member, auckland, smtp, queue, clock, client, mail_settings)


def test_the_daily_digest_comes_at_nine_local_with_working_links_until_unsubscribed(
    scene: Scene,
) -> None:
    subscription_id = scene.subscribe()
    # A visit on 2 December in Auckland (01:00 UTC that day is 14:00 there).
    hostile_visit(scene.builder, scene.account, local(2, 14).astimezone(UTC))
    scene.visits_on(2, count=2)

    scene.at(local(3, 8, 59))
    assert scene.smtp.received == [], "nothing before 09:00 local"
    scene.at(local(3, 9))
    assert len(scene.smtp.received) == 1
    got = scene.smtp.received[0]
    assert got.rcpt_tos == [scene.member.user.email]
    assert got.message["Subject"] == "All leads: 3 companies, Wednesday 2 December 2026"
    text, html = parts(got.message)

    # The digest lists the feed's leads for the day, as the lead list does.
    day = date(2026, 12, 2)
    feed = digests.feeds.get_feed(scene.db, scene.account, scene.member.user, "all_leads")
    listed = leads.list_leads(scene.db, scene.account, feed, day, day, 1, 50).items
    assert len(listed) == 3
    base = str(scene.client.base_url)
    for lead in listed:
        url = f"{base}/app/{scene.account.id}/leads/{lead.id}"
        assert url in text
        assert f'href="{url}"' in html
        assert f"Quality {lead.quality}/10" in text
    assert "<script" not in html
    assert HOSTILE_NAME.replace("\r\n", " ") in text

    # Its links work: the lead page (signed in) and the unsubscribe page (not signed in).
    unsubscribe_url = got.message["List-Unsubscribe"].strip("<>")
    assert unsubscribe_url in text
    assert f'href="{unsubscribe_url}"' in html
    links = [href for href in LINK.findall(html) if href.startswith(base)]
    feed_link = next(href for href in links if "/leads?" in href)
    anonymous = scene.client.get(feed_link.removeprefix(base), follow_redirects=False)
    assert anonymous.status_code == 303  # the feed view wants a session
    give_password(scene.db, scene.member)
    signed = TestClient(scene.client.app)
    assert sign_in(signed, scene.member.user.email).status_code == 303
    for href in links:
        if "/unsubscribe/" not in href:
            assert signed.get(href.removeprefix(base)).status_code == 200, href
    assert "Acme &amp; Sons" in signed.get(feed_link.removeprefix(base)).text

    # A second run the same day sends nothing more.
    scene.at(local(3, 15))
    assert len(scene.smtp.received) == 1

    page = scene.client.get(unsubscribe_url.removeprefix(base))
    assert page.status_code == 200
    assert "Stop this digest?" in page.text
    answer = scene.client.post(unsubscribe_url.removeprefix(base), data=hidden_fields(page.text))
    assert answer.status_code == 200
    assert "Unsubscribed" in answer.text
    with scene.db.read() as conn:
        assert digest_store.get(conn, subscription_id) is None

    # The next day has leads again, but the digest is stopped.
    scene.visits_on(3)
    scene.at(local(4, 9, 1))
    assert len(scene.smtp.received) == 1
    gone = scene.client.get(unsubscribe_url.removeprefix(base))
    assert gone.status_code == 404


def test_one_click_unsubscribe_as_a_mail_client_sends_it(scene: Scene) -> None:
    """RFC 8058: the digest names its link in List-Unsubscribe and offers the one-click POST;
    a mail client POSTs ``List-Unsubscribe=One-Click`` to it with no cookie and no CSRF
    token, and that stops the digest. A GET (a link scanner) stops nothing."""
    subscription_id = scene.subscribe()
    scene.visits_on(2)
    scene.at(local(3, 9))
    (got,) = scene.smtp.received
    assert got.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header = got.message["List-Unsubscribe"]
    assert header.startswith("<")
    assert header.endswith(">")
    url = header.strip("<>")
    base = str(scene.client.base_url)
    assert url.startswith(f"{base}/app/unsubscribe/")
    path = url.removeprefix(base)

    mail_client = TestClient(scene.client.app)  # no session, no sign-in form cookie
    assert mail_client.get(path).status_code == 200
    with scene.db.read() as conn:
        assert digest_store.get(conn, subscription_id) is not None, "a GET stops nothing"
    answer = mail_client.post(
        path,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200
    assert mail_client.cookies.get("openfeeder_session") is None
    with scene.db.read() as conn:
        assert digest_store.get(conn, subscription_id) is None
    # The link is used up; a second POST (a client retrying) is a 404 page, not a 500.
    again = mail_client.post(path, content=b"List-Unsubscribe=One-Click")
    assert again.status_code == 404
    scene.visits_on(3)
    scene.at(local(4, 9, 1))
    assert len(scene.smtp.received) == 1, "no digest after unsubscribing"
    assert scene.client.get("/app/unsubscribe/not-a-token").status_code == 404
    assert scene.client.post("/app/unsubscribe/not-a-token").status_code == 404


def test_an_empty_feed_sends_no_digest(scene: Scene) -> None:
    subscription_id = scene.subscribe()
    scene.at(local(3, 9))
    assert scene.smtp.received == []
    with scene.db.read() as conn:
        (row,) = digest_store.sends(conn, subscription_id)
    assert (row["status"], row["leads"]) == ("skipped", 0)


def test_a_weekly_digest_comes_on_monday(scene: Scene) -> None:
    scene.subscribe(cadence="weekly")
    scene.visits_on(1)
    scene.visits_on(5)
    for day in range(2, 7):  # Wednesday to Sunday: nothing
        scene.at(local(day, 10))
    assert scene.smtp.received == []
    scene.at(local(7, 9))
    assert len(scene.smtp.received) == 1
    assert "30 Nov – 6 Dec 2026" in scene.smtp.received[0].message["Subject"]


def test_two_workers_at_nine_send_the_digest_once(scene: Scene) -> None:
    scene.subscribe()
    scene.visits_on(2)
    mailer, now = SmtpMailer(scene.settings), local(3, 9).astimezone(UTC)
    stores = [Database(scene.db.url) for _ in range(4)]  # a worker process each, as it were
    workers = [
        threading.Thread(target=digests.send_due, args=(store, mailer, scene.settings, now))
        for store in stores
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    for store in stores:
        store.dispose()
    assert len(scene.smtp.received) == 1


def test_a_failed_send_is_tried_again(scene: Scene) -> None:
    subscription_id = scene.subscribe()
    scene.visits_on(2)
    now = local(3, 9).astimezone(UTC)
    down = scene.settings.model_copy(update={"smtp_port": 9})
    report = digests.send_due(scene.db, SmtpMailer(down), down, now)
    assert (report.sent, report.failed) == (0, 1)
    with scene.db.read() as conn:
        (row,) = digest_store.sends(conn, subscription_id)
    assert row["status"] == "failed"
    assert "Could not send mail" in str(row["error"])
    report = digests.send_due(
        scene.db, SmtpMailer(scene.settings), scene.settings, now + timedelta(minutes=1)
    )
    assert report.sent == 1
    assert len(scene.smtp.received) == 1


def test_a_subscription_made_after_nine_starts_the_next_day(scene: Scene) -> None:
    scene.visits_on(2)
    scene.visits_on(3)
    scene.clock.set(local(3, 11))
    scene.subscribe()
    scene.at(local(3, 12))
    assert scene.smtp.received == []
    scene.at(local(4, 9))
    assert len(scene.smtp.received) == 1
    assert "Thursday 3 December 2026" in scene.smtp.received[0].message["Subject"]


class _BrokenOnce:
    """A mailer whose first send fails with an unexpected error (a bug, not a refusal)."""

    def __init__(self, mailer: SmtpMailer) -> None:
        self.mailer, self.calls = mailer, 0

    def send(self, mail: Mail) -> None:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("boom")
        self.mailer.send(mail)


def test_an_unexpected_error_fails_one_digest_and_not_the_others(
    scene: Scene, builder: Builder
) -> None:
    first = scene.subscribe()
    other = builder.user()
    with scene.db.write() as conn:
        accounts.add_member(conn, other.user.id, scene.account.id)
    digests.subscribe(
        scene.db, scene.clock.now(), other.user.email, scene.account.id, "all_leads", "daily"
    )
    scene.visits_on(2)
    now = local(3, 9).astimezone(UTC)
    report = digests.send_due(
        scene.db, _BrokenOnce(SmtpMailer(scene.settings)), scene.settings, now
    )
    assert (report.sent, report.failed) == (1, 1)
    assert scene.smtp.received[0].rcpt_tos == [other.user.email]
    with scene.db.read() as conn:
        (row,) = digest_store.sends(conn, first)
    assert (row["status"], row["error"]) == ("failed", "RuntimeError: boom")
