"""Sessions step: which visit each hit belongs to, and the visit's route.

A visit ends after 30 minutes without a hit, when a pageview brings a different campaign
(UTM parameters or a click id), or at ``MAX_PAGES`` pageviews. Only pageviews start visits
and add pages; other events (forms, downloads, videos, identify) keep an open visit alive
and are dropped outside one.

Time is the server's ``received_at``, not the event's ``clientTimestamp``: browser clocks are
often minutes or hours off, and a visitor's clock cannot be checked, while ours is one clock
for every hit. Hits are taken in append (id) order; should one arrive earlier on the clock
than the hit before it (two ingest processes appending moments apart), it counts as
arriving with the previous one, so a visit's clock never runs backwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from openfeeder.domain.drops import DropReason
from openfeeder.pipeline.model import DIRECT, MAX_PAGES, VISIT_IDLE, Batch, Event, PageView, Session
from openfeeder.pipeline.steps.base import Step
from openfeeder.store import pipeline as store

# Visit ids are named by the visit's first hit, so processing the same hits again in
# another store (the demo, a restore) gives the same ids.
_VISIT_IDS = uuid.UUID("0b6f2b8e-59a4-4c8e-9d07-4f6c1e2a9b31")


class SessionsStep(Step):
    name = "sessions"
    drops = frozenset({DropReason.NO_VISIT})

    def prepare(self, batch: Batch, events: Sequence[Event]) -> None:
        wanted = {(e.hit.account_id, e.visitor_key) for e in events} - batch.sessions.keys()
        for key, row in store.load_sessions(batch.conn, wanted).items():
            batch.sessions[key] = Session.from_row(row)

    def run(self, batch: Batch, event: Event) -> Event | DropReason:
        key = (event.hit.account_id, event.visitor_key)
        session = batch.sessions.get(key)
        at = event.hit.received_at
        if session is not None and at < session.last_hit_at:
            at = session.last_hit_at
        open_ = session is not None and at - session.last_hit_at <= VISIT_IDLE
        if not event.is_pageview:
            if session is None or not open_:
                return DropReason.NO_VISIT
            session.last_hit_at = at
            event.session = session
            return event
        attribution = event.attribution or DIRECT
        if (
            session is None
            or not open_
            or len(session.pages) >= MAX_PAGES
            or (
                attribution.explicit
                and attribution.campaign_key != session.attribution.campaign_key
            )
        ):
            session = self._start(event, at)
            batch.sessions[key] = session
            event.starts_visit = True
        session.last_hit_at = at
        if session.drop is None:  # a dropped visit keeps no route
            session.pages.append(PageView(event.event.page_url, event.event.page_title, at))
        event.session = session
        return event

    def finish(self, batch: Batch) -> None:
        store.save_sessions(batch.conn, [s.to_row() for s in batch.sessions.values()])

    @staticmethod
    def _start(event: Event, at: datetime) -> Session:
        tracker, hit = event.event, event.hit
        return Session(
            account_id=hit.account_id,
            visitor_key=event.visitor_key,
            visit_id=str(uuid.uuid5(_VISIT_IDS, f"{hit.account_id}/{hit.client_event_id}")),
            started_at=at,
            last_hit_at=at,
            attribution=event.attribution or DIRECT,
            lf_client_id=tracker.lf_client_id,
            ga_client_ids=list(tracker.ga_client_ids),
            adobe_cookies=list(tracker.adobe_cookies) or None,
        )
