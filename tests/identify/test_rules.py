"""Account traffic rules, the chain's first step: the account's own ranges, excluded
countries (City MMDB written by the test) and excluded host names (PTR from a DNS server on
127.0.0.1) drop the visit, ahead of every resolver; other accounts are not affected."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from openfeeder.config import Settings
from openfeeder.identify.mmdb import CityEntry, write_city_mmdb
from openfeeder.store import schema as t
from openfeeder.store.db import Database
from tests.support.factories import Builder
from tests.support.identify import Zone, add_company, dns_server, identifier_for, identify


def add_rules(db: Database, account_id: int, *rules: tuple[str, str]) -> None:
    with db.write() as conn:
        conn.execute(
            t.traffic_rules.insert(),
            [{"account_id": account_id, "kind": k, "value": v} for k, v in rules],
        )


def test_the_accounts_own_ranges_are_dropped_before_company_ranges(
    db: Database, settings: Settings, builder: Builder
) -> None:
    account, other = builder.account(), builder.account()
    acme = add_company(db, "Acme Oy", ranges=("81.17.0.0/16", "2a0c:5a80::/32"))
    add_rules(
        db,
        account.id,
        ("ip_range", "81.17.4.0/24"),
        ("ip_range", "81.17.9.9"),
        ("ip_range", "2a0c:5a80:1::/48"),
    )
    ips = ["81.17.4.200", "81.17.9.9", "2a0c:5a80:1::5", "81.17.9.10"]
    with identifier_for(settings) as identifier:
        mine = identify(db, identifier, ips, account.id)
        theirs = identify(db, identifier, ips, other.id)
        nobody = identify(db, identifier, ips)
    for ip in ips[:3]:
        assert (mine[ip].company_id, mine[ip].drop_reason) == (None, "own_traffic")
    assert mine["81.17.4.200"].match_reason == (
        "81.17.4.200 is in the account's own range 81.17.4.0/24"
    )
    assert mine["81.17.9.10"].company_id == acme.id
    for found in (theirs, nobody):
        assert {found[ip].company_id for ip in ips} == {acme.id}


def test_excluded_countries_are_dropped(
    db: Database, settings: Settings, builder: Builder, tmp_path: Path
) -> None:
    account = builder.account()
    add_company(db, "Acme Oy", ranges=("81.17.0.0/16",))
    add_rules(db, account.id, ("country", "fi"))
    city = write_city_mmdb(
        tmp_path / "city.mmdb",
        [CityEntry("81.0.0.0/8", "FI", "Finland"), CityEntry("18.0.0.0/8", "US", "United States")],
    )
    with identifier_for(settings, city_mmdb=city) as identifier:
        found = identify(db, identifier, ["81.17.0.1", "18.0.0.1"], account.id)
    assert found["81.17.0.1"].drop_reason == "excluded_country"
    assert found["81.17.0.1"].match_reason == "81.17.0.1 is in an excluded country (FI)"
    assert found["81.17.0.1"].location.country_code == "FI"  # located even when dropped
    assert found["18.0.0.1"].drop_reason is None


def test_excluded_host_names_are_dropped_even_in_company_ranges(
    db: Database, settings: Settings, builder: Builder
) -> None:
    account = builder.account()
    acme = add_company(db, "Acme Oy", domain="acme.fi", ranges=("81.17.0.0/16",))
    add_company(db, "Notacme", domain="notacme.fi")
    add_rules(db, account.id, ("hostname", "acme.fi"))
    zone = Zone()
    zone.add("81.17.0.1", "gw.hq.acme.fi")  # in Acme's range, but the owner excluded it
    zone.add("81.17.0.2", "mail.notacme.fi")  # in Acme's range, another name
    zone.add("81.40.0.1", "acme.fi")
    zone.add("81.40.0.2", "gw.notacme.fi")
    ips = ["81.17.0.1", "81.17.0.2", "81.40.0.1", "81.40.0.2"]
    with (
        dns_server(zone) as server,
        identifier_for(settings, reverse_dns=True, dns_servers=[server]) as identifier,
    ):
        found = identify(db, identifier, ips, account.id)
    assert found["81.17.0.1"].drop_reason == "excluded_hostname"
    assert found["81.17.0.1"].match_reason == "81.17.0.1 is gw.hq.acme.fi, an excluded host name"
    assert found["81.40.0.1"].drop_reason == "excluded_hostname"
    assert found["81.17.0.2"].company_id == acme.id  # the range still answers
    assert found["81.40.0.2"].match_source == "reverse_dns"


def test_a_broken_stored_rule_is_skipped(
    db: Database, settings: Settings, builder: Builder, caplog: pytest.LogCaptureFixture
) -> None:
    account = builder.account()
    add_rules(db, account.id, ("ip_range", "81.17.0.0/33"), ("ip_range", "81.18.0.0/16"))
    with caplog.at_level(logging.WARNING), identifier_for(settings) as identifier:
        found = identify(db, identifier, ["81.17.0.1", "81.18.0.1"], account.id)
    assert found["81.17.0.1"].drop_reason is None
    assert found["81.18.0.1"].drop_reason == "own_traffic"
    assert "ignoring traffic rule ip_range '81.17.0.0/33'" in caplog.text
