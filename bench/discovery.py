"""Company discovery's cost in the resolver chain: ``Identifier.identify_many`` on batches of
the pipeline's size (500 IPs) from an IPinfo Lite layout ASN database, with discovery on,
against the same chain with discovery off (the ceiling), side by side in one run.

The networks: half are organisations typed ``business`` (discovery makes and then matches
their companies), a quarter ``isp`` (dropped either way), a quarter with no type (nothing
either way). Reverse DNS and the website enrichment are off (they wait on the network; their
cost is the outside world's). Measured: the first batch over new networks (discovery creates
the companies) and steady batches once they exist (what every later batch pays: one lookup of
the matched companies' provenance).

    .venv/bin/python bench/discovery.py
    .venv/bin/python bench/discovery.py --postgres postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from openfeeder.identify.asn import AsnDatabase  # noqa: E402
from openfeeder.identify.chain import Identifier  # noqa: E402
from openfeeder.identify.mmdb import AsnEntry, write_asn_mmdb  # noqa: E402
from openfeeder.store.db import Database  # noqa: E402

BATCH = 500


def _database(path: Path, networks: int) -> Path:
    entries = []
    for n in range(networks):
        network = f"{20 + n // 250}.{n % 250}.0.0/16"
        number = 64512 + n
        if n % 4 in (0, 1):
            entries.append(AsnEntry(network, number, f"ORG-{n}", f"org{n}.fi", "business"))
        elif n % 4 == 2:
            entries.append(AsnEntry(network, number, f"Broadband {n}", None, "isp"))
        else:
            entries.append(AsnEntry(network, number, f"Pohjoinen {n}"))
    return write_asn_mmdb(path, entries, flavour="ipinfo")


def _ips(rng: random.Random, networks: int, count: int) -> list[str]:
    out = set()
    while len(out) < count:
        n = rng.randrange(networks)
        out.add(f"{20 + n // 250}.{n % 250}.{rng.randrange(256)}.{rng.randrange(1, 255)}")
    return sorted(out)


def _time(db: Database, identifier: Identifier, batches: list[list[str]]) -> list[float]:
    samples = []
    for ips in batches:
        started = time.perf_counter()
        with db.write() as conn:
            identifier.identify_many(conn, None, ips)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def run(url: str, mmdb: Path, networks: int, repeat: int, label: str) -> None:
    db = Database(url)
    db.migrate()
    rng = random.Random(20261202)
    first = _ips(rng, networks, BATCH)
    steady = [_ips(rng, networks, BATCH) for _ in range(repeat)]
    off = Identifier(asn=AsnDatabase(mmdb), discover=False)
    on = Identifier(asn=AsnDatabase(mmdb), discover=True)
    try:
        ceiling_first = _time(db, off, [first])[0]
        discovering = _time(db, on, [first])[0]
        with db.read() as conn:
            made = conn.execute(sa.text("SELECT count(*) FROM companies")).scalar_one()
        _time(db, on, steady[:1])  # the rest of the networks' companies made
        rounds_off, rounds_on = [], []
        for ips in steady:  # interleaved, so both see the same machine load
            rounds_off += _time(db, off, [ips])
            rounds_on += _time(db, on, [ips])
    finally:
        on.close()
        off.close()
        db.dispose()
    median_off, median_on = statistics.median(rounds_off), statistics.median(rounds_on)
    print(f"{label}: {networks} networks, batches of {BATCH} IPs, median of {repeat}")
    print(
        f"  first batch (discovery makes {made} companies): {discovering:.1f} ms; "
        f"the chain without discovery {ceiling_first:.1f} ms; ratio "
        f"{ceiling_first / discovering:.2f}"
    )
    print(
        f"  steady batches: {median_on:.1f} ms with discovery, {median_off:.1f} ms without; "
        f"ratio {median_off / median_on:.2f} of the ceiling"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="also on this PostgreSQL server (a fresh database)")
    parser.add_argument("--networks", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        mmdb = _database(Path(folder) / "asn.mmdb", args.networks)
        run(f"sqlite:///{folder}/bench.db", mmdb, args.networks, args.repeat, "SQLite")
        if args.postgres:
            name = f"bench_discovery_{uuid.uuid4().hex[:8]}"
            admin = sa.create_engine(args.postgres, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            url = args.postgres.rsplit("/", 1)[0] + f"/{name}"
            try:
                run(url, mmdb, args.networks, args.repeat, "PostgreSQL")
            finally:
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    main()
