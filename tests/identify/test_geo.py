"""Locating with a City MMDB written by the test: every IP gets a Location (unknown parts
None), with the stable location id, a US state code, and the country-only IPinfo layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from openfeeder.config import Settings
from openfeeder.domain import ids
from openfeeder.domain.errors import OpenfeederError
from openfeeder.identify import make_identifier
from openfeeder.identify.geo import UNKNOWN_LOCATION
from openfeeder.identify.mmdb import CityEntry, write_city_mmdb
from openfeeder.store.db import Database
from tests.support.factories import BOSTON, HELSINKI
from tests.support.identify import add_company, identifier_for, identify

CITIES = [
    CityEntry("81.0.0.0/8", "FI", "Finland"),
    CityEntry("81.17.0.0/16", "FI", "Finland", "Uusimaa", "18", "Helsinki"),
    CityEntry("18.0.0.0/8", "US", "United States", "Massachusetts", "MA", "Boston"),
    CityEntry("2a0c:5a80::/32", "SE", "Sweden", "Stockholm", "AB", "Stockholm"),
]


def test_every_identification_carries_its_location(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    acme = add_company(db, "Acme Oy", ranges=("81.17.0.0/24",))
    path = write_city_mmdb(tmp_path / "city.mmdb", CITIES)
    with identifier_for(settings, city_mmdb=path) as identifier:
        found = identify(
            db, identifier, ["81.17.0.7", "18.1.2.3", "81.99.0.1", "2a0c:5a80::1", "9.9.9.9"]
        )
    assert found["81.17.0.7"].company_id == acme.id
    assert found["81.17.0.7"].location == HELSINKI  # the factories' Helsinki, id and all
    assert found["18.1.2.3"].location == BOSTON  # state_code from the US subdivision
    country_only = found["81.99.0.1"].location
    assert (country_only.country_code, country_only.country, country_only.city) == (
        "FI",
        "Finland",
        None,
    )
    assert country_only.id == ids.location_id("FI", None, None)
    sweden = found["2a0c:5a80::1"].location
    assert (sweden.city, sweden.region, sweden.state_code) == ("Stockholm", "Stockholm", None)
    assert found["9.9.9.9"].location == UNKNOWN_LOCATION
    assert UNKNOWN_LOCATION.id == ids.location_id(None, None, None)


def test_the_ipinfo_layout_gives_the_country(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    path = write_city_mmdb(tmp_path / "lite.mmdb", CITIES, flavour="ipinfo")
    with identifier_for(settings, city_mmdb=path) as identifier:
        location = identify(db, identifier, ["18.1.2.3"])["18.1.2.3"].location
    assert (location.country_code, location.country, location.region) == (
        "US",
        "United States",
        None,
    )


def test_without_a_database_the_location_is_unknown(db: Database, settings: Settings) -> None:
    with identifier_for(settings) as identifier:
        assert identify(db, identifier, ["18.1.2.3"])["18.1.2.3"].location == UNKNOWN_LOCATION


def test_a_missing_city_database_is_a_clear_error(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(OpenfeederError, match="cannot open the City database"):
        make_identifier(settings.model_copy(update={"city_mmdb": tmp_path / "nope.mmdb"}))
