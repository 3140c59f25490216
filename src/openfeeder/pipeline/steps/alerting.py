"""Alerting step: once the batch's visits are recorded, the account's alert rules are
evaluated over them in the batch's transaction (``services.alerts.evaluate_visits``), so an
event is stored exactly when its visit is, and a retried batch finds its events there."""

from __future__ import annotations

from openfeeder.domain.drops import DropReason
from openfeeder.pipeline.model import Batch, Event
from openfeeder.pipeline.steps.base import Step
from openfeeder.services.alerts import evaluate_visits


class AlertingStep(Step):
    name = "alerting"

    def run(self, batch: Batch, event: Event) -> Event | DropReason:
        return event

    def finish(self, batch: Batch) -> None:
        if batch.visits:
            visits = {(s.account_id, s.visit_id) for s in batch.visits.values()}
            evaluate_visits(batch.conn, visits, batch.now, batch.tools.app_url)
