"""REST hooks round trip with an API token: subscribe a real receiver with ``POST /hooks``,
the pipeline's event reaches it signed with the secret the answer gave, ``DELETE /hooks/{id}``
unsubscribes, and nothing is sent after that."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from standardwebhooks import Webhook
from starlette.testclient import TestClient

from openfeeder.domain.clock import FixedClock
from openfeeder.services import alerts
from openfeeder.store import accounts
from openfeeder.store import schema as t
from tests.alerts.conftest import Receiver
from tests.alerts.test_events import process, visit
from tests.support.clients import auth
from tests.support.factories import Builder
from tests.support.pipeline import GLOBEX_IP, T0, World


def test_subscribe_receive_and_unsubscribe(
    world: World, receiver: Receiver, api: TestClient, builder: Builder
) -> None:
    member = builder.user()
    with world.db.write() as conn:
        accounts.add_member(conn, member.user.id, world.account.id)
    answer = api.post(
        "/hooks",
        json={
            "account_id": str(world.account.id),
            "target_url": receiver.url,
            "event": "lead.new_company",
        },
        headers=auth(member.token),
    )
    assert answer.status_code == 201, answer.text
    hook = answer.json()["data"]
    assert hook["type"] == "hooks"
    assert answer.headers["location"].endswith(f"/hooks/{hook['id']}")
    secret = hook["attributes"]["secret"]

    clock = FixedClock(datetime.now(UTC))
    visit(world, T0, "/", "/pricing")
    process(world, clock)
    loop = alerts.Deliverer(world.settings, world.db, clock=clock, rng=random.Random(3))
    assert loop.run_once() == 1
    (request,) = receiver.requests
    body = Webhook(secret).verify(request.body, request.headers)
    assert body["type"] == "lead.new_company"
    assert body["data"]["lead"]["data"]["attributes"]["name"] == world.acme.name

    stranger = builder.user()
    assert api.delete(f"/hooks/{hook['id']}", headers=auth(stranger.token)).status_code == 404
    gone = api.delete(f"/hooks/{hook['id']}", headers=auth(member.token))
    assert gone.status_code == 200, gone.text
    assert "secret" not in gone.json()["data"]["attributes"]
    assert api.delete(f"/hooks/{hook['id']}", headers=auth(member.token)).status_code == 404
    visit(world, T0 + timedelta(hours=1), "/", ip=GLOBEX_IP)  # a new company: no one listens
    process(world, clock)
    assert loop.run_once() == 0
    with world.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.alert_rules)).scalar() == 0
    assert len(receiver.requests) == 1


def test_a_hook_for_an_account_one_is_not_in_is_refused(
    world: World, api: TestClient, builder: Builder
) -> None:
    outsider = builder.user()
    answer = api.post(
        "/hooks",
        data={
            "account_id": str(world.account.id),
            "target_url": "https://x.example/",
            "event": "lead.quality",
        },
        headers=auth(outsider.token),
    )
    assert answer.status_code == 403
