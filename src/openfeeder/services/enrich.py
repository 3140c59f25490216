"""The IP-enrich use case: one IP through the resolver chain, answered with the company's
firmographics, its location and why it matched."""

from __future__ import annotations

from dataclasses import dataclass

from openfeeder.domain.errors import BadRequest, NotFound
from openfeeder.domain.models import Company
from openfeeder.identify.chain import Identifier
from openfeeder.identify.outcome import Identification
from openfeeder.identify.ranges import parse_ip
from openfeeder.store import identify as store
from openfeeder.store.db import Database


@dataclass(frozen=True)
class IpEnrichment:
    ip: str
    company: Company
    identification: Identification


def enrich_ip(db: Database, identifier: Identifier, text: str | None) -> IpEnrichment:
    """The company behind ``text``; BadRequest for a value that is no IP address, NotFound
    when nothing identifies it (the detail says why when a network or rule excludes it)."""
    address = parse_ip(text) if text else None
    if address is None:
        raise BadRequest(f"ip must be an IPv4 or IPv6 address, got {text or ''!r}.", "ip")
    ip = str(address)
    # A write transaction: the slow resolvers cache their answers through it.
    with db.write() as conn:
        # No company website is read while a request waits; the pipeline reads it.
        found = identifier.identify_many(conn, None, [ip], websites=False)[ip]
        company = store.get_companies(conn, [found.company_id]) if found.company_id else {}
    if found.company_id is None or found.company_id not in company:
        if found.drop_reason is not None:
            raise NotFound(f"No company for {ip}: {found.match_reason}.")
        raise NotFound(f"No company identified for {ip}.")
    return IpEnrichment(ip, company[found.company_id], found)
