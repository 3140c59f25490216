"""Writing small ASN and City MMDB files with ``mmdb-writer``, in the field layouts of the
databases openfeeder reads (GeoLite2 and DB-IP, or IPinfo Lite): the tests and the demo build
their own databases, so nothing is downloaded."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import ip_network
from pathlib import Path
from typing import Any, Literal

import netaddr
from mmdb_writer import MMDBWriter

Flavour = Literal["geolite2", "dbip", "ipinfo"]
_DATABASE_TYPES: dict[Flavour, tuple[str, str]] = {
    "geolite2": ("GeoLite2-ASN", "GeoLite2-City"),
    "dbip": ("DBIP-ASN-Lite (compat=GeoLite2-ASN)", "DBIP-City-Lite (compat=City)"),
    "ipinfo": ("ipinfo lite.mmdb", "ipinfo lite.mmdb"),
}


@dataclass(frozen=True)
class AsnEntry:
    network: str  # CIDR, IPv4 or IPv6
    number: int
    organization: str
    domain: str | None = None  # IPinfo Lite's as_domain
    type: str | None = None  # IPinfo's ASN type (isp, hosting, business, education)


@dataclass(frozen=True)
class CityEntry:
    network: str
    country_code: str
    country: str
    region: str | None = None
    region_code: str | None = None  # e.g. MA; a US one becomes the location's state_code
    city: str | None = None


def _asn_record(entry: AsnEntry, flavour: Flavour) -> dict[str, Any]:
    if flavour == "ipinfo":
        record: dict[str, Any] = {"asn": f"AS{entry.number}", "as_name": entry.organization}
        if entry.domain:
            record["as_domain"] = entry.domain
        if entry.type:
            record["type"] = entry.type
        return record
    return {
        "autonomous_system_number": entry.number,
        "autonomous_system_organization": entry.organization,
    }


def _city_record(entry: CityEntry, flavour: Flavour) -> dict[str, Any]:
    if flavour == "ipinfo":  # IPinfo Lite has the country only
        return {"country_code": entry.country_code, "country": entry.country}
    record: dict[str, Any] = {
        "country": {"iso_code": entry.country_code, "names": {"en": entry.country}}
    }
    if entry.region:
        subdivision: dict[str, Any] = {"names": {"en": entry.region}}
        if entry.region_code:
            subdivision["iso_code"] = entry.region_code
        record["subdivisions"] = [subdivision]
    if entry.city:
        record["city"] = {"names": {"en": entry.city}}
    return record


def _write(path: Path, database_type: str, records: Iterable[tuple[str, dict[str, Any]]]) -> None:
    writer = MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type=database_type,
        languages=["en"],
        description="openfeeder test database",
    )
    networks = [(ip_network(network, strict=False), record) for network, record in records]
    # mmdb-writer keeps a narrower network inserted after a wider one, not the other way round;
    # IPv4 sits at ::/96 of the tree, so its prefixes count from there.
    networks.sort(key=lambda item: item[0].prefixlen + (96 if item[0].version == 4 else 0))
    for network, record in networks:
        writer.insert_network(netaddr.IPSet([str(network)]), record)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer.to_db_file(str(path))


def write_asn_mmdb(path: Path, entries: Iterable[AsnEntry], flavour: Flavour = "geolite2") -> Path:
    _write(
        path, _DATABASE_TYPES[flavour][0], ((e.network, _asn_record(e, flavour)) for e in entries)
    )
    return path


def write_city_mmdb(
    path: Path, entries: Iterable[CityEntry], flavour: Flavour = "geolite2"
) -> Path:
    _write(
        path, _DATABASE_TYPES[flavour][1], ((e.network, _city_record(e, flavour)) for e in entries)
    )
    return path
