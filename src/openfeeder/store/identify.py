"""The SQL of identification: company ranges, the company keys table, account traffic rules,
the slow resolvers' answer cache (``ip_cache``), and the writes of the company import.

``company_keys`` maps a key to a company. Most keys are domains (``acme.fi``: they always
contain a dot); two reserved forms carry what the ASN resolver matches on, and can never be
mistaken for a domain because a domain holds no colon:

* ``asn:<number>`` – an AS number the company import lists for the company (``asns``);
* ``org:<name key>`` – the company's name as ``identify.asn.organization_key`` compares it
  with AS organisation names; kept only while exactly one company has that name key.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa

from openfeeder.domain.models import Company
from openfeeder.store import schema as t
from openfeeder.store.accounts import now
from openfeeder.store.upsert import insert_ignore, insert_or_update

ASN_PREFIX = "asn:"
ORG_PREFIX = "org:"
# Bound parameters per statement, well inside SQLite's and psycopg's limits.
_CHUNK = 500
_T = TypeVar("_T")


def _chunks(items: Iterable[_T]) -> Iterator[list[_T]]:
    batch: list[_T] = []
    for item in items:
        batch.append(item)
        if len(batch) == _CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass(frozen=True)
class CompanyRef:
    id: str
    name: str


@dataclass(frozen=True)
class RangeRow:
    company_id: str
    company_name: str
    network: str
    first_ip: str
    last_ip: str


# --- lookups ---------------------------------------------------------------------------------


def ranges_starting_at(conn: sa.Connection, starts: Collection[str]) -> list[RangeRow]:
    """Company ranges whose first address is one of ``starts`` (hex form)."""
    r, c = t.company_ranges, t.companies
    out: list[RangeRow] = []
    for batch in _chunks(sorted(starts)):
        query = (
            sa.select(r.c.company_id, c.c.name, r.c.network, r.c.first_ip, r.c.last_ip)
            .join(c, c.c.id == r.c.company_id)
            .where(r.c.first_ip.in_(batch))
        )
        out += [RangeRow(*row) for row in conn.execute(query)]
    return out


def traffic_rules(conn: sa.Connection, account_id: int) -> list[tuple[str, str]]:
    """The account's (kind, value) rules: ip_range, country, hostname."""
    rules = t.traffic_rules
    query = (
        sa.select(rules.c.kind, rules.c.value)
        .where(rules.c.account_id == account_id)
        .order_by(rules.c.id)
    )
    return [(kind, value) for kind, value in conn.execute(query)]


def companies_by_key(conn: sa.Connection, keys: Collection[str]) -> dict[str, CompanyRef]:
    """Companies by key of ``company_keys`` (a domain, ``asn:<n>`` or ``org:<name>``)."""
    d, c = t.company_keys, t.companies
    out: dict[str, CompanyRef] = {}
    for batch in _chunks(sorted(set(keys))):
        query = (
            sa.select(d.c.key, c.c.id, c.c.name)
            .join(c, c.c.id == d.c.company_id)
            .where(d.c.key.in_(batch))
        )
        out |= {key: CompanyRef(id_, name) for key, id_, name in conn.execute(query)}
    return out


def companies_by_domain(conn: sa.Connection, domains: Collection[str]) -> dict[str, CompanyRef]:
    """Companies by domain: a ``company_keys`` row, else the one company whose own
    ``domain`` it is (companies made without the import have only that; two companies with
    the same domain identify neither)."""
    found = companies_by_key(conn, domains)
    rest = sorted(set(domains) - set(found))
    c = t.companies
    for batch in _chunks(rest):
        query = sa.select(c.c.domain, c.c.id, c.c.name).where(c.c.domain.in_(batch))
        seen: dict[str, list[CompanyRef]] = {}
        for domain, id_, name in conn.execute(query):
            seen.setdefault(domain, []).append(CompanyRef(id_, name))
        found |= {domain: refs[0] for domain, refs in seen.items() if len(refs) == 1}
    return found


def get_companies(conn: sa.Connection, ids: Collection[str]) -> dict[str, Company]:
    names = [f.name for f in fields(Company)]
    columns = [t.companies.c[name] for name in names]
    out: dict[str, Company] = {}
    for batch in _chunks(sorted(set(ids))):
        query = sa.select(*columns).where(t.companies.c.id.in_(batch))
        for row in conn.execute(query):
            values = dict(zip(names, row, strict=True))
            values["industries"] = list(values["industries"] or [])
            out[values["id"]] = Company(**values)
    return out


# --- the slow resolvers' cache ---------------------------------------------------------------


def cache_get(
    conn: sa.Connection, resolver: str, ips: Collection[str], at: datetime
) -> dict[str, Any]:
    """Unexpired answers of ``resolver`` by IP."""
    cache = t.ip_cache
    out: dict[str, Any] = {}
    for batch in _chunks(sorted(set(ips))):
        query = sa.select(cache.c.ip, cache.c.answer).where(
            cache.c.resolver == resolver, cache.c.ip.in_(batch), cache.c.expires_at > at
        )
        out |= dict(conn.execute(query).all())
    return out


def cache_put(
    conn: sa.Connection, resolver: str, answers: Mapping[str, tuple[Any, datetime]]
) -> None:
    """Store (answer, expires_at) by IP, replacing older answers. Sorted, so two workers
    writing overlapping batches take row locks in the same order (no deadlock)."""
    rows = [
        {"resolver": resolver, "ip": ip, "answer": answer, "expires_at": expires}
        for ip, (answer, expires) in sorted(answers.items())
    ]
    for batch in _chunks(rows):
        insert_or_update(conn, t.ip_cache, batch, ["resolver", "ip"], ["answer", "expires_at"])


def purge_cache(conn: sa.Connection, at: datetime) -> int:
    """Delete expired answers (of the IP resolvers and of the website enrichment); how many."""
    result = conn.execute(sa.delete(t.ip_cache).where(t.ip_cache.c.expires_at <= at))
    websites = conn.execute(sa.delete(t.website_cache).where(t.website_cache.c.expires_at <= at))
    return (result.rowcount or 0) + (websites.rowcount or 0)


def website_cache_get(
    conn: sa.Connection, domains: Collection[str], at: datetime
) -> dict[str, Any]:
    """Unexpired website answers by domain."""
    cache = t.website_cache
    out: dict[str, Any] = {}
    for batch in _chunks(sorted(set(domains))):
        query = sa.select(cache.c.domain, cache.c.answer).where(
            cache.c.domain.in_(batch), cache.c.expires_at > at
        )
        out |= dict(conn.execute(query).all())
    return out


def website_cache_put(conn: sa.Connection, answers: Mapping[str, tuple[Any, datetime]]) -> None:
    rows = [
        {"domain": domain, "answer": answer, "expires_at": expires}
        for domain, (answer, expires) in sorted(answers.items())
    ]
    for batch in _chunks(rows):
        insert_or_update(conn, t.website_cache, batch, ["domain"], ["answer", "expires_at"])


# --- writes of the company import and of the enrichment resolver -----------------------------


def company_ids_by_key(conn: sa.Connection, keys: Collection[str]) -> dict[str, str]:
    return {key: ref.id for key, ref in companies_by_key(conn, keys).items()}


def company_ids_by_primary_domain(
    conn: sa.Connection, domains: Collection[str]
) -> dict[str, set[str]]:
    c = t.companies
    out: dict[str, set[str]] = {}
    for batch in _chunks(sorted(set(domains))):
        for domain, id_ in conn.execute(sa.select(c.c.domain, c.c.id).where(c.c.domain.in_(batch))):
            out.setdefault(domain, set()).add(id_)
    return out


def existing_company_ids(conn: sa.Connection, ids: Collection[str]) -> set[str]:
    c = t.companies
    out: set[str] = set()
    for batch in _chunks(sorted(set(ids))):
        out |= set(conn.scalars(sa.select(c.c.id).where(c.c.id.in_(batch))))
    return out


def company_names(conn: sa.Connection) -> list[tuple[str, str]]:
    """(id, name) of every company: the import keeps ``org:`` keys unique with it."""
    rows = conn.execute(sa.select(t.companies.c.id, t.companies.c.name))
    return [(company_id, name) for company_id, name in rows]


def keys_of(conn: sa.Connection, company_ids: Collection[str]) -> dict[str, set[str]]:
    d = t.company_keys
    out: dict[str, set[str]] = {id_: set() for id_ in company_ids}
    for batch in _chunks(sorted(set(company_ids))):
        query = sa.select(d.c.company_id, d.c.key).where(d.c.company_id.in_(batch))
        for company_id, key in conn.execute(query):
            out[company_id].add(key)
    return out


def assign_keys(conn: sa.Connection, owners: Mapping[str, str]) -> None:
    """Point each key at its company (moving it from another company if need be)."""
    rows = [{"key": key, "company_id": id_} for key, id_ in sorted(owners.items())]
    for batch in _chunks(rows):
        insert_or_update(conn, t.company_keys, batch, ["key"], ["company_id"])


def delete_keys(conn: sa.Connection, keys: Collection[str]) -> None:
    for batch in _chunks(sorted(set(keys))):
        conn.execute(sa.delete(t.company_keys).where(t.company_keys.c.key.in_(batch)))


def ranges_of(conn: sa.Connection, company_ids: Collection[str]) -> dict[str, set[str]]:
    r = t.company_ranges
    out: dict[str, set[str]] = {id_: set() for id_ in company_ids}
    for batch in _chunks(sorted(set(company_ids))):
        query = sa.select(r.c.company_id, r.c.network).where(r.c.company_id.in_(batch))
        for company_id, network in conn.execute(query):
            out[company_id].add(network)
    return out


def add_ranges(conn: sa.Connection, rows: Sequence[tuple[str, str, str, str]]) -> None:
    """(company_id, network, first_ip, last_ip) rows."""
    names = ("company_id", "network", "first_ip", "last_ip")
    for batch in _chunks(rows):
        insert_ignore(
            conn,
            t.company_ranges,
            [dict(zip(names, row, strict=True)) for row in batch],
            ["company_id", "network"],
        )


def delete_ranges(conn: sa.Connection, company_id: str, networks: Collection[str]) -> None:
    r = t.company_ranges
    for batch in _chunks(sorted(networks)):
        conn.execute(sa.delete(r).where(r.c.company_id == company_id, r.c.network.in_(batch)))


@dataclass(frozen=True)
class Sourced:
    """A company's firmographics with where each field came from, and its website profile."""

    company: Company
    sources: dict[str, str]
    profile: dict[str, str]


def sourced_companies(conn: sa.Connection, ids: Collection[str]) -> dict[str, Sourced]:
    plain = get_companies(conn, ids)
    c = t.companies
    out: dict[str, Sourced] = {}
    for batch in _chunks(sorted(plain)):
        query = sa.select(c.c.id, c.c.field_sources, c.c.profile).where(c.c.id.in_(batch))
        for id_, sources, profile in conn.execute(query):
            out[id_] = Sourced(plain[id_], dict(sources or {}), dict(profile or {}))
    return out


def discovered_companies(
    conn: sa.Connection, ids: Collection[str], marker: str
) -> dict[str, tuple[str, str | None]]:
    """{id: (how it was discovered, its domain)} of the companies among ``ids`` whose field
    sources carry ``marker``: one narrow query, as every batch asks it of its matches."""
    c = t.companies
    out: dict[str, tuple[str, str | None]] = {}
    for batch in _chunks(sorted(set(ids))):
        query = sa.select(c.c.id, c.c.domain, c.c.field_sources).where(
            c.c.id.in_(batch), c.c.field_sources.is_not(None)
        )
        for id_, domain, sources in conn.execute(query):
            if sources and sources.get(marker):
                out[id_] = (str(sources[marker]), domain)
    return out


def update_sourced(conn: sa.Connection, rows: Sequence[Sourced]) -> None:
    """Write companies with their field sources and profiles (in id order: no deadlock)."""
    c = t.companies
    stamp = now()
    for row in sorted(rows, key=lambda r: r.company.id):
        values = {f.name: getattr(row.company, f.name) for f in fields(Company) if f.name != "id"}
        values |= {"field_sources": row.sources, "profile": row.profile or None}
        conn.execute(
            sa.update(c).where(c.c.id == row.company.id).values(updated_at=stamp, **values)
        )


def merge_field_sources(conn: sa.Connection, sources: Mapping[str, Mapping[str, str]]) -> None:
    """Record where fields of companies came from, keeping their other fields' entries."""
    c = t.companies
    current = {
        id_: dict(found or {})
        for batch in _chunks(sorted(sources))
        for id_, found in conn.execute(
            sa.select(c.c.id, c.c.field_sources).where(c.c.id.in_(batch))
        )
    }
    for id_ in sorted(current):
        merged = current[id_] | dict(sources[id_])
        conn.execute(sa.update(c).where(c.c.id == id_).values(field_sources=merged))


def insert_discovered(
    conn: sa.Connection, found: Sequence[tuple[Company, Mapping[str, str], Collection[str]]]
) -> None:
    """Companies discovered without an import, each with its field sources and the keys a
    later import meets it by: created once (ids are derived from what they were discovered
    by), never overwriting a company; a key already another company's is left to it."""
    stamp = now()
    rows = [
        {f.name: getattr(company, f.name) for f in fields(Company)}
        | {"field_sources": dict(sources), "updated_at": stamp}
        for company, sources, _keys in sorted(found, key=lambda f: f[0].id)
    ]
    for batch in _chunks(rows):
        insert_ignore(conn, t.companies, batch, ["id"])
    keys = sorted({(key, company.id) for company, _sources, keys in found for key in keys})
    for key_batch in _chunks(keys):
        insert_ignore(
            conn, t.company_keys, [{"key": k, "company_id": i} for k, i in key_batch], ["key"]
        )


def insert_company_if_missing(conn: sa.Connection, company: Company, domain: str) -> None:
    """A company the enrichment provider named: created once, never overwriting the company
    database's firmographics; its domain is keyed unless another company has it already."""
    values = {f.name: getattr(company, f.name) for f in fields(Company)} | {"updated_at": now()}
    insert_ignore(conn, t.companies, [values], ["id"])
    insert_ignore(conn, t.company_keys, [{"key": domain, "company_id": company.id}], ["key"])
