"""The resolver chain: for a batch of IPs, traffic rules → company ranges → ASN → reverse DNS
→ enrichment; the first confident answer wins and says why. The Identifier owns the outside
things the resolvers need (MMDB readers, name servers, the HTTP client, its event loop)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa

from openfeeder.config import Settings
from openfeeder.domain.clock import SYSTEM_CLOCK, Clock
from openfeeder.domain.models import Location
from openfeeder.identify import asn as asn_
from openfeeder.identify import enrichment as enrichment_
from openfeeder.identify import rdns as rdns_
from openfeeder.identify.cache import EventLoopThread, SlowResolver, cached_lookups
from openfeeder.identify.geo import UNKNOWN_LOCATION, CityDatabase
from openfeeder.identify.outcome import Drop, Identification, Match
from openfeeder.identify.ranges import IPAddress, most_specific, parse_ip
from openfeeder.identify.rules import TrafficRules
from openfeeder.store import identify as store

log = logging.getLogger(__name__)

# Slow lookups in flight at once per identifier: enough to hide latency, few enough that a
# batch does not flood a name server or a provider's rate limit.
CONCURRENCY = 32


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
        self._clock = clock
        self._concurrency = concurrency
        self._loop = EventLoopThread()

    @property
    def slow(self) -> bool:
        """Whether a resolver asks over the network (reverse DNS, the enrichment provider)."""
        return self._rdns is not None or self._enrichment is not None

    def identify_many(
        self, conn: sa.Connection, account_id: int | None, ips: Sequence[str]
    ) -> dict[str, Identification]:
        """An Identification for every IP given (keyed by the text given). ``account_id``
        None applies no traffic rules. Slow answers are cached in ``ip_cache`` through
        ``conn``, which must therefore be able to write."""
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
        outcomes = self._resolve(conn, rules, addresses, at)
        none = Identification(None, None, None, None, UNKNOWN_LOCATION)
        return {text: outcomes[canonical[text]] if text in canonical else none for text in ips}

    def _resolve(
        self,
        conn: sa.Connection,
        rules: TrafficRules,
        addresses: Mapping[str, IPAddress],
        at: datetime,
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
        later |= self._networks(conn, {ip: a for ip, a in live.items() if ip not in later})
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
        for ip, outcome in later.items():
            decided.setdefault(ip, outcome)
        return {ip: _identification(decided.get(ip), locations[ip]) for ip in addresses}

    def _locate(self, address: IPAddress) -> Location:
        return self._geo.locate(address) if self._geo is not None else UNKNOWN_LOCATION

    def _networks(
        self, conn: sa.Connection, addresses: Mapping[str, IPAddress]
    ) -> dict[str, Match | Drop]:
        """ISP, mobile and hosting networks dropped; education and business ones mapped to a
        company when the company import names them."""
        if self._asn is None:
            return {}
        if self._network_types is not None:
            self._network_types.refresh(conn)
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
        return out | asn_.match_networks(conn, mappable)

    def _ptr_names(
        self, conn: sa.Connection, ips: set[str], at: datetime
    ) -> dict[str, tuple[str, ...]]:
        if self._rdns is None or not ips:
            return {}
        answers = cached_lookups(
            conn, self._rdns, ips, self._loop, at, concurrency=self._concurrency
        )
        return {ip: rdns_.PtrAnswer.from_json(answer).names for ip, answer in answers.items()}

    def close(self) -> None:
        """Release the databases, the HTTP client and the event loop; idempotent."""
        if self._enrichment is not None and self._loop.started:
            self._loop.run(self._enrichment.aclose())
        self._loop.close()
        for reader in (self._asn, self._geo):
            if reader is not None:
                reader.close()
        self._asn = self._geo = None


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
        asn = (
            asn_.AsnDatabase(settings.asn_mmdb, asn_.AsnClassifier.bundled(network_types))
            if settings.asn_mmdb
            else None
        )
        if asn is not None:
            opened.append(asn)
        geo = CityDatabase(settings.city_mmdb) if settings.city_mmdb else None
        if geo is not None:
            opened.append(geo)
        rdns = _reverse_dns(settings) if settings.reverse_dns else None
        enrichment = (
            enrichment_.EnrichmentProvider(
                settings.enrichment_url, settings.enrichment_key, settings.enrichment_timeout
            )
            if settings.enrichment_url
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
        network_types=network_types,
        clock=clock,
    )
