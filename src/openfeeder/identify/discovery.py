"""Companies discovered without an import: from an organisation's network (an AS whose kind
rests on positive evidence) and from a static host name in reverse DNS, then enriched from
the company's own website. Imports meet them by domain (or AS number) and enrich them in
place, so their leads keep their ids.

Each firmographic field records where it came from in ``companies.field_sources``; a field
from an import (``import``, ``wikidata``) is never overwritten by discovery or the website."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

import sqlalchemy as sa

from openfeeder.domain.models import Company
from openfeeder.identify.asn import NEVER_LEADS, AsnClassifier, AsnRecord
from openfeeder.identify.enrichment import company_id_for
from openfeeder.identify.outcome import Match
from openfeeder.identify.ranges import IPAddress
from openfeeder.identify.rdns import PublicSuffixes, dynamic_pool_sign, valid_hostname
from openfeeder.store import identify as store

# Where a field came from. Discovery and the website may replace their own and each other's
# values (the website's name is better than an AS organisation's); imports are kept.
NETWORK, REVERSE_DNS, WEBSITE = "network", "reverse_dns", "website"
IMPORT, WIKIDATA = "import", "wikidata"
REPLACEABLE = frozenset({NETWORK, REVERSE_DNS, WEBSITE})
# ``field_sources["discovered"]``: how a company was discovered (its website is then read).
DISCOVERED = "discovered"
_KINDS = {  # organisation kinds, as the match reason names their networks
    "business": "an organisation's network",
    "education": "an education network",
    "government": "a government network",
}
# Firmographics of ``Company`` the website may fill; the rest of what it says is the profile.
WEBSITE_FIELDS = frozenset(
    {"name", "logo_url", "linkedin_url", "twitter_handle", "facebook_url", "phone", "website_url"}
)
PROFILE_FIELDS = frozenset({"description", "address", "country"})


@dataclass(frozen=True)
class Discovered:
    company: Company
    sources: dict[str, str]
    keys: tuple[str, ...]  # the company_keys a later import meets it by


@dataclass
class Discoveries:
    matches: dict[str, Match] = field(default_factory=dict)
    companies: dict[str, Discovered] = field(default_factory=dict)  # by company id

    def add(self, ip: str, match: Match, found: Discovered) -> None:
        self.matches[ip] = match
        self.companies.setdefault(found.company.id, found)

    def provenance(self) -> dict[str, Provenance]:
        return {
            id_: Provenance(found.sources[DISCOVERED], found.company.domain)
            for id_, found in self.companies.items()
        }

    def __ior__(self, other: Discoveries) -> Discoveries:
        self.matches |= other.matches
        for company_id, found in other.companies.items():
            self.companies.setdefault(company_id, found)
        return self


def network_company_id(number: int) -> str:
    """The same id for an AS's discovered company in every process (creating it is
    idempotent), and never a domain's (``enrichment.company_id_for``)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"openfeeder:asn:{number}"))


def network_domain(record: AsnRecord) -> str | None:
    """The organisation's domain as the network's source gives it: IPinfo's AS domain today.
    Hook: the network-type sources (PeeringDB's ``website``) fill ``AsnRecord.domain`` too."""
    domain = record.domain.removeprefix("www.") if record.domain else None
    return domain if domain and valid_hostname(domain) else None


def discover_networks(records: Mapping[str, AsnRecord]) -> Discoveries:
    """Companies for IPs in organisations' networks the company database does not know:
    only where the kind rests on evidence (a list, a source's type), never on a keyword or
    the default, and never for ``unknown``."""
    out = Discoveries()
    for ip, record in records.items():
        words = _KINDS.get(record.kind)
        if words is None or not record.evidence or record.number is None:
            continue
        name = record.organization or record.label
        domain = network_domain(record)
        company = Company(id=network_company_id(record.number), name=name[:300], domain=domain)
        sources = {"name": NETWORK, DISCOVERED: NETWORK} | ({"domain": NETWORK} if domain else {})
        keys = (f"{store.ASN_PREFIX}{record.number}", *([domain] if domain else []))
        match = Match(company.id, "asn", network_reason(ip, record))
        out.add(ip, match, Discovered(company, sources, keys))
    return out


def network_reason(ip: str, record: AsnRecord) -> str:
    words = _KINDS.get(record.kind, "a network")
    return f"{ip} is in {record.label}, {words} ({record.why}); company discovered from the network"


@dataclass(frozen=True)
class Provenance:
    how: str  # network or reverse_dns
    domain: str | None


def provenance(conn: sa.Connection, company_ids: Iterable[str]) -> dict[str, Provenance]:
    """How the discovered companies among ``company_ids`` were discovered, and their domains."""
    found = store.discovered_companies(conn, set(company_ids), DISCOVERED)
    return {id_: Provenance(how, domain) for id_, (how, domain) in found.items()}


def restate(
    matches: Mapping[str, Match], found: Mapping[str, Provenance], records: Mapping[str, AsnRecord]
) -> dict[str, Match]:
    """Matches of companies discovered earlier, saying so as the discovery did."""
    out: dict[str, Match] = {}
    for ip, match in matches.items():
        known = found.get(match.company_id)
        if known is None or "discovered" in match.reason:
            continue
        if match.source == "asn" and known.how == NETWORK and ip in records:
            out[ip] = replace(match, reason=network_reason(ip, records[ip]))
        else:
            how = "the network" if known.how == NETWORK else "reverse DNS"
            out[ip] = replace(match, reason=f"{match.reason}; company discovered from {how}")
    return out


class NetworkDomains:
    """Registrable domains of ISP, mobile, hosting and cloud operators: a PTR name under one
    names the network, not a company. The bundled list, the bundled keyword rules applied to
    the domain's own label, and whatever ``extend`` adds (the network-type sources' websites)."""

    def __init__(self, domains: Iterable[str], classifier: AsnClassifier | None = None) -> None:
        self._domains = {d.strip().lower() for d in domains if d.strip()}
        self._classifier = classifier

    @classmethod
    def bundled(cls, classifier: AsnClassifier | None = None) -> NetworkDomains:
        text = resources.files("openfeeder.identify").joinpath("network_domains.txt").read_text()
        lines = (line.split("#", 1)[0] for line in text.splitlines())
        return cls(lines, classifier or AsnClassifier.bundled())

    def extend(self, domains: Iterable[str]) -> None:
        """Add operators' domains (e.g. the websites of networks a source types isp/hosting)."""
        self._domains |= {d.strip().lower().removeprefix("www.") for d in domains if d.strip()}

    def __contains__(self, domain: object) -> bool:
        return isinstance(domain, str) and self.sign(domain) is not None

    def sign(self, domain: str) -> str | None:
        """Why a registrable domain is a network operator's; None when it is not known as one."""
        if domain in self._domains:
            return f"{domain} is a known network operator's domain"
        if self._classifier is not None:
            label = re.sub(r"[-_]+", " ", domain.split(".", 1)[0])
            found = self._classifier.classify(None, label)
            if found.kind in NEVER_LEADS:
                return f"{domain} looks like a {found.kind} operator's ({found.why})"
        return None


def readable_name(domain: str) -> str:
    """``acme-widgets.fi`` → ``Acme Widgets``: a name until the website or an import gives one."""
    label = domain.split(".", 1)[0]
    words = [w for w in re.split(r"[-_]+", label) if w]
    return " ".join(w.capitalize() for w in words) or domain


def discover_hostnames(
    found: Mapping[str, tuple[IPAddress, Sequence[str]]],
    suffixes: PublicSuffixes,
    operators: NetworkDomains,
) -> Discoveries:
    """Companies for IPs by a static host name under a registrable domain that is not a
    network operator's and not an address pool's: the company is keyed by that domain."""
    out = Discoveries()
    for ip, (address, names) in found.items():
        for name in sorted(names):
            if not valid_hostname(name) or (parts := suffixes.split(name)) is None:
                continue
            subdomain, domain = parts
            if dynamic_pool_sign(subdomain, address) is not None or domain in operators:
                continue
            company = Company(id=company_id_for(domain), name=readable_name(domain), domain=domain)
            sources = {"name": REVERSE_DNS, "domain": REVERSE_DNS, DISCOVERED: REVERSE_DNS}
            reason = (
                f"{ip} reverse-resolves to {name}, a static host name under {domain}; company "
                "discovered from reverse DNS"
            )
            match = Match(company.id, "reverse_dns", reason)
            out.add(ip, match, Discovered(company, sources, (domain,)))
            break
    return out


def save(conn: sa.Connection, found: Discoveries) -> None:
    store.insert_discovered(
        conn, [(d.company, d.sources, d.keys) for d in found.companies.values()]
    )


def apply_facts(row: store.Sourced, facts: Mapping[str, Any]) -> store.Sourced | None:
    """The company with what its website says, in fields that are empty or were discovered;
    None when nothing changes."""
    changes: dict[str, Any] = {}
    sources = dict(row.sources)
    profile = dict(row.profile)
    for name, value in facts.items():
        if not isinstance(value, str) or not value:
            continue
        if sources.get(name) not in REPLACEABLE and _has(row, name):
            continue  # imported (or written before sources were recorded): kept
        if name in WEBSITE_FIELDS and getattr(row.company, name) != value:
            changes[name] = value
        elif name in PROFILE_FIELDS and profile.get(name) != value:
            profile[name] = value
        else:
            continue
        sources[name] = WEBSITE
    if not changes and profile == row.profile:
        return None
    return store.Sourced(replace(row.company, **changes), sources, profile)


def _has(row: store.Sourced, name: str) -> bool:
    if name in WEBSITE_FIELDS:
        return getattr(row.company, name) not in (None, "")
    return bool(row.profile.get(name))


def apply_websites(conn: sa.Connection, facts: Mapping[str, Mapping[str, Any]]) -> int:
    """Apply each company's (by id) website facts; how many companies changed."""
    sourced = store.sourced_companies(conn, set(facts))
    changed = [
        new for id_, row in sourced.items() if (new := apply_facts(row, facts[id_])) is not None
    ]
    store.update_sourced(conn, changed)
    return len(changed)
