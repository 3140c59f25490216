"""Recording step: writes every visit the batch started or extended through
``services.visits.record_visits_in`` (the one write path for visits, the demo's too), in the
batch's transaction. A visit seen before is replaced, so its leads' statistics stay exact."""

from __future__ import annotations

from openfeeder.domain.drops import DropReason
from openfeeder.pipeline.model import Batch, Event
from openfeeder.pipeline.steps.base import Step
from openfeeder.services.visits import record_visits_in
from openfeeder.store import pipeline as store


class RecordingStep(Step):
    name = "recording"

    def run(self, batch: Batch, event: Event) -> Event | DropReason:
        batch.visits[event.visit.visit_id] = event.visit
        return event

    def finish(self, batch: Batch) -> None:
        if not batch.visits:
            return
        visits = [session.to_new_visit() for session in batch.visits.values()]
        store.lock_accounts_for_recording(batch.conn, {v.account_id for v in visits})
        record_visits_in(batch.conn, visits)
