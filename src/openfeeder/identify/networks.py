"""Network types from public sources, imported into ``network_types`` from files in the
upstream formats (air-gapped installs) or downloaded: bgp.tools' tag files and ``asns.csv``,
PeeringDB's network objects, and plain AS-number lists (the public hosting lists). Every file
is read whole before anything is written, and each import is one transaction: a bad file
changes nothing. See docs/identification.md, "Network types"."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

import httpx

from openfeeder.config import Settings
from openfeeder.domain.clock import SYSTEM_CLOCK, Clock
from openfeeder.domain.errors import OpenfeederError
from openfeeder.identify.asn import (
    NEVER_LEADS,
    TYPED_KINDS,
    AsnClassifier,
    Classification,
    decide,
    parse_asn,
)
from openfeeder.store import networks as store
from openfeeder.store.db import Database
from openfeeder.store.networks import NetworkRow

SourceFormat = Literal["bgptools-tags", "bgptools-asns", "peeringdb", "list"]
SOURCE_FORMATS: tuple[SourceFormat, ...] = get_args(SourceFormat)

# bgp.tools tags that say what a network is (https://bgp.tools/kb/tags); others are refused.
BGPTOOLS_TAGS: Mapping[str, str] = {
    "dsl": "isp",
    "biznet": "isp",
    "satnet": "isp",
    "mobile": "mobile",
    "vpsh": "hosting",
    "vpn": "hosting",
    "ddosm": "hosting",
    "cdn": "hosting",
    "corp": "business",
    "uni": "education",
    "gov": "government",
}
# PeeringDB's info_type values; the rest (Non-Profit, Route Server, …) type nothing.
PEERINGDB_TYPES: Mapping[str, str] = {
    "cable/dsl/isp": "isp",
    "nsp": "isp",
    "content": "hosting",
    "enterprise": "business",
    "educational/research": "education",
    "government": "government",
}
_HEADER_WORDS = frozenset({"asn", "as", "as number", "number"})
# A downloaded file larger than this is refused (PeeringDB's whole net list is ~20 MB).
MAX_DOWNLOAD = 256 * 1024 * 1024


class NetworkImportError(OpenfeederError):
    """A file or download that cannot be imported; nothing was written."""


@dataclass
class ImportResult:
    """What one import did: AS numbers per source and kind, and the ASes on which sources now
    disagree (a never-lead type against a business, education or government one)."""

    sources: dict[str, int] = field(default_factory=dict)
    kinds: dict[str, int] = field(default_factory=dict)
    conflicts: int = 0
    conflict_examples: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(self.sources.values())


# --- parsing ---------------------------------------------------------------------------------


def _fail(origin: str, line: int | None, message: str) -> NetworkImportError:
    where = f"{origin}, line {line}" if line is not None else origin
    return NetworkImportError(f"{where}: {message}")


def _text(data: bytes, origin: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _fail(origin, None, "not UTF-8 text") from None


def _is_header(first: str) -> bool:
    return first.strip().strip('"').lower() in _HEADER_WORDS


def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text))
    for row in reader:
        if row and any(cell.strip() for cell in row):
            yield reader.line_num, row


def parse_bgptools_tag(data: bytes, tag: str, origin: str) -> list[NetworkRow]:
    """A bgp.tools tag file (``https://bgp.tools/tags/<tag>.csv``): ``AS13335,"Name"`` lines,
    an ``asn,name`` header allowed."""
    kind = BGPTOOLS_TAGS.get(tag)
    if kind is None:
        known = ", ".join(BGPTOOLS_TAGS)
        raise _fail(origin, None, f"{tag!r} is not a bgp.tools tag openfeeder reads ({known})")
    rows: dict[int, NetworkRow] = {}
    for number, (line, cells) in enumerate(_csv_rows(_text(data, origin))):
        asn = parse_asn(cells[0])
        if asn is None:
            if number == 0 and _is_header(cells[0]):
                continue
            raise _fail(origin, line, f"{cells[0]!r} is not an AS number")
        name = cells[1].strip() if len(cells) > 1 and cells[1].strip() else None
        rows[asn] = NetworkRow(asn, f"bgptools:{tag}", kind, tag, name)
    return list(rows.values())


def parse_bgptools_asns(data: bytes, origin: str) -> list[NetworkRow]:
    """bgp.tools' ``asns.csv``: ``asn,name,class,cc``. It names every AS and gives its class
    (Eyeball, Content, Carrier, Unknown), which types nothing on its own: it is kept as the
    detail ``networks show`` prints."""
    reader = csv.DictReader(io.StringIO(_text(data, origin)))
    columns = {name.strip().lower() for name in reader.fieldnames or ()}
    if not {"asn", "name"} <= columns:
        raise _fail(origin, 1, "not a bgp.tools asns.csv (no asn,name,class,cc header)")
    rows: dict[int, NetworkRow] = {}
    for record in reader:
        values = {(key or "").strip().lower(): (value or "") for key, value in record.items()}
        asn = parse_asn(values.get("asn", ""))
        if asn is None:
            raise _fail(origin, reader.line_num, f"{values.get('asn')!r} is not an AS number")
        detail = values.get("class", "").strip() or None
        name = values.get("name", "").strip() or None
        rows[asn] = NetworkRow(asn, "bgptools:asns", None, detail, name)
    return list(rows.values())


def _website_domain(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    host = urlsplit(text if "://" in text else f"http://{text}").hostname
    if not host or "." not in host:
        return None
    return host.lower().removeprefix("www.")


def _peeringdb_types(record: Mapping[str, Any]) -> list[str]:
    types = record.get("info_types")
    if isinstance(types, list) and types:
        return [str(value) for value in types if value]
    single = record.get("info_type")
    return [str(single)] if single else []


def _peeringdb_kind(types: Sequence[str]) -> str | None:
    """One network's kind from its info types: a never-lead type wins, except Content, which
    gives way to Enterprise, Educational/Research or Government (as between sources)."""
    kinds = [PEERINGDB_TYPES[value.lower()] for value in types if value.lower() in PEERINGDB_TYPES]
    keep = [kind for kind in kinds if kind not in NEVER_LEADS]
    strong = [kind for kind in kinds if kind in ("isp", "mobile")]
    for choice in (strong, keep, kinds):
        if choice:
            return choice[0]
    return None


def parse_peeringdb(data: bytes, origin: str) -> list[NetworkRow]:
    """PeeringDB network objects: its API's ``{"data": [...]}`` (``/api/net``) or a dump with
    ``{"net": {"data": [...]}}``; each with ``asn``, ``name``, ``info_type`` or
    ``info_types`` and ``website``."""
    try:
        document = json.loads(_text(data, origin))
    except json.JSONDecodeError as error:
        raise _fail(origin, error.lineno, f"not JSON ({error.msg})") from None
    if isinstance(document, dict) and isinstance(document.get("net"), dict):
        document = document["net"]
    objects = document.get("data") if isinstance(document, dict) else None
    if not isinstance(objects, list):
        raise _fail(origin, None, 'not PeeringDB network objects (no "data" list)')
    rows: dict[int, NetworkRow] = {}
    for index, record in enumerate(objects):
        asn = parse_asn(record.get("asn")) if isinstance(record, dict) else None
        if asn is None or not isinstance(record, dict):
            raise _fail(origin, None, f"network object {index} has no valid asn")
        types = _peeringdb_types(record)
        name = str(record.get("name") or "").strip() or None
        detail = ", ".join(types) or None
        kind = _peeringdb_kind(types)
        rows[asn] = NetworkRow(
            asn, "peeringdb", kind, detail, name, _website_domain(record.get("website"))
        )
    return list(rows.values())


def parse_as_list(data: bytes, kind: str, name: str, origin: str) -> list[NetworkRow]:
    """A plain list: one AS number per line (``AS`` prefix allowed), ``#`` comments, and a
    first column of a CSV (an ``ASN`` header allowed), as the public hosting lists have it."""
    if kind not in TYPED_KINDS:
        raise _fail(origin, None, f"--kind must be one of {', '.join(TYPED_KINDS)}")
    rows: dict[int, NetworkRow] = {}
    first = True
    for line, raw in enumerate(_text(data, origin).splitlines(), start=1):
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        cell = text.replace(",", " ").replace(";", " ").split()[0].strip('"')
        asn = parse_asn(cell)
        if asn is None:
            if first and _is_header(cell):
                first = False
                continue
            raise _fail(origin, line, f"{cell!r} is not an AS number")
        first = False
        rows[asn] = NetworkRow(asn, f"list:{name}", kind, None)
    return list(rows.values())


def _stem(name: str) -> str:
    stem = Path(name).name.split(".", 1)[0]
    return stem.removeprefix("tags-")


def parse(
    source: SourceFormat, data: bytes, origin: str, *, kind: str | None = None, name: str = ""
) -> tuple[str, list[NetworkRow]]:
    """(the source the rows belong to, the rows) of one file in ``source``'s format."""
    if source == "bgptools-tags":
        tag = _stem(name or origin)
        return f"bgptools:{tag}", parse_bgptools_tag(data, tag, origin)
    if source == "bgptools-asns":
        return "bgptools:asns", parse_bgptools_asns(data, origin)
    if source == "peeringdb":
        return "peeringdb", parse_peeringdb(data, origin)
    if kind is None:
        raise NetworkImportError("a list import needs --kind (e.g. --kind hosting)")
    list_name = _stem(name or origin)[:50]
    return f"list:{list_name}", parse_as_list(data, kind, list_name, origin)


# --- writing ---------------------------------------------------------------------------------


def _side(kind: str | None) -> str | None:
    if kind is None:
        return None
    return "never-lead" if kind in NEVER_LEADS else "keep"


def _conflicts(rows: Iterable[NetworkRow], changed: set[int]) -> tuple[int, list[str]]:
    by_asn: dict[int, list[NetworkRow]] = {}
    for row in rows:
        if row.asn in changed and row.source != store.OVERRIDE:
            by_asn.setdefault(row.asn, []).append(row)
    examples: list[str] = []
    count = 0
    for asn, group in sorted(by_asn.items()):
        if len({_side(row.kind) for row in group} - {None}) > 1:
            count += 1
            if len(examples) < 5 and (found := decide(group)) is not None:
                examples.append(f"AS{asn}: {found.kind} ({found.why})")
    return count, examples


def import_parsed(
    db: Database,
    parsed: Mapping[str, tuple[str, Sequence[NetworkRow]]],
    *,
    clock: Clock = SYSTEM_CLOCK,
) -> ImportResult:
    """Replace each source's rows (source → (origin, rows)) in one transaction."""
    at = clock.now()
    result = ImportResult()
    with db.write() as conn:
        for source, (origin, rows) in parsed.items():
            store.replace_source(conn, source, origin, rows, at)
            result.sources[source] = len(rows)
            for row in rows:
                kind = row.kind or "untyped"
                result.kinds[kind] = result.kinds.get(kind, 0) + 1
        changed = {row.asn for _origin, rows in parsed.values() for row in rows if row.kind}
        result.conflicts, result.conflict_examples = _conflicts(store.typed_rows(conn), changed)
    return result


def import_files(
    db: Database,
    source: SourceFormat,
    paths: Sequence[Path],
    *,
    kind: str | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> ImportResult:
    """Import files of one format; all are read and checked before anything is written."""
    parsed: dict[str, tuple[str, list[NetworkRow]]] = {}
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as error:
            raise NetworkImportError(f"cannot read {path}: {error.strerror or error}") from None
        name, rows = parse(source, data, str(path), kind=kind, name=path.name)
        if name in parsed:  # two files of one list or tag: one source
            rows = [*parsed[name][1], *rows]
            rows = list({row.asn: row for row in rows}.values())
        parsed[name] = (str(path), rows)
    return import_parsed(db, parsed, clock=clock)


# --- downloading -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Download:
    format: SourceFormat
    url: str
    name: str  # the tag or list name
    kind: str | None = None


def configured_downloads(settings: Settings) -> list[Download]:
    downloads: list[Download] = []
    if settings.networks_bgptools_asns_url:
        downloads.append(Download("bgptools-asns", settings.networks_bgptools_asns_url, "asns"))
    if settings.networks_bgptools_tags_url:
        for tag in BGPTOOLS_TAGS:
            url = settings.networks_bgptools_tags_url.replace("{tag}", tag)
            downloads.append(Download("bgptools-tags", url, tag))
    if settings.networks_peeringdb_url:
        downloads.append(Download("peeringdb", settings.networks_peeringdb_url, "peeringdb"))
    for entry in settings.networks_hosting_lists:
        name, _, url = entry.partition("=")
        downloads.append(Download("list", url.strip(), name.strip(), "hosting"))
    return downloads


def _fetch(client: httpx.Client, url: str) -> bytes:
    try:
        with client.stream("GET", url) as response:
            if response.status_code != 200:
                raise NetworkImportError(f"{url}: HTTP {response.status_code}")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_DOWNLOAD:
                    raise NetworkImportError(f"{url}: larger than {MAX_DOWNLOAD} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.TimeoutException:
        raise NetworkImportError(f"{url}: timed out") from None
    except httpx.HTTPError as error:
        raise NetworkImportError(f"{url}: {error.__class__.__name__}: {error}") from None


def update(
    db: Database,
    settings: Settings,
    *,
    downloads: Sequence[Download] | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> ImportResult:
    """Download every configured source, check them all, then import them in one transaction:
    one failed download or bad file imports nothing."""
    wanted = configured_downloads(settings) if downloads is None else downloads
    if not wanted:
        raise NetworkImportError("no network-type source is configured (OPENFEEDER_NETWORKS_*)")
    headers = {"User-Agent": settings.networks_user_agent}
    parsed: dict[str, tuple[str, list[NetworkRow]]] = {}
    with httpx.Client(
        headers=headers, timeout=settings.networks_timeout, follow_redirects=True
    ) as client:
        for item in wanted:
            data = _fetch(client, item.url)
            source, rows = parse(item.format, data, item.url, kind=item.kind, name=item.name)
            parsed[source] = (item.url, rows)
    return import_parsed(db, parsed, clock=clock)


# --- operator overrides and what the classifier decides --------------------------------------


def set_override(db: Database, asn: int, kind: str, *, clock: Clock = SYSTEM_CLOCK) -> None:
    if kind not in TYPED_KINDS:
        raise NetworkImportError(f"{kind!r} is not a network kind ({', '.join(TYPED_KINDS)})")
    with db.write() as conn:
        store.set_override(conn, asn, kind, clock.now())


def unset_override(db: Database, asn: int, *, clock: Clock = SYSTEM_CLOCK) -> bool:
    with db.write() as conn:
        return store.unset_override(conn, asn, clock.now())


@dataclass(frozen=True)
class NetworkView:
    asn: int
    rows: list[NetworkRow]
    decision: Classification


def show(db: Database, asn: int, organization: str | None = None) -> NetworkView:
    """Every source's view of ``asn`` and the classification a hit in it gets (with the
    name a source gives it when no organisation name is given)."""
    with db.read() as conn:
        rows = store.rows_for(conn, asn)
    name = organization or next((row.name for row in rows if row.name), None)
    decision = decide(rows) or AsnClassifier.bundled().classify(asn, name)
    return NetworkView(asn, rows, decision)
