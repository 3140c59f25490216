"""Reverse DNS: PTR lookups (dnspython, asynchronous, bounded by a timeout), host names to
registrable domains with the public suffix list (tldextract's bundled snapshot, never
fetched), dynamic-pool host names rejected, and domains to companies."""

from __future__ import annotations

import re
import socket
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from ipaddress import IPv4Address, ip_address
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.resolver
import sqlalchemy as sa
import tldextract

from openfeeder.domain.errors import OpenfeederError
from openfeeder.domain.ids import whole_number
from openfeeder.identify.outcome import Match
from openfeeder.identify.ranges import IPAddress
from openfeeder.store import identify as store

NAME = "reverse_dns"
# How long answers are cached: a name for its DNS TTL within these bounds, "no name" for a
# while, and a failure briefly, so a flaky server is asked again soon.
MIN_TTL = timedelta(hours=1)
MAX_TTL = timedelta(days=7)
NEGATIVE_TTL = timedelta(hours=6)
FAILURE_TTL = timedelta(minutes=10)

# Words ISPs put in the host names of dynamically assigned and residential addresses. Matched
# between non-letters, so "dsl" matches dsl-1-2-3-4 and adsl42 (listed), never "poolcorp".
_POOL_WORDS = (
    "dsl",
    "adsl",
    "vdsl",
    "xdsl",
    "sdsl",
    "dhcp",
    "pool",
    "pools",
    "dyn",
    "dynamic",
    "dynip",
    "dip",
    "dial",
    "dialup",
    "dialin",
    "cable",
    "cablemodem",
    "modem",
    "ppp",
    "pppoe",
    "pppoa",
    "static",
    "staticip",
    "broadband",
    "bb",
    "customer",
    "customers",
    "cust",
    "client",
    "clients",
    "res",
    "resi",
    "resnet",
    "residential",
    "home",
    "subscriber",
    "subscribers",
    "sub",
    "cpe",
    "ftth",
    "fttc",
    "fttb",
    "fttp",
    "fttx",
    "gpon",
    "wimax",
    "wireless",
    "wlan",
    "mobile",
    "gprs",
    "umts",
    "lte",
    "nat",
    "cgnat",
    "cgn",
    "hsd",
    "user",
    "users",
    "unassigned",
    "unknown",
    "nodns",
    "rev",
    "reverse",
    "ptr",
    "in-addr",
)
_POOL = re.compile(r"(?<![a-z])(" + "|".join(map(re.escape, _POOL_WORDS)) + r")(?![a-z])")
_STATIC_IP = re.compile(r"static[-_.]?ip")
_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?")


def valid_hostname(name: str) -> bool:
    labels = name.split(".")
    return len(name) <= 253 and len(labels) >= 2 and all(_LABEL.fullmatch(x) for x in labels)


def dynamic_pool_sign(subdomain: str, address: IPAddress) -> str | None:
    """Why a host name (its part left of the registrable domain) looks like an address pool
    rather than a company's host; None when it does not."""
    text = subdomain.lower()
    if found := _STATIC_IP.search(text) or _POOL.search(text):
        return f"{found.group(0)!r} marks an address pool"
    if isinstance(address, IPv4Address):
        octets = Counter(address.packed)
        numbers = Counter(int(d) for d in re.findall(r"\d+", text) if len(d) <= 3)
        if sum((octets & numbers).values()) >= 3 or f"{int(address):08x}" in text:
            return "the name spells the address"
    else:
        groups = Counter(int.from_bytes(address.packed[i : i + 2]) for i in range(0, 16, 2))
        groups.pop(0, None)
        tokens = Counter(int(h, 16) for h in re.findall(r"[0-9a-f]+", text) if len(h) <= 4)
        if sum((groups & tokens).values()) >= 3 or f"{int(address):032x}" in text:
            return "the name spells the address"
    return None


class PublicSuffixes:
    """Registrable domains from the public suffix list snapshot bundled with tldextract.
    ``suffix_list_urls=()`` and no cache directory: nothing is fetched or written, ever."""

    def __init__(self) -> None:
        self._extract = tldextract.TLDExtract(
            cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True
        )
        self._extract("warm.example.com")  # load the snapshot now, not in the first batch

    def split(self, hostname: str) -> tuple[str, str] | None:
        """(subdomain, registrable domain); None when the name has no registrable domain."""
        parts = self._extract(hostname)
        domain = parts.top_domain_under_public_suffix
        return (parts.subdomain, domain) if domain else None


@dataclass(frozen=True)
class PtrAnswer:
    names: tuple[str, ...]
    status: str  # ok, nxdomain, nodata, timeout, error

    @classmethod
    def from_json(cls, answer: Mapping[str, Any]) -> PtrAnswer:
        return cls(tuple(answer.get("names", ())), str(answer.get("status", "error")))


def parse_server(text: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address → (address, port)."""
    value = text.strip()
    host, port = value, 53
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        if rest:
            port_text = rest.removeprefix(":")
            port = whole_number(port_text, 5) or -1
    elif value.count(":") == 1:
        host, _, port_text = value.partition(":")
        port = whole_number(port_text, 5) or -1
    if not host or not 0 < port < 65536:
        raise OpenfeederError(f"OPENFEEDER_DNS_SERVERS: {text!r} is not host or host:port")
    try:
        ip_address(host)
    except ValueError:
        try:  # a name: resolved once, here, as a name server must be an address
            host = str(socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0][4][0])
        except OSError as error:
            message = f"OPENFEEDER_DNS_SERVERS: cannot resolve {host!r}: {error}"
            raise OpenfeederError(message) from None
    return str(host), port


class NoNameServers(OpenfeederError):
    """No name server is configured and the system names none."""


class ReverseDns:
    """PTR lookups through the configured name servers (the system's when none)."""

    name = NAME

    def __init__(self, servers: Sequence[str], timeout: float) -> None:
        try:
            resolver = dns.asyncresolver.Resolver(configure=not servers)
        except dns.resolver.NoResolverConfiguration:
            raise NoNameServers(
                "the system has no name servers (no /etc/resolv.conf); set OPENFEEDER_DNS_SERVERS"
            ) from None
        if servers:
            resolver.nameservers = [
                dns.nameserver.Do53Nameserver(host, port)
                for host, port in map(parse_server, servers)
            ]
        resolver.lifetime = timeout  # the whole lookup, retries included
        resolver.timeout = timeout / 2  # one try, so a lost packet gets a second
        resolver.cache = None  # ip_cache is the cache, shared by every process
        self._resolver = resolver
        self.timeout = timeout

    async def lookup(self, ip: str) -> tuple[dict[str, Any], timedelta]:
        try:
            answer = await self._resolver.resolve_address(ip)
        except dns.resolver.NXDOMAIN:
            return {"status": "nxdomain"}, NEGATIVE_TTL
        except dns.resolver.NoAnswer:
            return {"status": "nodata"}, NEGATIVE_TTL
        except dns.exception.Timeout:
            return {"status": "timeout"}, FAILURE_TTL
        except dns.exception.DNSException as error:
            return {"status": "error", "detail": error.__class__.__name__}, FAILURE_TTL
        names = sorted({str(r.target).rstrip(".").lower() for r in answer})
        ttl = timedelta(seconds=answer.rrset.ttl if answer.rrset is not None else 0)
        return {"status": "ok", "names": names}, min(max(ttl, MIN_TTL), MAX_TTL)


@dataclass(frozen=True)
class _Candidate:
    name: str
    keys: list[str]  # the name and its parents down to the registrable domain


def match_hostnames(
    conn: sa.Connection,
    found: Mapping[str, tuple[IPAddress, Sequence[str]]],
    suffixes: PublicSuffixes,
) -> dict[str, Match]:
    """Companies for IPs by their PTR names: the most specific company domain among each
    name's parents, names from address pools skipped."""
    candidates: dict[str, list[_Candidate]] = {}
    for ip, (address, names) in found.items():
        for name in names:
            if not valid_hostname(name) or (parts := suffixes.split(name)) is None:
                continue
            subdomain, domain = parts
            if dynamic_pool_sign(subdomain, address) is not None:
                continue
            labels = name.split(".")
            keys = [".".join(labels[i:]) for i in range(len(labels) - domain.count("."))]
            candidates.setdefault(ip, []).append(_Candidate(name, keys))
    wanted = {key for cands in candidates.values() for c in cands for key in c.keys}
    companies = store.companies_by_domain(conn, wanted) if wanted else {}
    matches: dict[str, Match] = {}
    for ip, cands in candidates.items():
        for cand in cands:
            key = next((k for k in cand.keys if k in companies), None)
            if key is not None:
                company = companies[key]
                reason = f"{ip} reverse-resolves to {cand.name}; {key} is {company.name}'s domain"
                matches[ip] = Match(company.id, "reverse_dns", reason)
                break
    return matches
