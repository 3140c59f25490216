"""What identification answers: the Identification of one IP, and the small records the
resolvers hand to the chain (a company match or a drop, each with its reason in words)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from openfeeder.domain.drops import DropReason
from openfeeder.domain.models import Location

MatchSource = Literal["company_range", "asn", "reverse_dns", "enrichment"]


@dataclass(frozen=True)
class Identification:
    """The chain's answer for one IP.

    Identified: ``company_id`` and ``match_source`` are set, ``match_reason`` says why.
    Dropped (a traffic rule, or an ISP, mobile or hosting network): ``drop_reason`` is set,
    ``company_id`` and ``match_source`` are None, and ``match_reason`` says why it was dropped.
    Neither: everything but ``location`` is None.
    """

    company_id: str | None
    match_source: MatchSource | None
    match_reason: str | None
    drop_reason: DropReason | None
    location: Location


@dataclass(frozen=True)
class Match:
    company_id: str
    source: MatchSource
    reason: str


@dataclass(frozen=True)
class Drop:
    reason: DropReason
    explanation: str
