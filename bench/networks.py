"""Network classification on real networks: realnet-dev, classified as a fully set-up install
would classify it, against the bundled rules alone.

``../shared/data/realnet-dev/asns.csv.gz`` (a development sample of real autonomous systems
with network-type labels from public sources; never shipped, never committed) is turned back
into files in the upstream formats its README describes, from each AS's ``sources`` column:
one bgp.tools tag file per tag and an ``asns.csv``, PeeringDB network objects, and the plain
hosting AS lists. They go through openfeeder's own importers (``identify.networks``) into a
fresh store; then every AS is classified from its number and name (``geolite2_name``, else
``dbip_name``) as the ASN resolver does. Printed per label (``conflict`` left out): never-lead
recall for hosting, isp and mobile, and how many business, education and government networks
are wrongly blocked, by AS count and by announced IPv4 address space.

    .venv/bin/python bench/networks.py              # the table
    .venv/bin/python bench/networks.py --json       # the figures, for tests
    .venv/bin/python bench/networks.py --misses 20  # which ASes each setup gets wrong, and why
    .venv/bin/python bench/networks.py --scale [--postgres URL]  # import and lookup speed

``--scale`` needs no sample: it writes bgp.tools-sized files (120 000 ASes in ``asns.csv``,
17 000 tagged) and times ``networks import`` of them against a ceiling measured side by side,
one raw ``executemany`` of the same rows into the same table, then the in-memory reload and
the per-hit classification against a plain dictionary lookup.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "realnet-dev" / "asns.csv.gz"
NEVER_LEAD_LABELS = ("hosting", "isp", "mobile")
KEEP_LABELS = ("business", "education", "government")
# realnet-dev's PeeringDB types (as CAIDA published them) → PeeringDB's own info_type words.
PEERINGDB_INFO_TYPE = {
    "Transit/Access": "Cable/DSL/ISP",
    "Enterprise": "Enterprise",
    "Content": "Content",
}
HOSTING_LISTS = ("brianhama", "x4bnet", "umkus", "bountyy")


@dataclass(frozen=True)
class Network:
    asn: int
    label: str
    addresses: int
    name: str | None
    sources: tuple[str, ...]


def read_sample(path: Path) -> list[Network]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        return [
            Network(
                int(row["asn"]),
                row["label"],
                int(row["ipv4_addresses"] or 0),
                row["geolite2_name"] or row["dbip_name"] or None,
                tuple(row["sources"].split()),
            )
            for row in csv.DictReader(handle)
        ]


def _signals(network: Network, family: str) -> list[str]:
    return [s.split(":", 1)[1] for s in network.sources if s.split(":", 1)[0] == family]


def write_upstream_files(networks: Iterable[Network], directory: Path) -> dict[str, list[Path]]:
    """The sample's sources as the files each upstream publishes."""
    from openfeeder.identify.networks import BGPTOOLS_TAGS

    networks = list(networks)
    tags: dict[str, list[Network]] = {tag: [] for tag in BGPTOOLS_TAGS}
    lists: dict[str, list[int]] = {name: [] for name in HOSTING_LISTS}
    peeringdb: list[dict[str, Any]] = []
    asns = ["asn,name,class,cc"]
    for network in networks:
        for tag in _signals(network, "bgptools"):
            tags.setdefault(tag, []).append(network)
        for name in HOSTING_LISTS:
            if "hosting" in _signals(network, name):
                lists[name].append(network.asn)
        types = [PEERINGDB_INFO_TYPE[t] for t in _signals(network, "peeringdb")]
        if types:
            peeringdb.append({"asn": network.asn, "name": network.name, "info_type": types[0]})
        classes = _signals(network, "bgptools_class") or ["Unknown"]
        asns.append(_csv_line([f"AS{network.asn}", network.name or "", classes[0], ""]))
    files: dict[str, list[Path]] = {"bgptools-tags": [], "list": []}
    (directory / "tags").mkdir()
    for tag, tagged in tags.items():
        path = directory / "tags" / f"{tag}.csv"
        path.write_text("".join(_csv_line([f"AS{n.asn}", n.name or ""]) + "\n" for n in tagged))
        files["bgptools-tags"].append(path)
    (directory / "asns.csv").write_text("\n".join(asns) + "\n")
    files["bgptools-asns"] = [directory / "asns.csv"]
    (directory / "peeringdb.json").write_text(json.dumps({"data": peeringdb}))
    files["peeringdb"] = [directory / "peeringdb.json"]
    for name, numbers in lists.items():
        path = directory / f"{name}.txt"
        path.write_text("# hosting AS list\n" + "".join(f"AS{n}\n" for n in numbers))
        files["list"].append(path)
    return files


def _csv_line(cells: list[str]) -> str:
    import io

    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()


def import_into_fresh_store(
    files: dict[str, list[Path]], directory: Path, name: str = "openfeeder"
) -> dict[str, Any]:
    """A fresh SQLite store with the files imported through ``identify.networks``."""
    from openfeeder.identify.networks import import_files
    from openfeeder.store.db import Database

    db = Database(f"sqlite:///{directory / name}.db")
    db.migrate()
    report: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        for source, paths in files.items():
            kind = "hosting" if source == "list" else None
            result = import_files(db, source, paths, kind=kind)  # type: ignore[arg-type]
            report[source] = {"rows": result.rows, "conflicts": result.conflicts}
        report["seconds"] = round(time.perf_counter() - started, 2)
        report["db"] = db
        return report
    except BaseException:
        db.dispose()
        raise


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


def measure(networks: list[Network], classifier: Any) -> dict[str, Any]:
    """Per label: ASes, addresses, and the share put into a never-lead class."""
    from openfeeder.identify.asn import NEVER_LEADS

    figures: dict[str, Any] = {}
    totals = Counter[str]()
    misses: dict[str, list[str]] = {}
    for network in networks:
        if network.label == "conflict":
            continue
        found = classifier.classify(network.asn, network.name)
        blocked = found.kind in NEVER_LEADS
        label = network.label
        totals[f"{label}:n"] += 1
        totals[f"{label}:a"] += network.addresses
        totals[f"{label}:bn"] += blocked
        totals[f"{label}:ba"] += network.addresses * blocked
        wrong = blocked != (label in NEVER_LEAD_LABELS)
        if wrong:
            misses.setdefault(label, []).append(
                f"AS{network.asn} {network.name!r}: {found.kind} ({found.why})"
            )
    for label in (*NEVER_LEAD_LABELS, *KEEP_LABELS):
        figures[label] = {
            "ases": totals[f"{label}:n"],
            "blocked_by_count": _rate(totals[f"{label}:bn"], totals[f"{label}:n"]),
            "blocked_by_addresses": _rate(totals[f"{label}:ba"], totals[f"{label}:a"]),
        }
    keep = {
        key: sum(totals[f"{label}:{key}"] for label in KEEP_LABELS)
        for key in ("n", "a", "bn", "ba")
    }
    figures["keep"] = {
        "ases": keep["n"],
        "blocked_by_count": _rate(keep["bn"], keep["n"]),
        "blocked_by_addresses": _rate(keep["ba"], keep["a"]),
    }
    figures["misses"] = misses
    return figures


def _loaded_types(files: dict[str, list[Path]], directory: Path, name: str) -> tuple[Any, Any]:
    from openfeeder.identify.asn import NetworkTypes

    report = import_into_fresh_store(files, directory, name)
    db = report.pop("db")
    try:
        types = NetworkTypes()
        with db.read() as conn:
            types.refresh(conn)
    finally:
        db.dispose()
    return types, report


def run(data: Path) -> dict[str, Any]:
    from openfeeder.identify.asn import AsnClassifier

    networks = read_sample(data)
    with tempfile.TemporaryDirectory(prefix="realnet-") as tmp:
        directory = Path(tmp)
        files = write_upstream_files(networks, directory)
        types, report = _loaded_types(files, directory, "installed")
        # PeeringDB's AUP keeps it out of `networks update` by default: the install without it.
        others = {source: paths for source, paths in files.items() if source != "peeringdb"}
        without, _ = _loaded_types(others, directory, "without-peeringdb")
    return {
        "networks": len(networks),
        "imports": report,
        "installed": measure(networks, AsnClassifier.bundled(types)),
        "without_peeringdb": measure(networks, AsnClassifier.bundled(without)),
        "bundled": measure(networks, AsnClassifier.bundled()),
        "imported_ases": len(types),
    }


def _cell(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} %"


SETUPS = (
    ("installed", "fully set up"),
    ("without_peeringdb", "without PeeringDB"),
    ("bundled", "bundled rules alone"),
)


def print_table(result: dict[str, Any]) -> None:
    print(f"realnet-dev: {result['networks']} ASes; imported types for {result['imported_ases']}")
    print(f"imports: {json.dumps(result['imports'])}")
    print()
    header = " | ".join(f"{title}: by ASes | by addresses" for _key, title in SETUPS)
    print(f"| label | ASes | {header} |")
    print("|---|---|" + "---|---|" * len(SETUPS))
    for label in (*NEVER_LEAD_LABELS, *KEEP_LABELS, "keep"):
        what = "recall" if label in NEVER_LEAD_LABELS else "wrongly blocked"
        name = "business + education + government" if label == "keep" else label
        cells = " | ".join(
            f"{_cell(result[key][label]['blocked_by_count'])} | "
            f"{_cell(result[key][label]['blocked_by_addresses'])}"
            for key, _title in SETUPS
        )
        print(f"| {name} ({what}) | {result['installed'][label]['ases']} | {cells} |")


SCALE_ASES = 120_000
SCALE_TAGS = {"dsl": 6_000, "biznet": 2_500, "mobile": 800, "vpsh": 3_500, "vpn": 900,
              "cdn": 150, "corp": 1_200, "uni": 1_400, "gov": 700}  # fmt: skip


def _scale_files(directory: Path) -> dict[str, list[Path]]:
    (directory / "tags").mkdir()
    lines = ["asn,name,class,cc"]
    lines += [
        _csv_line([f"AS{n}", f"Network {n}, Ltd", "Unknown", "FI"])
        for n in range(1, SCALE_ASES + 1)
    ]
    (directory / "asns.csv").write_text("\n".join(lines) + "\n")
    files: dict[str, list[Path]] = {"bgptools-asns": [directory / "asns.csv"], "bgptools-tags": []}
    start = 1
    for tag, count in SCALE_TAGS.items():
        path = directory / "tags" / f"{tag}.csv"
        path.write_text("".join(f"AS{n},Network {n}\n" for n in range(start, start + count)))
        files["bgptools-tags"].append(path)
        start += count // 2  # tags overlap, as real ones do
    return files


def _time_imports(backend: str, url: str, files: dict[str, list[Path]]) -> Any:
    """Our import against one raw executemany of the same rows; the reload; the types."""
    import sqlalchemy as sa

    from openfeeder.identify.asn import NetworkTypes
    from openfeeder.identify.networks import import_files, parse
    from openfeeder.store import schema
    from openfeeder.store.db import Database

    def clear() -> None:
        with db.write() as conn:
            conn.execute(sa.delete(schema.network_types))
            conn.execute(sa.delete(schema.network_sources))

    def ours() -> int:
        return sum(import_files(db, s, paths).rows for s, paths in files.items())  # type: ignore[arg-type]

    db = Database(url)
    db.migrate()
    clear()
    started = time.perf_counter()
    rows = ours()
    our_time = time.perf_counter() - started
    parsed = [
        row
        for source, paths in files.items()
        for path in paths
        for row in parse(source, path.read_bytes(), str(path), name=path.name)[1]  # type: ignore[arg-type]
    ]
    at = datetime.now(UTC)
    clear()
    started = time.perf_counter()
    with db.write() as conn:
        conn.execute(
            sa.insert(schema.network_types), [asdict(row) | {"updated_at": at} for row in parsed]
        )
    ceiling = time.perf_counter() - started
    clear()
    ours()
    types = NetworkTypes()
    started = time.perf_counter()
    with db.read() as conn:
        types.refresh(conn)
    reload = time.perf_counter() - started
    db.dispose()
    print(
        f"{backend}: imported {rows} rows in {our_time:.2f} s; one raw executemany of the same "
        f"rows {ceiling:.2f} s (the import at {ceiling / our_time:.2f} of the ceiling); "
        f"in-memory reload of {len(types)} typed ASes {reload:.2f} s"
    )
    return types


def _per_hit(classify: Any, numbers: list[int], name: str) -> float:
    started = time.perf_counter()
    for number in numbers:
        classify(number, name)
    return 1e6 * (time.perf_counter() - started) / len(numbers)


def _time_lookups(types: Any) -> None:
    """Per hit: an imported AS (a dictionary lookup: the ceiling is a plain dict.get) and an
    AS no source types (the keyword rules, one alternation per kind)."""
    from openfeeder.identify.asn import AsnClassifier

    classifier = AsnClassifier.bundled(types)
    typed = [n for n in range(1, SCALE_ASES + 1) if types.get(n) is not None]
    untyped = [n for n in range(1, SCALE_ASES + 1) if types.get(n) is None]
    hits_typed = [typed[(n * 7919) % len(typed)] for n in range(200_000)]
    hits_untyped = [untyped[(n * 7919) % len(untyped)] for n in range(200_000)]
    plain = dict.fromkeys(typed, "hosting")
    ceiling = _per_hit(lambda number, _name: plain.get(number), hits_typed, "")
    imported = _per_hit(classifier.classify, hits_typed, "Network Ltd")
    keywords = _per_hit(classifier.classify, hits_untyped, "Nordic Network Ltd")
    print(
        f"classify, imported AS: {imported:.2f} µs per hit; a plain dict.get {ceiling:.2f} µs "
        f"(at {ceiling / imported:.2f} of it); an AS no source types (keyword rules): "
        f"{keywords:.2f} µs per hit"
    )


def scale(postgres: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="networks-scale-") as tmp:
        directory = Path(tmp)
        files = _scale_files(directory)
        types = _time_imports("sqlite", f"sqlite:///{directory / 'scale.db'}", files)
        if postgres:
            _time_imports("postgresql", postgres, files)
    _time_lookups(types)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")
    parser.add_argument("--misses", type=int, default=0, help="Show up to N misses per label.")
    parser.add_argument("--scale", action="store_true", help="Time imports and lookups.")
    parser.add_argument("--postgres", help="With --scale: also this PostgreSQL database.")
    args = parser.parse_args()
    if args.scale:
        scale(args.postgres)
        return
    if not args.data.exists():
        sys.exit(f"no realnet-dev sample at {args.data}")
    result = run(args.data)
    if args.json:
        for setup, _title in SETUPS:
            result[setup]["misses"] = {k: len(v) for k, v in result[setup]["misses"].items()}
        print(json.dumps(result, indent=2))
        return
    print_table(result)
    for setup, _title in SETUPS if args.misses else ():
        print(f"\n{setup}: misses")
        for label, lines in result[setup]["misses"].items():
            print(f"  {label}: {len(lines)}")
            for line in lines[: args.misses]:
                print(f"    {line}")


if __name__ == "__main__":
    main()
