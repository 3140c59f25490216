"""The company import: CSV or JSONL rows of firmographics, CIDR ranges, domains and AS
numbers, validated (every error names its line) and written in one transaction. Importing
again updates companies in place, found by ``id`` or else by any of their domains.

A field the file does not have (a CSV column, a JSON key) leaves the stored value as it is;
a field that is there but empty clears it. ``ranges``, ``domains`` and ``asns`` replace the
company's whole set when present. CSV lists are separated by ``;`` (``industries``) or by
``;``, ``,`` or spaces (``ranges``, ``domains``, ``asns``)."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from openfeeder.domain.errors import BadRequest
from openfeeder.domain.ids import whole_number
from openfeeder.domain.models import Company
from openfeeder.identify.asn import organization_key, parse_asn
from openfeeder.identify.ranges import IPNetwork, network_bounds, plain_network
from openfeeder.identify.rdns import valid_hostname
from openfeeder.store import identify as store
from openfeeder.store.companies import upsert_companies
from openfeeder.store.db import Database

_ID = re.compile(r"[A-Za-z0-9._:-]{1,36}")
_LIST_SEPARATORS = re.compile(r"[;,\s]+")
_MAX_ERRORS_COUNTED = 1000


class _Invalid(ValueError):
    """A field's value is not acceptable; the message says why, without the line."""


def _text(limit: int) -> Callable[[Any], str | None]:
    def parse(value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise _Invalid(f"must be text, got {value!r}")
        value = value.strip()
        if len(value) > limit:
            raise _Invalid(f"is longer than {limit} characters")
        return value or None

    return parse


def _url(value: Any) -> str | None:
    text = _text(500)(value)
    if text is not None and not text.lower().startswith(("http://", "https://")):
        raise _Invalid(f"{text!r} is not an http(s) URL")
    return text


def _whole(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _Invalid(f"must be a whole number, got {value!r}")
    number = whole_number(str(value).strip())
    if number is None:
        raise _Invalid(f"must be a whole number ≥ 0, got {value!r}")
    return number


def _domain(value: Any) -> str | None:
    text = _text(253)(value)
    if text is None:
        return None
    domain = text.lower().rstrip(".")
    if not valid_hostname(domain):
        raise _Invalid(f"{text!r} is not a domain name like acme.fi")
    return domain


def _items(value: Any, separators: re.Pattern[str]) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part for part in separators.split(value.strip()) if part]
    if isinstance(value, list):
        return value
    raise _Invalid(f"must be a list, got {value!r}")


def _industries(value: Any) -> list[str]:
    names = [_text(200)(item) for item in _items(value, re.compile(r"\s*;\s*"))]
    return [name for name in names if name]


def _networks(value: Any) -> list[IPNetwork]:
    out = []
    for item in _items(value, _LIST_SEPARATORS):
        if not isinstance(item, str):
            raise _Invalid(f"{item!r} is not a network (CIDR)")
        try:
            network = ip_network(item.strip(), strict=True)
        except ValueError as error:
            if "host bits set" in str(error):
                wider = ip_network(item.strip(), strict=False)
                raise _Invalid(f"{item!r} has host bits set; did you mean {wider}?") from None
            raise _Invalid(f"{item!r} is not a network (CIDR) such as 203.0.113.0/24") from None
        out.append(plain_network(network))
    return out


def _domains(value: Any) -> list[str]:
    return [d for d in (_domain(item) for item in _items(value, _LIST_SEPARATORS)) if d]


def _asns(value: Any) -> list[int]:
    out = []
    for item in _items(value, _LIST_SEPARATORS):
        number = parse_asn(item)
        if number is None:
            raise _Invalid(f"{item!r} is not an AS number such as 64500 or AS64500")
        out.append(number)
    return out


# Firmographic fields of companies, each with its parser.
FIRMOGRAPHICS: dict[str, Callable[[Any], Any]] = {
    "name": _text(300),
    "domain": _domain,
    "website_url": _url,
    "industry": _text(200),
    "industry_code": _whole,
    "industries": _industries,
    "dealfront_id": _text(40),
    "phone": _text(64),
    "linkedin_url": _url,
    "twitter_handle": _text(100),
    "facebook_url": _url,
    "logo_url": _url,
    "employee_count": _whole,
    "employees_min": _whole,
    "employees_max": _whole,
    "revenue": _text(64),
    "business_id": _text(100),
}
FIELDS = ("id", *FIRMOGRAPHICS, "ranges", "domains", "asns")


@dataclass
class ImportRow:
    line: int
    id: str | None
    values: dict[str, Any]  # the firmographic fields the row has
    ranges: list[IPNetwork] | None = None  # None: the row does not say
    domains: list[str] | None = None
    asns: list[int] | None = None

    def all_domains(self) -> list[str]:
        primary = [self.values["domain"]] if self.values.get("domain") else []
        return list(dict.fromkeys(primary + (self.domains or [])))


@dataclass(frozen=True)
class ImportResult:
    companies: int
    created: int
    updated: int
    ranges: int
    domains: int
    asns: int


@dataclass
class ImportErrors:
    source: str
    messages: list[str] = field(default_factory=list)

    def add(self, line: int, message: str) -> None:
        if len(self.messages) < _MAX_ERRORS_COUNTED:
            self.messages.append(f"{self.source} line {line}: {message}")

    def raise_any(self) -> None:
        if self.messages:
            more = len(self.messages) - 1
            suffix = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
            raise BadRequest(self.messages[0] + suffix)


def parse_row(line: int, raw: Mapping[str, Any]) -> ImportRow:
    """One record of the file, validated; raises ``_Invalid`` naming the field."""
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise _Invalid(f"unknown field {unknown[0]!r} (known: {', '.join(FIELDS)})")
    row = ImportRow(line=line, id=None, values={})
    for name, value in raw.items():
        try:
            if name == "id":
                text = _text(36)(value)
                if text is not None and not _ID.fullmatch(text):
                    raise _Invalid(f"{text!r} is not an id (letters, digits, . _ : -)")
                row.id = text
            elif name == "ranges":
                row.ranges = _networks(value)
            elif name == "domains":
                row.domains = _domains(value)
            elif name == "asns":
                row.asns = _asns(value)
            else:
                row.values[name] = FIRMOGRAPHICS[name](value)
        except _Invalid as error:
            raise _Invalid(f"{name}: {error}") from None
    if "name" in row.values and row.values["name"] is None:
        raise _Invalid("name: must not be empty")
    if not row.id and not row.all_domains():
        raise _Invalid("needs an id or a domain, so that importing again finds the company")
    return row


def _records(path: Path, text: str) -> Iterator[tuple[int, Any]]:
    """(line number, record) pairs of a CSV or JSONL file."""
    if _is_jsonl(path, text):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except ValueError as error:
                yield number, _Invalid(f"not valid JSON ({error})")
        return
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    if reader.fieldnames is None:
        return
    header = [name.strip() for name in reader.fieldnames]
    if len(set(header)) != len(header):
        yield 1, _Invalid("the header names a column twice")
        return
    reader.fieldnames = header
    start = reader.line_num + 1
    try:
        for record in reader:
            if None in record:
                yield start, _Invalid("more cells than the header has columns")
            else:
                yield start, dict(record)
            start = reader.line_num + 1
    except csv.Error as error:
        yield start, _Invalid(f"not valid CSV ({error})")


def _is_jsonl(path: Path, text: str) -> bool:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return True
    if suffix == ".csv":
        return False
    return text.lstrip().startswith("{")


def read_file(path: Path) -> list[ImportRow]:
    """Every row of the file, validated; BadRequest with the first error (and how many more)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise BadRequest(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise BadRequest(f"{path}: not UTF-8 text") from None
    except OSError as error:
        raise BadRequest(f"{path}: cannot read it ({error.strerror})") from None
    errors = ImportErrors(path.name)
    rows: list[ImportRow] = []
    for line, record in _records(path, text):
        if isinstance(record, _Invalid):
            errors.add(line, str(record))
        elif not isinstance(record, dict):
            errors.add(line, "each line must be a JSON object")
        else:
            try:
                rows.append(parse_row(line, record))
            except _Invalid as error:
                errors.add(line, str(error))
    _check_duplicates(rows, errors)
    errors.raise_any()
    if not rows:
        raise BadRequest(f"{path.name}: no companies in the file")
    return rows


def _check_duplicates(rows: list[ImportRow], errors: ImportErrors) -> None:
    """Two rows may not claim the same id, domain or AS number."""
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        claims = [("id", row.id)] if row.id else []
        claims += [("domain", d) for d in row.all_domains()]
        claims += [("AS number", str(n)) for n in dict.fromkeys(row.asns or [])]
        for kind, value in claims:
            first = seen.setdefault((kind, value), row.line)
            if first != row.line:
                errors.add(row.line, f"{kind} {value} is also on line {first}")


def import_companies(db: Database, path: Path) -> ImportResult:
    """Validate the whole file, then write it in one transaction (all rows or none)."""
    rows = read_file(path)
    with db.write() as conn:
        return write_rows(conn, rows, ImportErrors(path.name))


def _company_ids(conn: sa.Connection, rows: list[ImportRow], errors: ImportErrors) -> list[str]:
    """Each row's company: its id, else the one company holding any of its domains, else new."""
    domains = {d for row in rows if not row.id for d in row.all_domains()}
    keyed = store.company_ids_by_key(conn, domains)
    primary = store.company_ids_by_primary_domain(conn, domains)
    by_asn = _discovered_by_asn(conn, [row for row in rows if not row.id])
    ids = []
    for row in rows:
        if row.id:
            ids.append(row.id)
            continue
        found: set[str] = set()
        for domain in row.all_domains():
            found |= {keyed[domain]} if domain in keyed else primary.get(domain, set())
        if not found:  # a company discovered from its network, met by its AS number
            found = {by_asn[n] for n in row.asns or () if n in by_asn}
        if len(found) > 1:
            errors.add(
                row.line, f"its domains belong to different companies: {', '.join(sorted(found))}"
            )
        ids.append(found.pop() if len(found) == 1 else str(uuid.uuid4()))
    first_line: dict[str, int] = {}
    for row, id_ in zip(rows, ids, strict=True):
        first = first_line.setdefault(id_, row.line)
        if first != row.line:
            errors.add(row.line, f"is the same company ({id_}) as line {first}")
    return ids


def _discovered_by_asn(conn: sa.Connection, rows: list[ImportRow]) -> dict[int, str]:
    """{AS number: company id} of the companies discovered from the rows' networks."""
    numbers = {n for row in rows for n in row.asns or ()}
    if not numbers:
        return {}
    keyed = store.company_ids_by_key(conn, {f"{store.ASN_PREFIX}{n}" for n in numbers})
    sourced = store.sourced_companies(conn, set(keyed.values()))
    return {
        int(key.removeprefix(store.ASN_PREFIX)): id_
        for key, id_ in keyed.items()
        if id_ in sourced and sourced[id_].sources.get("discovered") == "network"
    }


def _merged(row: ImportRow, company_id: str, old: Company | None, errors: ImportErrors) -> Company:
    if old is None and not row.values.get("name"):
        errors.add(row.line, "name: required for a new company")
        return Company(id=company_id, name="")
    base = old or Company(id=company_id, name="")
    company = replace(base, **row.values)
    low, high = company.employees_min, company.employees_max
    if low is not None and high is not None and low > high:
        errors.add(row.line, f"employees_min {low} is more than employees_max {high}")
    return company


def write_rows(
    conn: sa.Connection,
    rows: list[ImportRow],
    errors: ImportErrors,
    source: str = "import",
    protect: frozenset[str] = frozenset(),
) -> ImportResult:
    """Write validated rows; ``source`` is recorded as each written field's source, and a
    field of an existing company whose source is in ``protect`` is left as it is."""
    ids = _company_ids(conn, rows, errors)
    old = store.get_companies(conn, ids)
    if protect:
        sources = store.sourced_companies(conn, set(old))
        for row, id_ in zip(rows, ids, strict=True):
            kept = sources[id_].sources if id_ in sources else {}
            row.values = {k: v for k, v in row.values.items() if kept.get(k) not in protect}
    companies = [
        _merged(row, id_, old.get(id_), errors) for row, id_ in zip(rows, ids, strict=True)
    ]
    errors.raise_any()
    upsert_companies(conn, companies)
    store.merge_field_sources(
        conn,
        {c.id: dict.fromkeys(row.values, source) for row, c in zip(rows, companies, strict=True)},
    )

    keys = store.keys_of(conn, ids)
    ranges = store.ranges_of(conn, ids)
    stale_keys: set[str] = set()
    owners: dict[str, str] = {}
    new_ranges: list[tuple[str, str, str, str]] = []
    for row, company in zip(rows, companies, strict=True):
        current = keys[company.id]
        current_domains = {k for k in current if ":" not in k}
        previous = old.get(company.id)
        if row.domains is not None:
            domains = set(row.domains)
        else:  # the row may change the primary domain and leave the others alone
            domains = current_domains - {previous.domain if previous else None}
        domains |= {company.domain} if company.domain else set()
        stale_keys |= current_domains - domains
        owners |= dict.fromkeys(domains, company.id)
        if row.asns is not None:
            asn_keys = {f"{store.ASN_PREFIX}{n}" for n in row.asns}
            stale_keys |= {k for k in current if k.startswith(store.ASN_PREFIX)} - asn_keys
            owners |= dict.fromkeys(asn_keys, company.id)
        if row.ranges is not None:
            wanted = {str(network): network for network in row.ranges}
            store.delete_ranges(conn, company.id, ranges[company.id] - set(wanted))
            new_ranges += [
                (company.id, text, *network_bounds(network))
                for text, network in wanted.items()
                if text not in ranges[company.id]
            ]
    store.delete_keys(conn, stale_keys - set(owners))
    store.assign_keys(conn, owners)
    store.add_ranges(conn, new_ranges)
    _refresh_name_keys(conn, [*old.values(), *companies])
    return ImportResult(
        companies=len(rows),
        created=sum(1 for id_ in dict.fromkeys(ids) if id_ not in old),
        updated=sum(1 for id_ in dict.fromkeys(ids) if id_ in old),
        ranges=sum(len(row.ranges or ()) for row in rows),
        domains=sum(1 for key in owners if ":" not in key),
        asns=sum(1 for key in owners if key.startswith(store.ASN_PREFIX)),
    )


def _refresh_name_keys(conn: sa.Connection, touched: list[Company]) -> None:
    """``org:`` keys for the names the import added or changed: kept while exactly one
    company has the name (so an AS organisation name never picks one of two namesakes)."""
    affected = {key for c in touched if (key := organization_key(c.name)) is not None}
    if not affected:
        return
    holders: dict[str, set[str]] = {key: set() for key in affected}
    for company_id, name in store.company_names(conn):
        key = organization_key(name)
        if key in holders:
            holders[key].add(company_id)
    unique = {
        f"{store.ORG_PREFIX}{key}": next(iter(ids)) for key, ids in holders.items() if len(ids) == 1
    }
    store.delete_keys(conn, {f"{store.ORG_PREFIX}{key}" for key in affected} - set(unique))
    store.assign_keys(conn, unique)
