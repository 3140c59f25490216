"""An email alert endpoint end to end: a rule on a feed, a visit through the pipeline, the
delivery loop hands the alert to a real SMTP server on 127.0.0.1, and the delivery log says
so; a refusing server leaves the delivery to be tried again."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from openfeeder.domain.alerts import RETRY_DELAYS
from openfeeder.domain.clock import FixedClock
from openfeeder.services import alerts
from tests.alerts.test_events import process, visit
from tests.mail.conftest import StartSmtp, parts
from tests.support.pipeline import T0, World


def _email_rule(world: World, to: str, now: datetime) -> alerts.NewEndpoint:
    made = alerts.create_endpoint(world.db, world.account, "email", to, now, name="Sales")
    alerts.create_rule(
        world.db,
        world.account,
        now,
        feed_id="all_leads",
        trigger="new_company",
        endpoint_ids=[made.endpoint.id],
    )
    return made


def test_a_new_company_alert_is_emailed_through_the_delivery_loop(
    world: World, start_smtp: StartSmtp
) -> None:
    server = start_smtp("starttls")
    settings = server.settings(world.settings)
    clock = FixedClock(datetime.now(UTC))
    made = _email_rule(world, "Sales@Example.com, ops@example.com, sales@example.com", clock.now())
    assert made.endpoint.url == "mailto:Sales@Example.com,ops@example.com,sales@example.com"
    assert made.secret is None
    visit(world, T0, "/", "/pricing")
    process(world, clock)
    loop = alerts.Deliverer(settings, world.db, clock=clock, rng=random.Random(7))
    assert loop.run_once() == 1
    loop.close()
    (got,) = server.received
    assert got.rcpt_tos == ["Sales@Example.com", "ops@example.com", "sales@example.com"]
    text, html = parts(got.message)
    assert world.acme.name in text
    assert "/pricing" in text
    assert f"/app/{world.account.id}/leads/" in html
    (only,) = alerts.list_deliveries(world.db, world.account)
    assert (only.status, only.attempts, only.last_error) == ("delivered", 1, None)


def test_an_email_alert_the_server_cannot_take_is_tried_again(
    world: World, start_smtp: StartSmtp
) -> None:
    server = start_smtp("starttls", auth=True)  # asks for a login the settings do not give
    settings = server.settings(world.settings)
    clock = FixedClock(datetime.now(UTC))
    _email_rule(world, "sales@example.com", clock.now())
    visit(world, T0, "/")
    process(world, clock)
    loop = alerts.Deliverer(settings, world.db, clock=clock, rng=random.Random(7))
    assert loop.run_once() == 1
    (failed,) = alerts.list_deliveries(world.db, world.account)
    assert failed.status != "delivered"
    assert failed.last_error is not None
    assert "MailError" in failed.last_error
    assert server.received == []
    # With the login given, the retry goes through.
    loop.close()
    loop = alerts.Deliverer(
        server.settings(world.settings, smtp_user="mailer", smtp_password="s3cret-pass"),
        world.db,
        clock=clock,
        rng=random.Random(7),
    )
    clock.advance(RETRY_DELAYS[0] * 1.2)
    assert loop.run_once() == 1
    loop.close()
    assert len(server.received) == 1
    (delivered,) = alerts.list_deliveries(world.db, world.account)
    assert (delivered.status, delivered.attempts) == ("delivered", 2)
