"""The pipeline as an explicit list of named steps, and the runner that takes a batch of hits
through them.

Each step's ``run`` gets one event and returns it (perhaps enriched) or a ``DropReason``;
a dropped event goes no further. The runner takes the whole batch through one step before
the next, in hit order, so a step can do batch-wide work first in ``prepare`` (one
identification call for all the batch's new visits) and write once in ``finish`` (sessions,
visits). Order matters and is part of the contract:

1. ``bots``: crawlers, headless browsers and prefetches go first, before any work.
2. ``visitor``: validate the stored event and derive the visitor key.
3. ``attribution``: source, medium, campaign and keyword of this pageview. Before sessions,
   because a pageview carrying a new campaign starts a new visit.
4. ``sessions``: which visit the hit belongs to, and the visit's route.
5. ``device``: device type of a new visit.
6. ``identification``: the company behind a new visit; unidentified visits stop here.
7. ``location``: where a new identified visit came from.
8. ``recording``: write the visits the batch touched.
9. ``alerting``: evaluate the accounts' alert rules over the visits just recorded.

Each step is named for what it adds to the event (a noun), and its class is ``<Name>Step``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from openfeeder.domain.drops import DropReason
from openfeeder.pipeline.model import Batch, Event
from openfeeder.pipeline.steps import (
    alerting,
    attribution,
    bots,
    device,
    identification,
    location,
    recording,
    sessions,
    visitor,
)
from openfeeder.pipeline.steps.base import Step

__all__ = ["STEPS", "Outcome", "Step", "run_steps"]

STEPS: tuple[Step, ...] = (
    bots.BotsStep(),
    visitor.VisitorStep(),
    attribution.AttributionStep(),
    sessions.SessionsStep(),
    device.DeviceStep(),
    identification.IdentificationStep(),
    location.LocationStep(),
    recording.RecordingStep(),
    alerting.AlertingStep(),
)


@dataclass(frozen=True)
class Outcome:
    """What became of one event: the visit it joined, or why it was dropped."""

    event: Event
    drop: DropReason | None
    visit_id: str | None


def run_steps(steps: Sequence[Step], batch: Batch, events: Sequence[Event]) -> list[Outcome]:
    """Take the events (in hit order) through the steps; one outcome per event, same order."""
    dropped: dict[int, DropReason] = {}
    alive = list(events)
    for step in steps:
        step.prepare(batch, alive)
        kept = []
        for event in alive:
            result = step.run(batch, event)
            if isinstance(result, DropReason):
                assert result in step.drops, f"step {step.name} does not declare {result}"
                dropped[id(event)] = result
            else:
                assert result is event, f"step {step.name} must return the event it was given"
                kept.append(event)
        alive = kept
    for step in steps:
        step.finish(batch)
    return [
        Outcome(
            event,
            dropped.get(id(event)),
            None if id(event) in dropped or event.session is None else event.session.visit_id,
        )
        for event in events
    ]
