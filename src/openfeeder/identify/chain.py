"""The resolver chain: for a batch of IPs, traffic rules → company ranges → ASN → reverse DNS
→ enrichment; the first confident answer wins and says why. With discovery on, an
organisation's network and a static host name the company database does not know make a
company (``identify/discovery.py``), and discovered companies' websites are read. The
Identifier owns the outside things the resolvers need (MMDB readers, name servers, the HTTP
clients, its event loop)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa

from openfeeder.config import Settings
from openfeeder.domain.clock import SYSTEM_CLOCK, Clock
from openfeeder.domain.models import Location
from openfeeder.identify import asn as asn_
from openfeeder.identify import discovery as discovery_
from openfeeder.identify import enrichment as enrichment_
from openfeeder.identify import rdns as rdns_
from openfeeder.identify import reloading
from openfeeder.identify.cache import EventLoopThread, SlowResolver, cached_lookups, lookup_all
from openfeeder.identify.geo import UNKNOWN_LOCATION
from openfeeder.identify.outcome import Drop, Identification, Match
from openfeeder.identify.ranges import IPAddress, most_specific, parse_ip
from openfeeder.identify.rules import TrafficRules
from openfeeder.identify.website import WebsiteFetcher
from openfeeder.store import identify as store

log = logging.getLogger(__name__)

# Slow lookups in flight at once per identifier: enough to hide latency, few enough that a
# batch does not flood a name server or a provider's rate limit.
CONCURRENCY = 32
# Company websites fetched per batch at most; the others wait for a later batch.
WEBSITES_PER_BATCH = 8


class AsnLookup(Protocol):
    def lookup(self, address: IPAddress) -> asn_.AsnRecord | None: ...

    def close(self) -> None: ...


class Locator(Protocol):
    def locate(self, address: IPAddress) -> Location: ...

    def close(self) -> None: ...


class Enricher(SlowResolver, Protocol):
    async def aclose(self) -> None: ...


class Identifier:
    """Identifies batches of IPs; thread-safe, so one serves the pipeline and the API."""

    def __init__(
        self,
        *,
        asn: AsnLookup | None = None,
        geo: Locator | None = None,
        rdns: SlowResolver | None = None,
        enrichment: Enricher | None = None,
        discover: bool = False,
        website: WebsiteFetcher | None = None,
        websites_per_batch: int = WEBSITES_PER_BATCH,
        network_types: asn_.NetworkTypes | None = None,
        clock: Clock = SYSTEM_CLOCK,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self._asn = asn
        self._network_types = network_types
        self._geo = geo
        self._rdns = rdns
        self._suffixes = rdns_.PublicSuffixes() if rdns is not None else None
        self._enrichment = enrichment
        self._discover = discover
        self._operators = discovery_.NetworkDomains.bundled() if discover else None
        self._website = website
        self._websites_per_batch = websites_per_batch
        self._clock = clock
        self._concurrency = concurrency
        self._loop = EventLoopThread()

    @property
    def slow(self) -> bool:
        """Whether a resolver asks over the network (reverse DNS, the enrichment provider,
        company websites)."""
        return self._rdns is not None or self._enrichment is not None or self._website is not None

    @property
    def network_domains(self) -> discovery_.NetworkDomains | None:
        """The network operators' domains reverse DNS discovers no company under (the
        network-type sources extend it)."""
        return self._operators

    def identify_many(
        self,
        conn: sa.Connection,
        account_id: int | None,
        ips: Sequence[str],
        *,
        websites: bool = True,
    ) -> dict[str, Identification]:
        """An Identification for every IP given (keyed by the text given). ``account_id``
        None applies no traffic rules. Slow answers are cached in ``ip_cache`` through
        ``conn``, which must therefore be able to write. ``websites`` False reads no company
        website (a caller inside a write transaction, or answering a request); a later call
        reads them."""
        at = self._clock.now()
        rules = (
            TrafficRules.from_rows(store.traffic_rules(conn, account_id))
            if account_id is not None
            else TrafficRules()
        )
        canonical: dict[str, str] = {}  # text given → the address's canonical text
        addresses: dict[str, IPAddress] = {}
        for text in ips:
            address = parse_ip(text)
            if address is not None:
                canonical[text] = str(address)
                addresses[str(address)] = address
        outcomes = self._resolve(conn, rules, addresses, at, websites=websites)
        none = Identification(None, None, None, None, UNKNOWN_LOCATION)
        return {text: outcomes[canonical[text]] if text in canonical else none for text in ips}

    def _resolve(
        self,
        conn: sa.Connection,
        rules: TrafficRules,
        addresses: Mapping[str, IPAddress],
        at: datetime,
        *,
        websites: bool,
    ) -> dict[str, Identification]:
        locations = {ip: self._locate(a) for ip, a in addresses.items()}
        decided: dict[str, Match | Drop] = {}
        for ip, address in addresses.items():
            if drop := rules.address_drop(ip, address, locations[ip]):
                decided[ip] = drop
        live = {ip: a for ip, a in addresses.items() if ip not in decided}

        later: dict[str, Match | Drop] = {
            ip: Match(m.company_id, "company_range", m.reason(ip))
            for ip, m in most_specific(conn, live).items()
        }
        discovered = discovery_.Discoveries()
        records: dict[str, asn_.AsnRecord] = {}
        facts: dict[str, dict[str, Any]] = {}  # what discovered companies' websites say
        later |= self._networks(
            conn, {ip: a for ip, a in live.items() if ip not in later}, discovered, records
        )
        # Private, loopback and documentation addresses are never sent to a name server or
        # the provider: their answers are meaningless and the question leaks them.
        public = {ip for ip, address in live.items() if address.is_global}
        # Host name rules outrank everything after the address rules, so with any of them
        # every address needs its PTR; otherwise only the ones left for reverse DNS do.
        wanted = public if rules.hostnames else public - set(later)
        names = self._ptr_names(conn, wanted, at)
        for ip, found in names.items():
            if drop := rules.hostname_drop(ip, found):
                decided[ip] = drop
        if self._suffixes is not None:
            left = {ip: (live[ip], names[ip]) for ip in wanted - set(later) - set(decided)}
            later |= rdns_.match_hostnames(conn, left, self._suffixes)
        if self._enrichment is not None:
            unresolved = public - set(later) - set(decided)
            answers = cached_lookups(
                conn, self._enrichment, unresolved, self._loop, at, concurrency=self._concurrency
            )
            later |= enrichment_.match_answers(conn, answers)
        if self._suffixes is not None and self._operators is not None:
            left = {ip: (live[ip], names[ip]) for ip in wanted - set(later) - set(decided)}
            discovered |= discovery_.discover_hostnames(left, self._suffixes, self._operators)
            later |= discovered.matches
        if self._discover:
            matches = {ip: m for ip, m in later.items() if isinstance(m, Match)}
            origins = discovery_.provenance(conn, {m.company_id for m in matches.values()})
            later |= discovery_.restate(matches, origins, records)
            origins |= discovered.provenance()
            if self._website is not None and websites:
                # Fetched before this call writes anything of its own, so no write lock
                # is taken for the fetching.
                domains = {id_: p.domain for id_, p in origins.items() if p.domain}
                facts = self._read_websites(conn, domains, set(discovered.companies), at)
        if discovered.companies:
            discovery_.save(conn, discovered)
        if facts:
            discovery_.apply_websites(conn, facts)
        for ip, outcome in later.items():
            decided.setdefault(ip, outcome)
        return {ip: _identification(decided.get(ip), locations[ip]) for ip in addresses}

    def _locate(self, address: IPAddress) -> Location:
        return self._geo.locate(address) if self._geo is not None else UNKNOWN_LOCATION

    def _read_websites(
        self, conn: sa.Connection, domains: Mapping[str, str], new: set[str], at: datetime
    ) -> dict[str, dict[str, Any]]:
        """Fetch (at most ``websites_per_batch``) discovered companies' websites not read
        within their TTL; what they say by company id, to apply. Companies discovered in this
        batch also get what a fresh cached answer says."""
        assert self._website is not None
        if not domains:
            return {}
        cached = store.website_cache_get(conn, set(domains.values()), at)
        missing = sorted(set(domains.values()) - set(cached))[: self._websites_per_batch]
        fresh: dict[str, dict[str, Any]] = {}
        if missing:
            timeout = self._website.deadline + 0.5
            looked = self._loop.run(lookup_all(self._website, missing, self._concurrency, timeout))
            store.website_cache_put(conn, {d: (a, at + ttl) for d, (a, ttl) in looked.items()})
            fresh = {domain: answer for domain, (answer, _ttl) in looked.items()}
        facts: dict[str, dict[str, Any]] = {}
        for company_id, domain in domains.items():
            answer = fresh.get(domain) or (cached.get(domain) if company_id in new else None)
            if answer and answer.get("status") == "ok" and isinstance(answer.get("facts"), dict):
                facts[company_id] = answer["facts"]
        return facts

    def _networks(
        self,
        conn: sa.Connection,
        addresses: Mapping[str, IPAddress],
        found: discovery_.Discoveries,
        records: dict[str, asn_.AsnRecord],
    ) -> dict[str, Match | Drop]:
        """ISP, mobile and hosting networks dropped; education and business ones mapped to a
        company when the company import names them, else (with positive evidence, when
        discovery is on) to a company discovered from the network."""
        if self._asn is None:
            return {}
        refreshed = self._network_types is not None and self._network_types.refresh(conn)
        if refreshed and self._operators is not None and self._network_types is not None:
            # Host names under an ISP's or a host's website domain are never a company's.
            self._operators.extend(self._network_types.never_lead_domains)
        out: dict[str, Match | Drop] = {}
        mappable: dict[str, asn_.AsnRecord] = {}
        for ip, address in addresses.items():
            record = self._asn.lookup(address)
            if record is None:
                continue
            if (reason := asn_.NEVER_LEADS.get(record.kind)) is not None:
                out[ip] = Drop(reason, asn_.describe_drop(ip, record))
            else:
                mappable[ip] = record
        records |= mappable
        matched = asn_.match_networks(conn, mappable)
        if self._discover:
            found |= discovery_.discover_networks(
                {ip: r for ip, r in mappable.items() if ip not in matched}
            )
        return out | matched | found.matches

    def _ptr_names(
        self, conn: sa.Connection, ips: set[str], at: datetime
    ) -> dict[str, tuple[str, ...]]:
        if self._rdns is None or not ips:
            return {}
        answers = cached_lookups(
            conn, self._rdns, ips, self._loop, at, concurrency=self._concurrency
        )
        return {ip: rdns_.PtrAnswer.from_json(answer).names for ip, answer in answers.items()}

    def ip_databases(self) -> dict[str, bool]:
        """Whether lookups have each IP database ("asn", "city") open now, for readiness."""
        return {"asn": _loaded(self._asn), "city": _loaded(self._geo)}

    def close(self) -> None:
        """Release the databases, the HTTP client and the event loop; idempotent."""
        if self._enrichment is not None and self._loop.started:
            self._loop.run(self._enrichment.aclose())
        if self._website is not None and self._loop.started:
            self._loop.run(self._website.aclose())
        self._loop.close()
        for reader in (self._asn, self._geo):
            if reader is not None:
                reader.close()
        self._asn = self._geo = None


def _loaded(reader: AsnLookup | Locator | None) -> bool:
    # A database that follows its file has none open until the file appears; others are open.
    if reader is None:
        return False
    follower = getattr(reader, "file", None)
    return follower.loaded if isinstance(follower, reloading.Reloading) else True


def _identification(outcome: Match | Drop | None, location: Location) -> Identification:
    if isinstance(outcome, Match):
        return Identification(outcome.company_id, outcome.source, outcome.reason, None, location)
    if isinstance(outcome, Drop):
        return Identification(None, None, outcome.explanation, outcome.reason, location)
    return Identification(None, None, None, None, location)


def _reverse_dns(settings: Settings) -> rdns_.ReverseDns | None:
    try:
        return rdns_.ReverseDns(settings.dns_servers, settings.dns_timeout)
    except rdns_.NoNameServers as error:
        # A container without /etc/resolv.conf still identifies by the other resolvers.
        log.warning("reverse DNS is off: %s", error)
        return None


def make_identifier(settings: Settings, *, clock: Clock = SYSTEM_CLOCK) -> Identifier:
    """The identifier the settings describe: each resolver present when configured."""
    opened: list[AsnLookup | Locator] = []
    # The imported network types, loaded from the store on the first batch and kept fresh.
    network_types = asn_.NetworkTypes(clock=clock)
    try:
        # The configured files, else the downloaded ones; a replaced file is reopened.
        asn = reloading.open_asn(settings, asn_.AsnClassifier.bundled(network_types))
        opened.append(asn)
        geo = reloading.open_city(settings)
        opened.append(geo)
        rdns = _reverse_dns(settings) if settings.reverse_dns else None
        enrichment = (
            enrichment_.EnrichmentProvider(
                settings.enrichment_url, settings.enrichment_key, settings.enrichment_timeout
            )
            if settings.enrichment_url
            else None
        )
        website = (
            WebsiteFetcher(
                url_template=settings.website_url,
                servers=settings.dns_servers,
                timeout=settings.website_timeout,
                allow_loopback=settings.website_allow_loopback,
            )
            if settings.discover_companies and settings.website_enrichment
            else None
        )
    except BaseException:
        for reader in opened:
            reader.close()
        raise
    return Identifier(
        asn=asn,
        geo=geo,
        rdns=rdns,
        enrichment=enrichment,
        discover=settings.discover_companies,
        website=website,
        websites_per_batch=settings.websites_per_batch,
        network_types=network_types,
        clock=clock,
    )
