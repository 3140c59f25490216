"""Identification step: the company behind each new visit, through the identify package's resolver
chain. One call per account per batch carries every IP that starts a visit; the answer is
kept in the visit's session, so the visit's later hits are never identified again. Visits
of unknown companies, and the chain's drops (own traffic, excluded countries or hostnames,
ISP, mobile and hosting networks), never become visits or leads."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from openfeeder.domain.drops import DropReason
from openfeeder.pipeline.model import Batch, Event, Identification, Session, TransientError
from openfeeder.pipeline.steps.base import Step


class IdentificationStep(Step):
    name = "identification"
    drops = frozenset(
        {
            DropReason.OWN_TRAFFIC,
            DropReason.EXCLUDED_COUNTRY,
            DropReason.EXCLUDED_HOSTNAME,
            DropReason.ISP,
            DropReason.MOBILE,
            DropReason.HOSTING,
            DropReason.UNIDENTIFIED,
        }
    )

    def prepare(self, batch: Batch, events: Sequence[Event]) -> None:
        wanted: dict[int, set[str]] = {}
        for event in events:
            if event.starts_visit:
                wanted.setdefault(event.hit.account_id, set()).add(event.hit.ip)
        for account_id, ips in sorted(wanted.items()):
            try:
                # Company websites are read by the warm-up before the batch, never inside
                # its write transaction.
                answers = batch.tools.identifier.identify_many(
                    batch.conn, account_id, sorted(ips), websites=False
                )
            except sa.exc.DBAPIError:
                raise
            except OSError as error:  # a resolver's network is down: retry the batch later
                raise TransientError(f"identification failed: {error}") from error
            for ip in ips:
                answer = answers.get(ip)
                if answer is not None:
                    batch.identifications[(account_id, ip)] = answer

    def run(self, batch: Batch, event: Event) -> Event | DropReason:
        session = event.visit
        if event.starts_visit:
            apply(session, batch.identifications.get((event.hit.account_id, event.hit.ip)))
        if session.drop is not None:
            session.pages.clear()  # nothing will show it; keep the session state small
            return session.drop
        return event


def apply(session: Session, answer: Identification | None) -> None:
    """Record in a new visit's session who it is, or why it is dropped."""
    if answer is not None and answer.drop_reason:
        session.drop = answer.drop_reason
    elif answer is None or answer.company_id is None:
        session.drop = DropReason.UNIDENTIFIED
    else:
        session.company_id = answer.company_id
        session.match_source = answer.match_source
        session.match_reason = answer.match_reason
        session.location = answer.location
