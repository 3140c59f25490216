"""``openfeeder companies import --format wikidata FILE``: the SPARQL JSON results of the
query in ``docs/identification.md`` (``QUERY`` below), merged into companies by domain.

One result row per combination of values, so an organisation with two websites or three
industries comes in several rows: they are grouped by the item (``?item``), the first value
of each variable kept, and the item's domain taken from its official website (P856). Items
without a usable website, and items whose values do not validate, are skipped and counted;
two items with one domain keep the first. A field an operator imported (CSV/JSONL, source
``import``) is never overwritten; discovered and website values are."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from openfeeder.domain.errors import BadRequest
from openfeeder.identify import companies as importer
from openfeeder.identify.discovery import IMPORT, WIKIDATA
from openfeeder.store import identify as store
from openfeeder.store.db import Database

QUERY = """\
SELECT ?item ?itemLabel ?website ?industryLabel ?employees ?revenue ?linkedin ?twitter
       ?facebook ?logo ?countryCode WHERE {
  VALUES ?country { wd:Q33 }                  # one country at a time (Finland here)
  ?item wdt:P17 ?country;                     # in that country
        wdt:P31/wdt:P279* wd:Q43229;          # an organisation (or a subclass of one)
        wdt:P856 ?website.                    # with an official website (its domain)
  OPTIONAL { ?item wdt:P452 ?industry. }
  OPTIONAL { ?item wdt:P1128 ?employees. }
  OPTIONAL { ?item wdt:P2139 ?revenue. }
  OPTIONAL { ?item wdt:P4264 ?linkedin. }
  OPTIONAL { ?item wdt:P2002 ?twitter. }
  OPTIONAL { ?item wdt:P2013 ?facebook. }
  OPTIONAL { ?item wdt:P154 ?logo. }
  OPTIONAL { ?country wdt:P297 ?countryCode. }
  SERVICE wikibase:label { bd:serviceParam wikibase:language "en". }
}"""
_VARIABLES = (
    "itemLabel",
    "website",
    "industryLabel",
    "employees",
    "revenue",
    "linkedin",
    "twitter",
    "facebook",
    "logo",
    "countryCode",
)
_MAX_ITEMS = 1_000_000


@dataclass(frozen=True)
class WikidataResult:
    items: int  # organisations in the file
    skipped: int  # without a usable website, invalid, or a second item of a domain
    imported: importer.ImportResult | None  # None when nothing was left to import
    first_skip: str | None  # why the first skipped item was skipped


def _bindings(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise BadRequest(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise BadRequest(f"{path}: not UTF-8 text") from None
    except ValueError as error:
        raise BadRequest(f"{path.name}: not JSON ({error})") from None
    except OSError as error:
        raise BadRequest(f"{path}: cannot read it ({error.strerror})") from None
    results = data.get("results") if isinstance(data, dict) else None
    bindings = results.get("bindings") if isinstance(results, dict) else None
    if not isinstance(bindings, list):
        raise BadRequest(
            f'{path.name}: not SPARQL JSON results ({{"head": …, "results": {{"bindings": '
            "[…]}}); run the query of docs/identification.md with format=json"
        )
    return [b for b in bindings if isinstance(b, dict)]


def _value(binding: dict[str, Any], name: str) -> str | None:
    cell = binding.get(name)
    value = cell.get("value") if isinstance(cell, dict) else None
    return (value.strip() or None) if isinstance(value, str) else None


def _number(text: str) -> int:
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise ValueError(f"{text!r} is not a count")
    return int(number)


def _record(item: str, values: dict[str, str]) -> tuple[dict[str, Any], str | None]:
    """The company import's record for one item, and its country code."""
    website = values.get("website")
    host = (urlsplit(website).hostname or "") if website else ""
    domain = host.lower().removeprefix("www.")
    if not domain:
        raise ValueError("no official website (P856) with a host name")
    name = values.get("itemLabel")
    if not name or name == item.rsplit("/", 1)[-1]:  # an unlabelled item is labelled Q…
        name = domain
    record: dict[str, Any] = {"name": name, "domain": domain, "website_url": website}
    if industry := values.get("industryLabel"):
        record["industry"] = industry
    if employees := values.get("employees"):
        record["employee_count"] = _number(employees)
    if revenue := values.get("revenue"):
        record["revenue"] = str(_number(revenue))
    if linkedin := values.get("linkedin"):
        record["linkedin_url"] = f"https://www.linkedin.com/company/{quote(linkedin, safe='')}"
    if twitter := values.get("twitter"):
        record["twitter_handle"] = twitter
    if facebook := values.get("facebook"):
        record["facebook_url"] = f"https://www.facebook.com/{quote(facebook, safe='')}"
    if logo := values.get("logo"):  # Special:FilePath URLs, http in the query service
        record["logo_url"] = "https://" + logo.removeprefix("http://").removeprefix("https://")
    country = values.get("countryCode")
    return record, country.upper()[:2] if country else None


def read_rows(path: Path) -> tuple[list[importer.ImportRow], dict[str, str], WikidataResult]:
    """Import rows (one per domain), their countries by domain, and the counts."""
    items: dict[str, dict[str, str]] = {}
    for binding in _bindings(path):
        item = _value(binding, "item")
        if item is None:
            continue
        values = items.setdefault(item, {})
        if len(items) > _MAX_ITEMS:
            raise BadRequest(f"{path.name}: more than {_MAX_ITEMS} organisations")
        for name in _VARIABLES:
            if name not in values and (value := _value(binding, name)) is not None:
                values[name] = value
    rows: list[importer.ImportRow] = []
    countries: dict[str, str] = {}
    skips: list[str] = []
    for number, (item, values) in enumerate(items.items(), start=1):
        try:
            record, country = _record(item, values)
            row = importer.parse_row(number, record)
        except ValueError as error:  # the importer's _Invalid is a ValueError
            skips.append(f"{item}: {error}")
            continue
        domain = record["domain"]
        if domain in countries:
            skips.append(f"{item}: {domain} is also another item's website")
            continue
        rows.append(row)
        countries[domain] = country or ""
    return rows, countries, WikidataResult(len(items), len(skips), None, next(iter(skips), None))


def import_wikidata(db: Database, path: Path) -> WikidataResult:
    rows, countries, counts = read_rows(path)
    if not rows:
        raise BadRequest(f"{path.name}: no organisation with an official website in the file")
    with db.write() as conn:
        result = importer.write_rows(
            conn,
            rows,
            importer.ImportErrors(path.name),
            source=WIKIDATA,
            protect=frozenset({IMPORT}),
        )
        ids = store.company_ids_by_key(conn, set(countries))
        sourced = store.sourced_companies(conn, set(ids.values()))
        changed = []
        for domain, country in countries.items():
            row = sourced.get(ids.get(domain, ""))
            if row is None or not country or row.sources.get("country") == IMPORT:
                continue
            profile = row.profile | {"country": country}
            changed.append(store.Sourced(row.company, row.sources | {"country": WIKIDATA}, profile))
        store.update_sourced(conn, changed)
    return WikidataResult(counts.items, counts.skipped, result, counts.first_skip)
