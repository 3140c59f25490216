"""Forgetting one company or one visitor of an account (``openfeeder forget``), for a site
owner's erasure requests: one transaction that deletes the data and keeps every count
consistent, or, in a dry run, the same transaction rolled back after counting what it
would delete. What "a visitor" is, and what is kept, is in docs/privacy.md."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import sqlalchemy as sa

from openfeeder.domain.clock import Clock
from openfeeder.domain.errors import BadRequest, NotFound
from openfeeder.store import accounts as accounts_store
from openfeeder.store import forget as store
from openfeeder.store.db import Database
from openfeeder.store.forget import Forgotten

__all__ = ["Forgotten", "forget_company", "forget_visitor"]


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back, carrying what it counted."""

    def __init__(self, forgotten: Forgotten) -> None:
        super().__init__("dry run")
        self.forgotten = forgotten


def _run(
    db: Database, account_id: int, dry_run: bool, work: Callable[[sa.Connection], Forgotten]
) -> Forgotten:
    try:
        with db.write() as conn:
            if accounts_store.get_account(conn, account_id) is None:
                raise NotFound(f"No account has the id {account_id}.")
            forgotten = work(conn)
            if dry_run:
                raise _DryRun(forgotten)
    except _DryRun as rolled_back:
        return rolled_back.forgotten
    return forgotten


def forget_company(
    db: Database,
    clock: Clock,
    account_id: int,
    *,
    lead_id: str | None = None,
    domain: str | None = None,
    dry_run: bool = False,
) -> Forgotten:
    """Delete the account's lead with this id, or every lead of the company with this
    domain, with all their visits, hits, statistics, notes and alert events."""
    if (lead_id is None) == (domain is None):
        raise BadRequest("give either --lead or --domain")

    def work(conn: sa.Connection) -> Forgotten:
        leads = store.company_leads(conn, account_id, lead_id=lead_id, domain=domain)
        if not leads:
            named = f"lead {lead_id}" if lead_id is not None else f"company with domain {domain}"
            raise NotFound(f"Account {account_id} has no {named}.")
        return store.forget_leads(conn, leads, clock.now())

    return _run(db, account_id, dry_run, work)


def forget_visitor(
    db: Database,
    clock: Clock,
    account_id: int,
    *,
    ip: str | None = None,
    client_id: str | None = None,
    dry_run: bool = False,
) -> Forgotten:
    """Delete one visitor's hits, visits and sessions from the account (by IP address, by
    openfeeder client id, or both), recounting the leads they visited as."""
    if ip is None and client_id is None:
        raise BadRequest("give --ip, --client-id or both")
    if ip is not None:
        try:  # stored as ingest writes it: the address's canonical text
            ip = str(ipaddress.ip_address(ip.strip()))
        except ValueError:
            raise BadRequest(f"{ip!r} is not an IP address") from None

    def work(conn: sa.Connection) -> Forgotten:
        return store.forget_visitor(conn, account_id, ip=ip, client_id=client_id, now=clock.now())

    return _run(db, account_id, dry_run, work)
