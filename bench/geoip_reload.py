"""IP database lookups through the readers that follow their file (``identify.reloading``)
against the plain readers underneath them (``AsnDatabase``, ``CityDatabase``), side by side in
one run: what noticing a replaced file costs each lookup.

Both sides look up the same addresses in the same test-written databases (an ASN and a City
database of 4 096 networks each, written with ``identify.mmdb``), from one thread and from
four at once; the script checks first that both sides give the same answers. The plain
reader is the ceiling: the follower adds a clock read, a lock around a use count, and a
``stat`` at most every ``CHECK_SECONDS``.

    .venv/bin/python bench/geoip_reload.py
    .venv/bin/python bench/geoip_reload.py --lookups 200000 --repeat 7
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from openfeeder.identify.asn import AsnDatabase
from openfeeder.identify.geo import CityDatabase
from openfeeder.identify.mmdb import AsnEntry, CityEntry, write_asn_mmdb, write_city_mmdb
from openfeeder.identify.ranges import IPAddress
from openfeeder.identify.reloading import ReloadingAsn, ReloadingCity

NETWORKS = 4096


def write_databases(directory: Path) -> tuple[Path, Path]:
    asn = [
        AsnEntry(f"10.{i // 256}.{i % 256}.0/24", 64500 + i, f"Org {i} Oy") for i in range(NETWORKS)
    ]
    city = [
        CityEntry(f"10.{i // 256}.{i % 256}.0/24", "FI", "Finland", "Uusimaa", None, f"City {i}")
        for i in range(NETWORKS)
    ]
    return (
        write_asn_mmdb(directory / "asn.mmdb", asn, "dbip"),
        write_city_mmdb(directory / "city.mmdb", city, "dbip"),
    )


def addresses(count: int) -> list[IPAddress]:
    rng = random.Random(7)
    return [
        ipaddress.ip_address(f"10.{rng.randrange(16)}.{rng.randrange(256)}.{rng.randrange(1, 255)}")
        for _ in range(count)
    ]


def run(lookup: Callable[[IPAddress], Any], ips: Sequence[IPAddress], threads: int) -> float:
    """Lookups per second, ``ips`` split over ``threads``."""
    parts = [ips[i::threads] for i in range(threads)]
    start = threading.Barrier(threads + 1)

    def work(part: Sequence[IPAddress]) -> None:
        start.wait()
        for ip in part:
            lookup(ip)

    workers = [threading.Thread(target=work, args=(part,)) for part in parts]
    for worker in workers:
        worker.start()
    began = time.perf_counter()
    start.wait()
    for worker in workers:
        worker.join()
    return len(ips) / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    ips = addresses(args.lookups)
    with tempfile.TemporaryDirectory() as tmp:
        asn_path, city_path = write_databases(Path(tmp))
        plain_asn, plain_city = AsnDatabase(asn_path), CityDatabase(city_path)
        follow_asn = ReloadingAsn(asn_path, required=True)
        follow_city = ReloadingCity(city_path, required=True)
        sample = ips[:1000]
        assert [plain_asn.lookup(ip) for ip in sample] == [follow_asn.lookup(ip) for ip in sample]
        assert [plain_city.locate(ip) for ip in sample] == [follow_city.locate(ip) for ip in sample]
        cases = [
            ("ASN", plain_asn.lookup, follow_asn.lookup),
            ("City", plain_city.locate, follow_city.locate),
        ]
        print(f"{args.lookups} lookups, median of {args.repeat} runs (lookups per second)")
        print(f"{'database':<8} {'threads':>7} {'plain':>10} {'following':>10} {'ratio':>6}")
        for name, plain, follow in cases:
            for threads in (1, 4):
                ceiling: list[float] = []
                ours: list[float] = []
                for _ in range(args.repeat):  # interleaved, so load changes hit both alike
                    ceiling.append(run(plain, ips, threads))
                    ours.append(run(follow, ips, threads))
                top, mine = statistics.median(ceiling), statistics.median(ours)
                print(f"{name:<8} {threads:>7} {top:>10,.0f} {mine:>10,.0f} {mine / top:>6.2f}")
        for reader in (plain_asn, plain_city, follow_asn, follow_city):
            reader.close()


if __name__ == "__main__":
    main()
