"""An account's traffic rules, the chain's first step: its own office ranges, excluded
countries and excluded host names drop a visit before anything tries to identify it. (Its
``company`` rules drop nothing: they hide the company's leads from lead lists, and the
store keeps them, see ``store/traffic.py``.)"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import ip_network

from openfeeder.domain.drops import DropReason
from openfeeder.domain.models import Location
from openfeeder.identify.outcome import Drop
from openfeeder.identify.ranges import IPAddress, IPNetwork, plain_network

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrafficRules:
    networks: tuple[IPNetwork, ...] = ()
    countries: frozenset[str] = frozenset()
    hostnames: tuple[str, ...] = ()  # a rule "acme.fi" covers acme.fi and *.acme.fi

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str]]) -> TrafficRules:
        networks: list[IPNetwork] = []
        countries: set[str] = set()
        hostnames: list[str] = []
        for kind, value in rows:
            text = value.strip()
            if kind == "ip_range":
                try:
                    networks.append(plain_network(ip_network(text, strict=False)))
                except ValueError:
                    # A bad stored rule must not stop identification for the whole batch.
                    log.warning("ignoring traffic rule ip_range %r: not a network", value)
            elif kind == "country":
                countries.add(text.upper())
            elif kind == "hostname":
                hostnames.append(text.lower().strip(".").removeprefix("*."))
        return cls(tuple(networks), frozenset(countries), tuple(hostnames))

    def address_drop(self, ip: str, address: IPAddress, location: Location) -> Drop | None:
        for network in self.networks:
            if address.version == network.version and address in network:
                return Drop(DropReason.OWN_TRAFFIC, f"{ip} is in the account's own range {network}")
        code = location.country_code
        if code and code.upper() in self.countries:
            return Drop(DropReason.EXCLUDED_COUNTRY, f"{ip} is in an excluded country ({code})")
        return None

    def hostname_drop(self, ip: str, names: Sequence[str]) -> Drop | None:
        for name in names:
            for rule in self.hostnames:
                if name == rule or name.endswith("." + rule):
                    return Drop(
                        DropReason.EXCLUDED_HOSTNAME, f"{ip} is {name}, an excluded host name"
                    )
        return None
