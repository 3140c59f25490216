"""The ASN resolver's knowledge: reading an MMDB ASN database (GeoLite2-ASN, DB-IP ASN Lite,
IPinfo Lite and IPinfo ASN field names) and classifying each network as isp, mobile, hosting,
education or business with the rules of ``asn_classes.toml``."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

import maxminddb
import sqlalchemy as sa
from maxminddb.errors import InvalidDatabaseError

from openfeeder.domain.drops import DropReason
from openfeeder.domain.errors import OpenfeederError
from openfeeder.domain.ids import whole_number
from openfeeder.identify.outcome import Match
from openfeeder.identify.ranges import IPAddress
from openfeeder.store import identify as store

AsnKind = Literal["isp", "mobile", "hosting", "education", "business", "government", "unknown"]
ASN_KINDS: tuple[AsnKind, ...] = get_args(AsnKind)
# Traffic from these never becomes a lead; the value is the Identification's drop reason.
NEVER_LEADS: dict[AsnKind, DropReason] = {
    "isp": DropReason.ISP,
    "mobile": DropReason.MOBILE,
    "hosting": DropReason.HOSTING,
}
# The order keyword rules are tried in: an "education" or "mobile" name is more telling than a
# generic word such as "communications" that mobile operators and ISPs share.
_KEYWORD_ORDER: tuple[AsnKind, ...] = ("education", "mobile", "hosting", "isp")
_MAX_ASN = 2**32 - 1


@dataclass(frozen=True)
class AsnRecord:
    """One address's network as the ASN database describes it, classified."""

    number: int | None
    organization: str | None
    domain: str | None  # the network owner's domain (IPinfo databases carry it)
    kind: AsnKind
    why: str  # how the kind was decided, for match and drop reasons
    # True when the kind rests on positive evidence (the bundled AS list, the database's own
    # type field, imported network-type data, an operator override), not on a keyword or the
    # default: only then may an organisation's network become a company on its own.
    evidence: bool = False

    @property
    def label(self) -> str:
        """``AS64500 (Acme Oy)`` as reasons show it."""
        name = f"AS{self.number}" if self.number is not None else "an unnumbered network"
        return f"{name} ({self.organization})" if self.organization else name


class AsnClassifier:
    """isp / mobile / hosting / education / business for a network: listed numbers first, then
    the database's own type, then organisation-name keywords, else business."""

    def __init__(
        self, by_number: Mapping[int, AsnKind], keywords: Mapping[AsnKind, list[re.Pattern[str]]]
    ) -> None:
        self._by_number = dict(by_number)
        self._keywords = {kind: list(keywords.get(kind, [])) for kind in _KEYWORD_ORDER}

    @classmethod
    def bundled(cls) -> AsnClassifier:
        text = resources.files("openfeeder.identify").joinpath("asn_classes.toml").read_text()
        return cls.from_toml(text)

    @classmethod
    def from_toml(cls, text: str) -> AsnClassifier:
        data = tomllib.loads(text)
        by_number: dict[int, AsnKind] = {}
        for kind, numbers in data.get("asns", {}).items():
            for number in numbers:
                by_number[int(number)] = _kind(kind)
        keywords = {
            _kind(kind): [re.compile(pattern, re.IGNORECASE) for pattern in patterns]
            for kind, patterns in data.get("keywords", {}).items()
        }
        return cls(by_number, keywords)

    def classify(
        self, number: int | None, organization: str | None, declared: str | None = None
    ) -> tuple[AsnKind, str, bool]:
        """The kind, in words why, and whether that rests on positive evidence."""
        if number is not None and number in self._by_number:
            kind = self._by_number[number]
            return kind, f"AS{number} is listed as {kind}", True
        if declared in ASN_KINDS:
            return _kind(declared), f"the ASN database types it {declared}", True
        if organization:
            for kind in _KEYWORD_ORDER:
                for pattern in self._keywords[kind]:
                    if found := pattern.search(organization):
                        return kind, f"its name contains {found.group(0)!r}", False
        return "business", "no ISP, mobile, hosting or education sign", False


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
        kind, why, evidence = self._classifier.classify(
            number, organization, str(declared).lower() if declared else None
        )
        return AsnRecord(
            number=number,
            organization=organization,
            domain=str(domain).lower() if domain else None,
            kind=kind,
            why=why,
            evidence=evidence,
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
