"""An endpoint disabled after days of failures emails the admins of its account: a real
receiver on 127.0.0.1 fails every delivery, a test clock walks to the disable point, and a
real SMTP server (aiosmtpd) gets one mail with both parts, the endpoint, why, and a link to
the endpoint's row on the alerts page, where an admin enables it again. No second mail for
the same disable, however often the loop (or a second one) runs."""

from __future__ import annotations

import logging
import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from openfeeder.config import Settings
from openfeeder.domain.clock import FixedClock
from openfeeder.domain.models import Account
from openfeeder.services import alerts
from openfeeder.services.alerts.disabled import EmailAdmins, disabled_notifiers
from openfeeder.store import members as member_store
from openfeeder.store.db import Database
from tests.alerts.conftest import Receiver
from tests.dashboard.conftest import give_password, hidden_fields, sign_in
from tests.mail.conftest import SmtpServer, StartSmtp, parts
from tests.support.clients import MakeClient
from tests.support.factories import Builder, Member
from tests.support.pipeline import World
from tests.support.servers import free_port

HOSTILE = "CRM <b>hooks</b>"
LINK = re.compile(r'href="([^"]+)"')


def _people(db: Database, builder: Builder, account: Account) -> tuple[Member, Member, Member]:
    """Two admins and a member (role ``member``) of the account."""
    first, second, plain = builder.user(), builder.user(), builder.user()
    with db.write() as conn:
        for person, role in ((first, "admin"), (second, "admin"), (plain, "member")):
            member_store.add_membership(conn, person.user.id, account.id, role)
    return first, second, plain


def _fail_for_days(
    world: World, loop: alerts.Deliverer, endpoint_id: int, clock: FixedClock, days: int
) -> None:
    """A test event a day, each refused by the receiver, for ``days`` days."""
    for _ in range(days):
        alerts.send_test_event(world.db, world.account, endpoint_id, clock.now(), "x")
        loop.run_once()
        clock.advance(timedelta(days=1))


@pytest.fixture
def smtp(start_smtp: StartSmtp) -> SmtpServer:
    return start_smtp("none")


def test_the_admins_are_emailed_once_with_a_link_that_enables_it_again(
    world: World,
    builder: Builder,
    receiver: Receiver,
    smtp: SmtpServer,
    make_client: MakeClient,
) -> None:
    admin, other_admin, plain = _people(world.db, builder, world.account)
    client = make_client()
    base = str(client.base_url)
    settings = smtp.settings(world.settings, public_url=base)
    clock = FixedClock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    receiver.fail_first = 10_000
    made = alerts.create_endpoint(
        world.db, world.account, "webhook", receiver.url, clock.now(), name=HOSTILE
    )
    endpoint_id = made.endpoint.id
    notifiers = disabled_notifiers(settings, world.db)
    assert [type(n) for n in notifiers] == [EmailAdmins]
    loop = alerts.Deliverer(
        settings, world.db, clock=clock, rng=random.Random(7), notifiers=notifiers
    )
    _fail_for_days(world, loop, endpoint_id, clock, 5)
    assert alerts.get_endpoint(world.db, world.account, endpoint_id).enabled
    assert smtp.received == [], "no mail before the endpoint is disabled"
    _fail_for_days(world, loop, endpoint_id, clock, 2)
    endpoint = alerts.get_endpoint(world.db, world.account, endpoint_id)
    assert not endpoint.enabled

    (got,) = smtp.received
    assert sorted(got.rcpt_tos) == sorted([admin.user.email, other_admin.user.email])
    assert plain.user.email not in got.message["To"]
    assert got.message["Subject"] == f"Alert endpoint disabled: {HOSTILE} ({world.account.name})"
    assert got.message["Auto-Submitted"] == "auto-generated"
    text, html = parts(got.message)
    link = f"{base}/app/{world.account.id}/settings/alerts#endpoint-{endpoint_id}"
    for body in (text, html):
        assert receiver.url in body
        assert "HTTP 500" in body  # the last error
        assert "failed since 2026-03-10" in body  # the reason stored with the disable
        assert world.account.name in body
    assert HOSTILE in text
    assert "CRM &lt;b&gt;hooks&lt;/b&gt;" in html
    assert "<b>hooks" not in html
    assert link in text
    assert f'href="{link}"' in html
    assert "Europe/Helsinki" in text  # when, in the account's timezone

    # More runs, and a second worker's loop: the endpoint is disabled already, no mail.
    second = alerts.Deliverer(settings, world.db, clock=clock, notifiers=notifiers)
    for days in range(3):
        _fail_for_days(world, loop, endpoint_id, clock, 1)
        second.run_once()
        assert len(smtp.received) == 1, f"a second mail {days} days later"
    second.close()

    # The link works: an admin signed in lands on the alerts page at the endpoint's row,
    # whose Enable button enables it.
    href = next(h for h in LINK.findall(html) if "/settings/alerts" in h)
    assert href == link
    give_password(world.db, admin)
    browser = TestClient(client.app)
    assert sign_in(browser, admin.user.email).status_code == 303
    page = browser.get(href.removeprefix(base))
    assert page.status_code == 200
    assert f'id="endpoint-{endpoint_id}"' in page.text
    enable = f"/app/{world.account.id}/settings/alerts/endpoints/{endpoint_id}/enable"
    assert f'action="{enable}"' in page.text
    answer = browser.post(enable, data=hidden_fields(page.text), follow_redirects=False)
    assert answer.status_code == 303
    assert alerts.get_endpoint(world.db, world.account, endpoint_id).enabled

    # Failing for days again is a new disable, and a new mail.
    _fail_for_days(world, loop, endpoint_id, clock, 7)
    assert not alerts.get_endpoint(world.db, world.account, endpoint_id).enabled
    assert len(smtp.received) == 2
    loop.close()


def test_without_smtp_a_disable_is_only_logged(
    world: World, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    assert settings.smtp_host is None
    with caplog.at_level(logging.INFO, logger="openfeeder.services.alerts.disabled"):
        assert disabled_notifiers(settings, world.db) == []
    assert "not emailed" in caplog.text


def test_the_app_and_its_delivery_loop_email_admins_when_smtp_is_set_up(
    make_client: MakeClient,
) -> None:
    plain = make_client()
    assert plain.app.state.services.alerts.notifiers == ()  # type: ignore[attr-defined]
    configured = make_client(smtp_host="127.0.0.1", smtp_from="alerts@openfeeder.test")
    notifiers = configured.app.state.services.alerts.notifiers  # type: ignore[attr-defined]
    assert [type(n) for n in notifiers] == [EmailAdmins]


def test_a_mail_the_server_refuses_is_logged_and_the_endpoint_stays_disabled(
    world: World,
    builder: Builder,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _people(world.db, builder, world.account)
    # Nothing listens on a fresh free port: every mail is refused at connect.
    nowhere = world.settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": free_port(), "smtp_security": "none"}
        | {"smtp_from": "alerts@openfeeder.test", "smtp_timeout": 2.0}
    )
    clock = FixedClock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    receiver.fail_first = 10_000
    made = alerts.create_endpoint(world.db, world.account, "webhook", receiver.url, clock.now())
    loop = alerts.Deliverer(
        nowhere, world.db, clock=clock, notifiers=disabled_notifiers(nowhere, world.db)
    )
    with caplog.at_level(logging.WARNING):
        _fail_for_days(world, loop, made.endpoint.id, clock, 7)
    loop.close()
    assert not alerts.get_endpoint(world.db, world.account, made.endpoint.id).enabled
    assert "emailing its admins failed" in caplog.text
