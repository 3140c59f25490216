"""``/tr`` over HTTP on both stores: pixel and beacon, every refusal with its status and
counter, the flood limit and the client address, the outcomes counted, and the cached
lookup of script hashes."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from openfeeder.config import Settings
from openfeeder.domain.clock import FixedClock
from openfeeder.domain.models import Account
from openfeeder.ingest.client_ip import ClientAddress
from openfeeder.ingest.http import PIXEL
from openfeeder.ingest.metrics import OUTCOMES
from openfeeder.ingest.sites import Sites
from openfeeder.store import accounts as accounts_store
from openfeeder.store import schema
from openfeeder.store.db import Database
from tests.support.clients import MakeClient
from tests.support.factories import Builder
from tests.support.tracking import encode, event, stored, tracker_app

# -- /tr over HTTP -----------------------------------------------------------------------

METRICS_TOKEN = "operator-metrics-token"
VISITOR = ("198.51.100.7", 40000)


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    return make_client(address=VISITOR, metrics_token=METRICS_TOKEN)


def counts(client: TestClient) -> dict[str, int]:
    ingest = client.app.state.services.ingest  # type: ignore[attr-defined]
    return ingest.counts()  # type: ignore[no-any-return]


def test_pixel_get_stores_the_hit_and_answers_a_gif(
    client: TestClient, db: Database, account: Account
) -> None:
    sent = event(scriptId=account.script_hash)
    response = client.get(
        "/tr",
        params={"sid": account.script_hash, "data": encode(sent)},
        headers={"User-Agent": "Mozilla/5.0 Test", "Accept-Language": "de-DE"},
    )
    assert response.status_code == 200
    assert response.content == PIXEL
    assert response.headers["content-type"] == "image/gif"
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["cache-control"] == "no-store"
    (row,) = stored(db, account)
    assert row["payload"] == sent
    assert (row["ip"], row["user_agent"], row["accept_language"]) == (
        "198.51.100.7",
        "Mozilla/5.0 Test",
        "de-DE",
    )


def test_beacon_post_stores_the_hit_with_the_headers_the_pipeline_needs(
    client: TestClient, db: Database, account: Account
) -> None:
    sent = event()
    response = client.post(
        f"/tr?sid={account.script_hash}",
        content=encode(sent),
        headers={
            "Content-Type": "text/plain;charset=UTF-8",
            "Origin": "https://www.example.com",
            "Sec-Purpose": "prefetch",
            "Sec-CH-UA": '"Chromium";v="140"',
            "Cookie": "session=secret",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    (row,) = stored(db, account)
    assert row["payload"] == sent
    # Only the headers named for the pipeline are kept; never cookies.
    assert row["request_meta"] == {"sec-purpose": "prefetch", "sec-ch-ua": '"Chromium";v="140"'}
    assert counts(client)["accepted"] == 1


def test_a_hit_is_stamped_by_the_clock_the_services_were_built_with(
    settings: Settings, db: Database, account: Account
) -> None:
    # An instant no machine clock shows while the test runs: only the injected clock gives it.
    received = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    app = tracker_app(
        settings.model_copy(update={"run_jobs_in_process": False}), FixedClock(received)
    )
    with TestClient(app, client=VISITOR) as client:
        sent = event(scriptId=account.script_hash)
        response = client.get("/tr", params={"sid": account.script_hash, "data": encode(sent)})
    assert response.status_code == 200
    (row,) = stored(db, account)
    assert row["received_at"] == received


def test_a_resent_event_is_acknowledged_and_stored_once(
    client: TestClient, db: Database, account: Account
) -> None:
    data = encode(event())
    for _ in range(3):
        assert client.post(f"/tr?sid={account.script_hash}", content=data).status_code == 204
    assert len(stored(db, account)) == 1
    assert (counts(client)["accepted"], counts(client)["duplicate"]) == (1, 2)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("%%%", "bad_base64"),
        (encode("{"), "bad_json"),
        (encode(event(event="pageview")), "bad_event"),
        (encode(event(clientEventId="nope")), "bad_client_event_id"),
        (encode(event(context={"pageUrl": "file:///etc/passwd"})), "bad_page_url"),
        ("", "missing_data"),
        (encode(event(event=[])), "bad_event"),
        (encode(event(event={})), "bad_event"),
        # Acknowledged once and then never recordable on PostgreSQL: refused at the edge.
        (encode(event(context={"pageUrl": "https://www.example.com/\u0000"})), "bad_field"),
        (encode(event(properties={"note": "\u0000"})), "bad_field"),
    ],
)
def test_a_bad_payload_is_400_naming_the_reason_and_counted(
    client: TestClient, db: Database, account: Account, data: str, reason: str
) -> None:
    response = client.post(f"/tr?sid={account.script_hash}", content=data)
    assert response.status_code == 400
    assert response.json()["error"] == reason
    assert response.json()["detail"]
    assert counts(client)[reason] == 1
    assert stored(db, account) == []


def test_an_oversized_event_is_413_by_body_or_by_query(
    client: TestClient, settings: Settings, db: Database, account: Account
) -> None:
    huge = encode(event(properties={"blob": "x" * settings.tracker_max_body}))
    posted = client.post(f"/tr?sid={account.script_hash}", content=huge)
    pixel = client.get("/tr", params={"sid": account.script_hash, "data": huge})
    assert (posted.status_code, pixel.status_code) == (413, 413)
    assert posted.json()["error"] == "too_large"
    # Exactly at the limit once decoded is taken; one byte more is not, though its base64
    # still fits the allowance for the wire.
    at_limit = event(properties={"blob": ""})
    at_limit["properties"]["blob"] = "x" * (settings.tracker_max_body - len(json.dumps(at_limit)))
    over = event(properties={"blob": at_limit["properties"]["blob"] + "x"})
    over["clientEventId"] = at_limit["clientEventId"]
    over["lfClientId"] = at_limit["lfClientId"]
    assert len(json.dumps(at_limit)) == settings.tracker_max_body
    sid = account.script_hash
    assert client.post(f"/tr?sid={sid}", content=encode(over)).status_code == 413
    assert client.post(f"/tr?sid={sid}", content=encode(at_limit)).status_code == 204
    assert counts(client)["too_large"] == 3
    assert len(stored(db, account)) == 1


def test_an_unknown_script_is_404(client: TestClient, db: Database, account: Account) -> None:
    data = encode(event())
    for sid in ("NoSuchScriptHash", "not/a/hash", ""):
        response = client.post("/tr", params={"sid": sid} if sid else {}, content=data)
        assert response.status_code == 404, sid
        assert response.json()["error"] == "unknown_script"
    assert counts(client)["unknown_script"] == 3
    # Without sid the event's own scriptId names the script.
    own = encode(event(scriptId=account.script_hash))
    assert client.post("/tr", content=own).status_code == 204


def test_more_hits_than_the_flood_limit_from_one_address_get_429(
    settings: Settings, db: Database, account: Account
) -> None:
    limited = settings.model_copy(update={"tracker_flood_per_minute": 3})
    with TestClient(tracker_app(limited), client=VISITOR) as client:
        codes = [
            client.post(f"/tr?sid={account.script_hash}", content=encode(event())).status_code
            for _ in range(5)
        ]
        assert codes[:3] == [204, 204, 204]
        refused = client.post(f"/tr?sid={account.script_hash}", content=encode(event()))
        assert refused.status_code == 429
        assert refused.json()["error"] == "flood"
        assert int(refused.headers["retry-after"]) >= 1
        assert counts(client)["flood"] == 3
    with TestClient(tracker_app(limited), client=("198.51.100.8", 1)) as other:
        assert (
            other.post(f"/tr?sid={account.script_hash}", content=encode(event())).status_code == 204
        )
    assert len(stored(db, account)) == 4


def test_x_forwarded_for_counts_only_behind_a_trusted_proxy(
    settings: Settings, db: Database, account: Account
) -> None:
    trusting = settings.model_copy(update={"trusted_proxies": ["127.0.0.1/32", "10.0.0.0/8"]})
    header = {"X-Forwarded-For": "192.0.2.66, 203.0.113.9, 10.1.2.3"}
    with TestClient(tracker_app(trusting), client=("127.0.0.1", 5000)) as behind_proxy:
        behind_proxy.post(f"/tr?sid={account.script_hash}", content=encode(event()), headers=header)
    with TestClient(tracker_app(trusting), client=VISITOR) as direct:
        direct.post(f"/tr?sid={account.script_hash}", content=encode(event()), headers=header)
    # Behind the proxy: the right-most untrusted hop (the left part could be made up).
    assert [row["ip"] for row in stored(db, account)] == ["203.0.113.9", "198.51.100.7"]


def test_metrics_count_every_outcome(client: TestClient, account: Account) -> None:
    data = encode(event())
    client.post(f"/tr?sid={account.script_hash}", content=data)
    client.post(f"/tr?sid={account.script_hash}", content=data)
    client.post(f"/tr?sid={account.script_hash}", content="???")
    text = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    assert 'openfeeder_tracker_hits_total{outcome="accepted"} 1.0' in text
    assert 'openfeeder_tracker_hits_total{outcome="duplicate"} 1.0' in text
    assert 'openfeeder_tracker_hits_total{outcome="bad_base64"} 1.0' in text
    assert 'openfeeder_tracker_hits_total{outcome="flood"} 0.0' in text
    assert "openfeeder_tracker_commit_seconds_count 2.0" in text


def test_a_stopped_ingestor_answers_503(client: TestClient, account: Account) -> None:
    client.app.state.services.ingest.stop()  # type: ignore[attr-defined]
    response = client.post(f"/tr?sid={account.script_hash}", content=encode(event()))
    assert response.status_code == 503
    assert response.json()["error"] == "unavailable"
    assert response.headers["retry-after"] == "5"


def test_cors_preflight_allows_any_origin_to_post(client: TestClient) -> None:
    # Browsers preflight a POST only when it is not a simple request (sendBeacon's text/plain
    # is simple); a client sending JSON still gets in. The tracker's own answer, cached for a
    # day, not the API's CORS middleware (which would answer 200 without a max age).
    response = client.options(
        "/tr",
        headers={"Origin": "https://site.example", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert response.headers["access-control-max-age"] == "86400"


# -- the client address ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("198.51.100.7", ["1.2.3.4"], "198.51.100.7"),  # untrusted peer: header ignored
        ("127.0.0.1", [], "127.0.0.1"),
        ("127.0.0.1", ["203.0.113.9"], "203.0.113.9"),
        ("127.0.0.1", ["1.1.1.1, 203.0.113.9, 10.0.0.5"], "203.0.113.9"),
        ("127.0.0.1", ["1.1.1.1", "203.0.113.9"], "203.0.113.9"),  # repeated headers
        ("127.0.0.1", ["10.0.0.5, 10.0.0.6"], "10.0.0.5"),  # only proxies: the farthest
        ("127.0.0.1", ["203.0.113.9, garbage"], "127.0.0.1"),  # nothing beyond garbage
        ("127.0.0.1", ["203.0.113.9:4711"], "203.0.113.9"),
        ("127.0.0.1", ["[2001:db8::1]:443"], "2001:db8::1"),
        ("127.0.0.1", ["fe80::1%eth0"], "fe80::1"),
        ("::ffff:127.0.0.1", ["::ffff:203.0.113.9"], "203.0.113.9"),
        ("testclient", ["203.0.113.9"], "testclient"),
    ],
)
def test_client_address(peer: str, forwarded: list[str], expected: str) -> None:
    resolver = ClientAddress(["127.0.0.1/32", "10.0.0.0/8"])
    assert resolver.resolve(peer, forwarded) == expected


def test_tracking_md_lists_every_outcome_counted() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "tracking.md").read_text("utf-8")
    table = text[text.index("| Outcome | Meaning |") :]
    documented = set(re.findall(r"^\| `([a-z0-9_]+)` \|", table, re.MULTILINE))
    assert documented == set(OUTCOMES)


def test_script_hashes_are_cached_known_for_a_minute_unknown_briefly(
    db: Database, builder: Builder
) -> None:
    now = [1000.0]
    sites = Sites(db, clock=lambda: now[0])
    account = builder.account()
    assert sites.lookup(account.script_hash) == account.id
    assert sites.lookup("LaterHash") is None
    with db.write() as conn:
        accounts_store.create_account(
            conn, name="Late", subscription="premium", timezone="UTC", script_hash="LaterHash"
        )
    assert sites.cached("LaterHash") == (True, None)  # no read: the miss is remembered
    now[0] += 11
    late = sites.lookup("LaterHash")
    assert late is not None
    with db.write() as conn:
        conn.execute(sa.delete(schema.accounts).where(schema.accounts.c.id == account.id))
    assert sites.lookup(account.script_hash) == account.id  # still cached
    now[0] += 60
    assert sites.lookup(account.script_hash) is None
