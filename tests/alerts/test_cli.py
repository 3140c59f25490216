"""``openfeeder alerts …``: endpoints, rules, test events and the delivery log from the
command line, and bad input as one line with exit code 1."""

from __future__ import annotations

import random

from openfeeder.config import Settings
from openfeeder.domain.models import Account
from openfeeder.services import alerts
from openfeeder.store.db import Database
from tests.alerts.conftest import Receiver
from tests.test_cli import fails, ok, ok_json


def test_endpoints_rules_test_event_and_replay(
    settings: Settings, db: Database, account: Account, receiver: Receiver
) -> None:
    url = settings.database_url
    a = str(account.id)
    made = ok_json(url, "alerts", "endpoints", "add", "--account", a, "--name", "CRM", receiver.url)
    assert made["secret"].startswith("whsec_")
    endpoint = str(made["id"])
    assert "Signing secret (shown once): whsec_" in ok(
        url, "alerts", "endpoints", "add", "--account", a, "https://b.example/hook"
    )
    rule = ok_json(
        url,
        "alerts",
        "rules",
        "add",
        "--account",
        a,
        "--trigger",
        "page_visit",
        "--pattern",
        "/pricing*",
        "--endpoint",
        endpoint,
    )
    assert rule["params"] == {"pattern": "/pricing*"}
    assert [r["id"] for r in ok_json(url, "alerts", "rules", "list", "--account", a)] == [
        rule["id"]
    ]
    assert "Test event" in ok(url, "alerts", "endpoints", "test", "--account", a, endpoint)
    loop = alerts.Deliverer(
        settings.model_copy(update={"alerts_allow_loopback": True}), db, rng=random.Random(1)
    )
    assert loop.run_once() == 1
    (logged,) = ok_json(url, "alerts", "deliveries", "list", "--account", a)
    assert (logged["status"], logged["type"]) == ("delivered", "test")
    ok(url, "alerts", "deliveries", "replay", "--account", a, str(logged["id"]))
    assert loop.run_once() == 1
    assert len(set(receiver.ids())) == 1
    assert len(receiver.requests) == 2
    assert "New signing secret" in ok(
        url, "alerts", "endpoints", "rotate-secret", "--account", a, endpoint
    )
    ok(url, "alerts", "endpoints", "enable", "--account", a, "--off", endpoint)
    listed = ok_json(url, "alerts", "endpoints", "list", "--account", a)
    assert [e["enabled"] for e in listed] == [False, True]
    ok(url, "alerts", "endpoints", "remove", "--account", a, endpoint)
    (kept,) = ok_json(url, "alerts", "rules", "list", "--account", a)
    assert kept["endpoint_ids"] == []  # the rule no longer names the removed endpoint
    ok(url, "alerts", "rules", "remove", "--account", a, str(rule["id"]))
    assert len(ok_json(url, "alerts", "endpoints", "list", "--account", a)) == 1


def test_bad_input_is_one_line(settings: Settings, account: Account) -> None:
    url = settings.database_url
    a = str(account.id)
    assert "http(s)" in fails(url, "alerts", "endpoints", "add", "--account", a, "ftp://x/")
    assert "is not an email address" in fails(
        url, "alerts", "endpoints", "add", "--account", a, "--kind", "email", "https://x.example/"
    )
    assert "pattern" in fails(
        url, "alerts", "rules", "add", "--account", a, "--trigger", "page_visit", "--endpoint", "1"
    )
    assert "endpoint 5" in fails(
        url,
        "alerts",
        "rules",
        "add",
        "--account",
        a,
        "--trigger",
        "new_company",
        "--endpoint",
        "5",
    )
    assert "Delivery 9" in fails(url, "alerts", "deliveries", "replay", "--account", a, "9")
    assert "Account" in fails(url, "alerts", "rules", "list", "--account", "999")
