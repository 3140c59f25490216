"""Visitor step: reads the stored event (validated by ingest's definition of the wire format)
and derives who sent it: the ``lfClientId`` cookie, or for cookieless (``….NC``) visitors a
hash of the day's salt, the account, the IP and the user agent."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import date

from openfeeder.domain.drops import DropReason
from openfeeder.domain.events import BadEvent, validate
from openfeeder.pipeline.model import Batch, Event
from openfeeder.pipeline.steps.base import Step
from openfeeder.store import pipeline as store


class VisitorStep(Step):
    name = "visitor"
    drops = frozenset({DropReason.INVALID_EVENT})

    def prepare(self, batch: Batch, events: Sequence[Event]) -> None:
        days = {salt_day(e) for e in events if _cookieless(e)} - batch.salts.keys()
        if days:
            batch.salts.update(store.salts_for(batch.conn, days, _new_salt))

    def run(self, batch: Batch, event: Event) -> Event | DropReason:
        try:
            event.tracker = validate(event.hit.payload)
        except BadEvent:
            return DropReason.INVALID_EVENT
        if event.tracker.cookieless:
            hit = event.hit
            event.visitor_key = cookieless_key(
                batch.salts[salt_day(event)], hit.account_id, hit.ip, hit.user_agent or ""
            )
        else:
            event.visitor_key = event.tracker.lf_client_id
        return event


def cookieless_key(salt: str, account_id: int, ip: str, user_agent: str) -> str:
    """A visitor key nobody can link to the person's IP, or across days once the salt is gone."""
    material = "\x1f".join((salt, str(account_id), ip, user_agent)).encode()
    return "nc:" + hashlib.sha256(material).hexdigest()[:48]


def salt_day(event: Event) -> date:
    """Salts change at midnight UTC, by the server's clock."""
    return event.hit.received_at.date()


def _cookieless(event: Event) -> bool:
    client_id = event.hit.payload.get("lfClientId")
    return isinstance(client_id, str) and client_id.endswith(".NC")


def _new_salt() -> str:
    return secrets.token_hex(32)
