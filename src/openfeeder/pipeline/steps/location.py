"""Location step: where a new identified visit came from. The identification usually knows
(the identify package reads the City database for its country rules); when it does not, the
IP is looked up in the MMDB City database if one is configured; else the location is
unknown."""

from __future__ import annotations

from collections.abc import Sequence

from openfeeder.domain.drops import DropReason
from openfeeder.identify.geo import UNKNOWN_LOCATION
from openfeeder.identify.ranges import parse_ip
from openfeeder.pipeline.model import Batch, Event
from openfeeder.pipeline.steps.base import Step


class LocationStep(Step):
    name = "location"

    def prepare(self, batch: Batch, events: Sequence[Event]) -> None:
        city = batch.tools.city
        if city is None:
            return
        for event in events:
            ip = event.hit.ip
            if event.starts_visit and _unknown(event) and ip not in batch.locations:
                address = parse_ip(ip)
                found = city.locate(address) if address is not None else UNKNOWN_LOCATION
                batch.locations[ip] = None if found.id == UNKNOWN_LOCATION.id else found

    def run(self, batch: Batch, event: Event) -> Event | DropReason:
        if event.starts_visit and _unknown(event):
            event.visit.location = batch.locations.get(event.hit.ip) or UNKNOWN_LOCATION
        return event


def _unknown(event: Event) -> bool:
    location = event.visit.location
    return location is None or location.id == UNKNOWN_LOCATION.id
