"""Hostile tracker traffic, generated: hypothesis sends valid events with fields replaced by
arbitrary JSON, arbitrary JSON documents, and arbitrary text as the event data, as beacons
and as pixels. Every answer is a 2xx or a 4xx (never a 5xx), every acknowledged hit is
stored, and the pipeline then processes every stored hit without quarantining one (nothing
ingest accepts can poison it) — on SQLite and on PostgreSQL, with a fixed seed."""

from __future__ import annotations

import base64
import json
from typing import Any

import orjson
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from openfeeder.config import Settings
from openfeeder.pipeline import make_pipeline
from openfeeder.services import hits as hits_service
from openfeeder.store import schema
from openfeeder.store.db import Database
from tests.support.browser import DESKTOP_UA
from tests.support.factories import Builder
from tests.support.tracking import encode, event, tracker_app

EXAMPLES = 400
FIELDS = (
    "event",
    "context",
    "clientEventId",
    "clientTimestamp",
    "clientTimezone",
    "scriptId",
    "cookiesEnabled",
    "anonymizeIp",
    "lfClientId",
    "gaTrackingIds",
    "gaClientIds",
    "foreignCookies",
    "properties",
)
CONTEXT_FIELDS = ("pageUrl", "pageTitle", "referrer", "library")

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=16,
)
urls = st.builds(
    lambda scheme, host, path: f"{scheme}://{host}/{path}",
    st.sampled_from(["https", "http", "javascript", "file", ""]),
    st.text(max_size=20),
    st.text(max_size=40),
)


@st.composite
def mutated_events(draw: st.DrawFn) -> dict[str, Any]:
    """A valid pageview with some fields replaced by anything, some removed."""
    sent = event()
    for name in draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=3, unique=True)):
        if draw(st.booleans()):
            sent[name] = draw(json_values)
        else:
            sent.pop(name, None)
    if isinstance(sent.get("context"), dict):
        context = dict(sent["context"])
        for name in draw(st.lists(st.sampled_from(CONTEXT_FIELDS), max_size=2, unique=True)):
            context[name] = draw(urls | json_values)
        sent["context"] = context
    return sent


payloads = st.one_of(
    # Mostly events one mutation away from valid: they get past decoding to validation.
    mutated_events().map(encode),
    mutated_events().map(encode),
    mutated_events().map(encode),
    st.builds(event).map(encode),
    json_values.map(lambda value: base64.b64encode(json.dumps(value).encode()).decode()),
    st.text(max_size=200),
    st.binary(max_size=200).map(lambda raw: base64.b64encode(raw).decode()),
)


def test_no_tracker_input_makes_a_5xx_or_a_poison_hit(
    settings: Settings, db: Database, builder: Builder
) -> None:
    account = builder.account()
    app = tracker_app(
        settings.model_copy(
            update={"run_jobs_in_process": False, "tracker_flood_per_minute": 10**9}
        )
    )
    acknowledged: list[str] = []
    with TestClient(app, client=("198.51.100.7", 40000)) as client:

        @settings_for_fuzzing
        @given(data=payloads, as_pixel=st.booleans(), with_sid=st.booleans())
        def send(data: str, as_pixel: bool, with_sid: bool) -> None:
            sid = {"sid": account.script_hash} if with_sid else {}
            headers = {"User-Agent": DESKTOP_UA}
            if as_pixel:
                response = client.get("/tr", params=sid | {"data": data}, headers=headers)
            else:
                response = client.post("/tr", params=sid, content=data, headers=headers)
            assert response.status_code < 500, response.text
            if response.is_success:
                sent = orjson.loads(base64.b64decode(data + "=" * (-len(data) % 4)))
                acknowledged.append(str(sent["clientEventId"]).lower())
            else:
                assert response.json()["error"]

        send()

    with db.read() as conn:
        stored = set(
            conn.execute(
                sa.select(schema.hits.c.client_event_id).where(
                    schema.hits.c.account_id == account.id
                )
            ).scalars()
        )
    assert set(acknowledged) <= stored
    assert acknowledged, "no generated event was valid: the generator tests nothing useful"
    pipeline = make_pipeline(settings.model_copy(update={"reverse_dns": False}), db)
    try:
        pipeline.run_once()
    finally:
        pipeline.close()
    with db.read() as conn:
        waiting = conn.execute(
            sa.select(sa.func.count()).where(schema.hits.c.processed_at.is_(None))
        ).scalar_one()
    assert waiting == 0
    assert hits_service.quarantined(db) == []


settings_for_fuzzing = settings(
    max_examples=EXAMPLES,
    derandomize=True,  # the same inputs every run: a failure in CI reproduces locally
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
