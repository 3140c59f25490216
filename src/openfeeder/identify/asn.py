"""The ASN resolver's knowledge: reading an MMDB ASN database (GeoLite2-ASN, DB-IP ASN Lite,
IPinfo Lite and IPinfo ASN field names) and classifying each network as isp, mobile, hosting,
education, government, business or unknown: the operator's overrides and the network types
imported from public sources first (``NetworkTypes``, held in memory), then the bundled rules
of ``asn_classes.toml``."""

from __future__ import annotations

import re
import threading
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Literal, NamedTuple, get_args

import maxminddb
import sqlalchemy as sa
from maxminddb.errors import InvalidDatabaseError

from openfeeder.domain.clock import SYSTEM_CLOCK, Clock
from openfeeder.domain.drops import DropReason
from openfeeder.domain.errors import OpenfeederError
from openfeeder.domain.ids import whole_number
from openfeeder.identify.outcome import Match
from openfeeder.identify.ranges import IPAddress
from openfeeder.store import identify as store
from openfeeder.store import networks as networks_store
from openfeeder.store.networks import NetworkRow

AsnKind = Literal["isp", "mobile", "hosting", "education", "government", "business", "unknown"]
ASN_KINDS: tuple[AsnKind, ...] = get_args(AsnKind)
# The kinds a source or the operator can give a network (``unknown`` is the absence of one).
TYPED_KINDS: tuple[AsnKind, ...] = tuple(kind for kind in ASN_KINDS if kind != "unknown")
# Traffic from these never becomes a lead; the value is the Identification's drop reason.
NEVER_LEADS: dict[AsnKind, DropReason] = {
    "isp": DropReason.ISP,
    "mobile": DropReason.MOBILE,
    "hosting": DropReason.HOSTING,
}
# The order keyword rules are tried in: an "education" or "mobile" name is more telling than a
# generic word such as "communications" that mobile operators and ISPs share.
_KEYWORD_ORDER: tuple[AsnKind, ...] = (
    "education",
    "government",
    "business",
    "mobile",
    "hosting",
    "isp",
)
# Where imported sources name several kinds of one side, the most telling wins.
_NEVER_LEAD_ORDER: tuple[AsnKind, ...] = ("mobile", "hosting", "isp")
_KEEP_ORDER: tuple[AsnKind, ...] = ("education", "government", "business")
_MAX_ASN = 2**32 - 1
# How often the identifier asks the store whether an import changed the network types.
REFRESH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class AsnRecord:
    """One address's network as the ASN database describes it, classified."""

    number: int | None
    organization: str | None
    domain: str | None  # the network owner's domain (IPinfo databases, PeeringDB's website)
    kind: AsnKind
    why: str  # how the kind was decided (which source), for match and drop reasons
    # Whether the kind rests on positive evidence: the operator, imported network types, the
    # bundled list or the database's own type (True); keyword rules or nothing (False).
    evidence: bool = False

    @property
    def label(self) -> str:
        """``AS64500 (Acme Oy)`` as reasons show it."""
        name = f"AS{self.number}" if self.number is not None else "an unnumbered network"
        return f"{name} ({self.organization})" if self.organization else name


class Classification(NamedTuple):
    kind: AsnKind
    why: str
    evidence: bool
    domain: str | None = None  # the organisation's website, where an imported source has it


def _source_words(row: NetworkRow) -> str:
    """What one source said, as reasons show it."""
    asn = f"AS{row.asn}"
    if row.source == networks_store.OVERRIDE:
        return f"the operator set {asn} to {row.kind}"
    if row.source.startswith("bgptools:"):
        return f"bgp.tools tags {asn} {row.detail or row.source.removeprefix('bgptools:')}"
    if row.source == "peeringdb":
        return f"PeeringDB types {asn} {row.detail or row.kind}"
    if row.source.startswith("list:"):
        return f"{asn} is on the {row.kind} list {row.source.removeprefix('list:')}"
    return f"{row.source} types {asn} {row.kind}"


def _yields(row: NetworkRow) -> bool:
    """PeeringDB's ``Content`` (hosting) is true of CDNs and of enterprises serving their own
    content alike: it gives way to another source's business, education or government type."""
    return row.source == "peeringdb" and row.kind == "hosting"


def decide(rows: Sequence[NetworkRow]) -> Classification | None:
    """The kind that one AS's imported rows give it, or None when none types it: the
    operator's override; else where sources disagree the never-lead side (except a PeeringDB
    ``Content`` against a keep type); else the keep side."""
    typed = [row for row in rows if row.kind in TYPED_KINDS]
    if not typed:
        return None
    domain = next((row.domain for row in rows if row.domain), None)
    for row in typed:
        if row.source == networks_store.OVERRIDE:
            return Classification(_kind(row.kind or ""), _source_words(row), True, domain)
    keep = [row for row in typed if row.kind not in NEVER_LEADS]
    yielded = [row for row in typed if row.kind in NEVER_LEADS and keep and _yields(row)]
    block = [row for row in typed if row.kind in NEVER_LEADS and row not in yielded]
    side, order, overruled = (
        (block, _NEVER_LEAD_ORDER, keep) if block else (keep, _KEEP_ORDER, yielded)
    )
    chosen = min(side, key=lambda row: (order.index(_kind(row.kind or "")), row.source))
    why = _source_words(chosen)
    if overruled:
        why += f", over {'; '.join(_source_words(row) for row in overruled)}"
    return Classification(_kind(chosen.kind or ""), why, True, domain)


class NetworkTypes:
    """The imported network types in memory (AS number → decision), as the classifier reads
    them on every hit; ``refresh`` reloads them from the store when an import changed them,
    asking at most once per ``interval``. Thread-safe: a reload swaps one dictionary."""

    def __init__(self, *, clock: Clock = SYSTEM_CLOCK, interval: timedelta = REFRESH_INTERVAL):
        self._clock = clock
        self._interval = interval
        self._decided: dict[int, Classification] = {}
        self._never_lead_domains: frozenset[str] = frozenset()
        self._version: tuple[datetime | None, int, int] = (None, 0, 0)  # an empty store
        self._checked_at: datetime | None = None
        self._lock = threading.Lock()

    def get(self, number: int) -> Classification | None:
        return self._decided.get(number)

    def __len__(self) -> int:
        return len(self._decided)

    def load(self, rows: Iterable[NetworkRow]) -> None:
        by_asn: dict[int, list[NetworkRow]] = {}
        for row in rows:
            by_asn.setdefault(row.asn, []).append(row)
        decided = {asn: found for asn, group in by_asn.items() if (found := decide(group))}
        self._never_lead_domains = frozenset(
            found.domain for found in decided.values() if found.domain and found.kind in NEVER_LEADS
        )
        self._decided = decided

    @property
    def never_lead_domains(self) -> frozenset[str]:
        """The websites' domains (PeeringDB's) of networks imported as isp, mobile or hosting:
        host names under them are an ISP's or a host's, never a company's."""
        return self._never_lead_domains

    def refresh(self, conn: sa.Connection) -> bool:
        """Reload when the store's version moved; True when it did."""
        now = self._clock.now()
        with self._lock:
            if self._checked_at is not None and now - self._checked_at < self._interval:
                return False
            self._checked_at = now
            version = networks_store.version(conn)
            if version == self._version:
                return False
            self.load(networks_store.typed_rows(conn))
            self._version = version
            return True


class AsnClassifier:
    """The kind of a network, first answer wins: the operator's override and imported network
    types (``NetworkTypes``), the bundled list by number, the database's own type, keyword
    rules on the organisation name, else unknown."""

    def __init__(
        self,
        by_number: Mapping[int, AsnKind],
        keywords: Mapping[AsnKind, list[re.Pattern[str]]],
        imported: NetworkTypes | None = None,
    ) -> None:
        self._by_number = dict(by_number)
        # One alternation per kind, searched in the lower-cased name: a name is scanned once
        # per kind, not once per pattern, and without IGNORECASE (each about 3 times faster).
        self._keywords = [
            (kind, re.compile("|".join(f"(?:{p.pattern})" for p in patterns)))
            for kind in _KEYWORD_ORDER
            if (patterns := keywords.get(kind))
        ]
        self.imported = imported

    @classmethod
    def bundled(cls, imported: NetworkTypes | None = None) -> AsnClassifier:
        text = resources.files("openfeeder.identify").joinpath("asn_classes.toml").read_text()
        return cls.from_toml(text, imported)

    @classmethod
    def from_toml(cls, text: str, imported: NetworkTypes | None = None) -> AsnClassifier:
        data = tomllib.loads(text)
        by_number: dict[int, AsnKind] = {}
        for kind, numbers in data.get("asns", {}).items():
            for number in numbers:
                by_number[int(number)] = _kind(kind)
        keywords = {
            _kind(kind): [_keyword(pattern) for pattern in patterns]
            for kind, patterns in data.get("keywords", {}).items()
        }
        return cls(by_number, keywords, imported)

    def classify(
        self, number: int | None, organization: str | None, declared: str | None = None
    ) -> Classification:
        """The kind, why in words, and whether it rests on positive evidence."""
        if number is not None:
            if self.imported is not None and (found := self.imported.get(number)) is not None:
                return found
            if number in self._by_number:
                kind = self._by_number[number]
                return Classification(kind, f"AS{number} is listed as {kind}", True)
        if declared in TYPED_KINDS:
            return Classification(_kind(declared), f"the ASN database types it {declared}", True)
        if organization:
            lowered = organization.lower()
            for kind, pattern in self._keywords:
                if found_word := pattern.search(lowered):
                    # The word as the name writes it (lower() keeps the length but for a few
                    # letters such as "İ").
                    word = (
                        organization[found_word.start() : found_word.end()]
                        if len(lowered) == len(organization)
                        else found_word.group(0)
                    )
                    return Classification(kind, f"its name contains {word!r}", False)
        return Classification("unknown", "no sign of its type", False)


def _keyword(pattern: str) -> re.Pattern[str]:
    # Names are lower-cased before the rules are searched, so a rule must be lower case too.
    if pattern != pattern.lower():
        raise ValueError(f"keyword rule {pattern!r} must be written in lower case")
    return re.compile(pattern)


def _kind(value: str) -> AsnKind:
    if value not in ASN_KINDS:
        raise ValueError(f"unknown ASN kind {value!r}; known: {', '.join(ASN_KINDS)}")
    return value


def parse_asn(value: object) -> int | None:
    """An AS number from ``64500``, ``"64500"`` or ``"AS64500"``; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        parsed = whole_number(value.strip().upper().removeprefix("AS"), 10)
        if parsed is None:
            return None
        number = parsed
    else:
        return None
    return number if 0 < number <= _MAX_ASN else None


# Legal-form words dropped before names are compared, so "Acme Oy", "ACME-OY" and "Acme" agree.
_LEGAL_FORMS = frozenset(
    {
        "inc",
        "incorporated",
        "llc",
        "ltd",
        "limited",
        "corp",
        "corporation",
        "co",
        "company",
        "gmbh",
        "mbh",
        "ag",
        "kg",
        "ab",
        "oy",
        "oyj",
        "as",
        "asa",
        "aps",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "plc",
        "pty",
        "pte",
        "kk",
        "llp",
        "lp",
        "sl",
        "se",
        "holding",
        "holdings",
        "group",
        "asn",
    }
)


def organization_key(name: str | None) -> str | None:
    """A comparable form of a company or AS organisation name: lower case, accents and
    punctuation and legal forms removed. None when nothing distinctive is left."""
    if not name:
        return None
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = text.replace("&", " and ")
    words = [w for w in re.split(r"[^a-z0-9]+", text) if w]
    while words and words[-1] in _LEGAL_FORMS:
        words.pop()
    key = " ".join(words)
    return key if len(key) >= 2 else None


def _first(record: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        value = record.get(name)
        if value not in (None, ""):
            return value
    return None


class AsnDatabase:
    """An MMDB ASN database, read through ``maxminddb`` (memory-mapped, safe across threads)."""

    def __init__(self, path: Path, classifier: AsnClassifier | None = None) -> None:
        try:
            self._reader = maxminddb.open_database(str(path))
        except (OSError, ValueError, InvalidDatabaseError) as error:
            raise OpenfeederError(f"cannot open the ASN database {path}: {error}") from None
        self._classifier = classifier or AsnClassifier.bundled()

    def lookup(self, address: IPAddress) -> AsnRecord | None:
        try:
            record = self._reader.get(address)
        except (ValueError, InvalidDatabaseError):  # IPv6 in an IPv4 database; a bad record
            return None
        if not isinstance(record, Mapping):
            return None
        # GeoLite2-ASN and DB-IP: autonomous_system_*; IPinfo Lite: asn/as_name/as_domain;
        # the IPinfo ASN database: asn/name/domain/type.
        number = parse_asn(_first(record, "autonomous_system_number", "asn"))
        organization = _first(record, "autonomous_system_organization", "as_name", "name")
        domain = _first(record, "as_domain", "domain")
        declared = _first(record, "type", "as_type")
        organization = str(organization) if organization is not None else None
        found = self._classifier.classify(
            number, organization, str(declared).lower() if declared else None
        )
        domain = domain or found.domain
        return AsnRecord(
            number=number,
            organization=organization,
            domain=str(domain).lower() if domain else None,
            kind=found.kind,
            why=found.why,
            evidence=found.evidence,
        )

    def close(self) -> None:
        self._reader.close()


_ARTICLED = {"isp": "an ISP", "mobile": "a mobile", "hosting": "a hosting"}


def describe_drop(ip: str, record: AsnRecord) -> str:
    return f"{ip} is in {record.label}, {_ARTICLED[record.kind]} network ({record.why})"


def match_networks(conn: sa.Connection, records: Mapping[str, AsnRecord]) -> dict[str, Match]:
    """Companies for IPs in education and business networks: by an AS number the company
    import lists, else by the network's domain, else by the organisation's name."""
    keys: set[str] = set()
    domains: set[str] = set()
    for record in records.values():
        if record.number is not None:
            keys.add(f"{store.ASN_PREFIX}{record.number}")
        if (org := organization_key(record.organization)) is not None:
            keys.add(f"{store.ORG_PREFIX}{org}")
        if record.domain:
            domains.add(record.domain)
    by_key = store.companies_by_key(conn, keys) if keys else {}
    by_domain = store.companies_by_domain(conn, domains) if domains else {}
    out: dict[str, Match] = {}
    for ip, record in records.items():
        listed = by_key.get(f"{store.ASN_PREFIX}{record.number}")
        if listed is not None:
            reason = f"{ip} is in {record.label}, an AS number of {listed.name}"
            out[ip] = Match(listed.id, "asn", reason)
        elif record.domain and (owner := by_domain.get(record.domain)) is not None:
            reason = f"{ip} is in {record.label}, whose domain {record.domain} is {owner.name}'s"
            out[ip] = Match(owner.id, "asn", reason)
        elif (org := organization_key(record.organization)) is not None and (
            named := by_key.get(f"{store.ORG_PREFIX}{org}")
        ) is not None:
            reason = f"{ip} is in {record.label}, whose name is {named.name}'s"
            out[ip] = Match(named.id, "asn", reason)
    return out
