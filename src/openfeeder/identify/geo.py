"""Where an IP is: a Location from an MMDB City database (GeoLite2-City and DB-IP City Lite
field names; country-only databases such as IPinfo Lite give the country alone)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import maxminddb
from maxminddb.errors import InvalidDatabaseError

from openfeeder.domain.errors import OpenfeederError
from openfeeder.domain.ids import location_id
from openfeeder.domain.models import Location
from openfeeder.identify.ranges import IPAddress


def make_location(
    country_code: str | None,
    country: str | None,
    region: str | None,
    city: str | None,
    state_code: str | None = None,
) -> Location:
    """A Location with its stable id; ``region_code`` stays null as in Leadfeeder's API."""
    return Location(
        id=location_id(country_code, region, city),
        country=country,
        country_code=country_code,
        region=region,
        region_code=None,
        city=city,
        state_code=state_code,
    )


UNKNOWN_LOCATION = make_location(None, None, None, None)


def _name(entry: Any) -> str | None:
    if isinstance(entry, Mapping):
        names = entry.get("names")
        if isinstance(names, Mapping) and isinstance(names.get("en"), str):
            return str(names["en"])
    return None


def location_from_record(record: Mapping[str, Any]) -> Location:
    """A Location from a City (or country) database record."""
    country = record.get("country") or record.get("registered_country")
    if isinstance(country, Mapping):
        code = country.get("iso_code")
        country_name = _name(country)
    else:  # IPinfo Lite: flat country_code and country (a name)
        code = record.get("country_code")
        country_name = country if isinstance(country, str) else None
    code = str(code).upper() if code else None
    subdivisions = record.get("subdivisions")
    subdivision = subdivisions[0] if isinstance(subdivisions, list) and subdivisions else None
    region = _name(subdivision)
    state = None
    if code == "US" and isinstance(subdivision, Mapping) and subdivision.get("iso_code"):
        state = str(subdivision["iso_code"])
    return make_location(code, country_name, region, _name(record.get("city")), state)


class CityDatabase:
    """An MMDB City database, read through ``maxminddb`` (memory-mapped, safe across threads)."""

    def __init__(self, path: Path) -> None:
        try:
            self._reader = maxminddb.open_database(str(path))
        except (OSError, ValueError, InvalidDatabaseError) as error:
            raise OpenfeederError(f"cannot open the City database {path}: {error}") from None

    def locate(self, address: IPAddress) -> Location:
        try:
            record = self._reader.get(address)
        except (ValueError, InvalidDatabaseError):
            return UNKNOWN_LOCATION
        if not isinstance(record, Mapping):
            return UNKNOWN_LOCATION
        return location_from_record(record)

    def close(self) -> None:
        self._reader.close()
