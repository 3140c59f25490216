"""The company import (``openfeeder companies import FILE``) on both stores: CSV and JSONL rows
become companies with ranges, domains and AS numbers; every error names its line and nothing
is written; importing again updates companies in place, found by id or by domain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from openfeeder.cli import main
from openfeeder.config import Settings
from openfeeder.domain.errors import BadRequest
from openfeeder.identify.companies import import_companies, read_file
from openfeeder.identify.mmdb import AsnEntry, write_asn_mmdb
from openfeeder.store import schema as t
from openfeeder.store.db import Database
from openfeeder.store.identify import get_companies
from tests.support.identify import identifier_for, identify

CSV_HEADER = (
    "id,name,domain,website_url,industry,industry_code,industries,employee_count,"
    "employees_min,employees_max,revenue,phone,linkedin_url,business_id,ranges,domains,asns\n"
)
ACME_CSV = (
    CSV_HEADER
    + "acme-1,Acme Oy,acme.fi,https://acme.fi,Software,20,Software Development; IT Services,"
    "120,51,200,EUR 12000000,+358 9 123,https://www.linkedin.com/company/acme,FI1234567-8,"
    '"81.17.0.0/24 2a0c:5a80::/48",acme.com;acme.se,AS64500\n'
    + ",Globex Corporation,globex.com,,,,,,,,,,,,81.18.0.0/16,,\n"
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(*rows: dict[str, Any]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def keys(db: Database) -> dict[str, str]:
    with db.read() as conn:
        rows = conn.execute(sa.select(t.company_keys.c.key, t.company_keys.c.company_id))
        return dict(rows.all())


def ranges(db: Database) -> set[tuple[str, str]]:
    with db.read() as conn:
        rows = conn.execute(sa.select(t.company_ranges.c.company_id, t.company_ranges.c.network))
        return set(rows.all())


def test_a_csv_import_writes_companies_ranges_domains_and_asns(
    db: Database, tmp_path: Path
) -> None:
    result = import_companies(db, write(tmp_path, "companies.csv", ACME_CSV))
    assert (result.companies, result.created, result.updated) == (2, 2, 0)
    assert (result.ranges, result.domains, result.asns) == (3, 4, 1)
    with db.read() as conn:
        globex_id = conn.scalar(
            sa.select(t.companies.c.id).where(t.companies.c.name.like("Globex%"))
        )
        companies = get_companies(conn, ["acme-1", globex_id])
    acme = companies["acme-1"]
    assert (acme.name, acme.domain, acme.industry, acme.industry_code) == (
        "Acme Oy",
        "acme.fi",
        "Software",
        20,
    )
    assert acme.industries == ["Software Development", "IT Services"]
    assert (acme.employee_count, acme.employees_min, acme.employees_max) == (120, 51, 200)
    assert (acme.revenue, acme.phone, acme.business_id) == (
        "EUR 12000000",
        "+358 9 123",
        "FI1234567-8",
    )
    assert keys(db) == {
        "acme.fi": "acme-1",
        "acme.com": "acme-1",
        "acme.se": "acme-1",
        "asn:64500": "acme-1",
        "org:acme": "acme-1",
        "globex.com": globex_id,
        "org:globex": globex_id,
    }
    assert ranges(db) == {
        ("acme-1", "81.17.0.0/24"),
        ("acme-1", "2a0c:5a80::/48"),
        (globex_id, "81.18.0.0/16"),
    }


def test_imported_companies_are_identified(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    import_companies(db, write(tmp_path, "companies.csv", ACME_CSV))
    asn = write_asn_mmdb(
        tmp_path / "asn.mmdb",
        [AsnEntry("85.79.0.0/16", 64500, "ACME-NET"), AsnEntry("85.80.0.0/16", 64501, "GLOBEX")],
    )
    with identifier_for(settings, asn_mmdb=asn) as identifier:
        found = identify(db, identifier, ["81.17.0.5", "2a0c:5a80::5", "85.79.0.1", "85.80.0.1"])
    assert found["81.17.0.5"].company_id == "acme-1"
    assert found["2a0c:5a80::5"].company_id == "acme-1"
    assert found["85.79.0.1"].match_reason == (
        "85.79.0.1 is in AS64500 (ACME-NET), an AS number of Acme Oy"
    )
    assert found["85.80.0.1"].match_reason == (
        "85.80.0.1 is in AS64501 (GLOBEX), whose name is Globex Corporation's"
    )


def test_a_jsonl_import_is_the_same(db: Database, tmp_path: Path) -> None:
    text = jsonl(
        {
            "id": "acme-1",
            "name": "Acme Oy",
            "domain": "acme.fi",
            "industries": ["Software Development"],
            "employee_count": 120,
            "ranges": ["81.17.0.0/24"],
            "domains": ["acme.com"],
            "asns": [64500, "AS64501"],
        },
        {"name": "Globex", "domain": "globex.com", "ranges": "81.18.0.0/16"},
    )
    result = import_companies(db, write(tmp_path, "companies.jsonl", "\n" + text))
    assert (result.companies, result.ranges, result.domains, result.asns) == (2, 2, 3, 2)
    assert keys(db)["asn:64501"] == "acme-1"
    assert ("acme-1", "81.17.0.0/24") in ranges(db)


def test_importing_again_updates_in_place(db: Database, tmp_path: Path) -> None:
    import_companies(db, write(tmp_path, "companies.csv", ACME_CSV))
    with db.read() as conn:
        globex_id = conn.scalar(
            sa.select(t.companies.c.id).where(t.companies.c.domain == "globex.com")
        )
    # By id: a new name, one range dropped, one added; columns not in the file keep their value.
    # By domain (no id): Globex's row updates the same company; its ranges stay as they were.
    text = "id,name,ranges,asns\nacme-1,Acme Software Oy,81.17.0.0/24 81.20.0.0/22,\n"
    result = import_companies(db, write(tmp_path, "update.csv", text))
    assert (result.created, result.updated) == (0, 1)
    update = jsonl({"domain": "globex.com", "employee_count": 5000, "domains": ["globex.fi"]})
    result = import_companies(db, write(tmp_path, "update.jsonl", update))
    assert (result.created, result.updated) == (0, 1)
    with db.read() as conn:
        companies = get_companies(conn, ["acme-1", globex_id])
        count = conn.scalar(sa.select(sa.func.count()).select_from(t.companies))
    assert count == 2
    acme, globex = companies["acme-1"], companies[globex_id]
    assert (acme.name, acme.industry, acme.employee_count) == ("Acme Software Oy", "Software", 120)
    assert (globex.name, globex.employee_count) == ("Globex Corporation", 5000)
    assert ranges(db) == {
        ("acme-1", "81.17.0.0/24"),
        ("acme-1", "81.20.0.0/22"),
        (globex_id, "81.18.0.0/16"),
    }
    assert keys(db) == {
        "acme.fi": "acme-1",
        "acme.com": "acme-1",
        "acme.se": "acme-1",
        "org:acme software": "acme-1",  # the old name's key went with the old name
        "globex.com": globex_id,
        "globex.fi": globex_id,  # domains replaced: the primary domain always stays
        "org:globex": globex_id,
    }  # asns present but empty: AS64500 no longer Acme's


def test_a_name_two_companies_share_maps_no_network(db: Database, tmp_path: Path) -> None:
    text = jsonl(
        {"id": "a", "name": "Nordic Widgets Oy", "domain": "widgets.fi"},
        {"id": "b", "name": "Nordic Widgets AB", "domain": "widgets.se"},
        {"id": "c", "name": "Umbrella", "domain": "umbrella.com"},
    )
    import_companies(db, write(tmp_path, "first.jsonl", text))
    assert "org:nordic widgets" not in keys(db)
    assert keys(db)["org:umbrella"] == "c"
    import_companies(
        db, write(tmp_path, "rename.jsonl", jsonl({"id": "b", "name": "Widgets Sverige"}))
    )
    assert keys(db)["org:nordic widgets"] == "a"  # unique again
    assert keys(db)["org:widgets sverige"] == "b"


BAD_ROWS = [
    ("id,name,domain\nx,Acme,acme.fi\ny,,b.fi\n", "bad.csv line 3: name: must not be empty"),
    (
        "name,domain\nAcme,not a domain\n",
        "bad.csv line 2: domain: 'not a domain' is not a domain name like acme.fi",
    ),
    (
        "name,domain,ranges\nAcme,acme.fi,10.0.0.1/24\n",
        "bad.csv line 2: ranges: '10.0.0.1/24' has host bits set; did you mean 10.0.0.0/24?",
    ),
    (
        "name,domain,ranges\nAcme,acme.fi,10.0.0.300/24\n",
        "bad.csv line 2: ranges: '10.0.0.300/24' is not a network (CIDR) such as 203.0.113.0/24",
    ),
    (
        "name,domain,asns\nAcme,acme.fi,ASX\n",
        "bad.csv line 2: asns: 'ASX' is not an AS number such as 64500 or AS64500",
    ),
    (
        "name,domain,employee_count\nAcme,acme.fi,-3\n",
        "bad.csv line 2: employee_count: must be a whole number ≥ 0, got '-3'",
    ),
    (
        "name,domain,website_url\nAcme,acme.fi,acme.fi\n",
        "bad.csv line 2: website_url: 'acme.fi' is not an http(s) URL",
    ),
    ("name,colour\nAcme,red\n", "bad.csv line 2: unknown field 'colour'"),
    (
        "name\nAcme\n",
        "bad.csv line 2: needs an id or a domain, so that importing again finds the company",
    ),
    (
        "name,domain\nAcme,acme.fi\nAcme 2,acme.fi\n",
        "bad.csv line 3: domain acme.fi is also on line 2",
    ),
    ("id,name\nnew-1,\n", "bad.csv line 2: name: must not be empty"),
    ('name,domain\n"Acme,acme.fi\n', "bad.csv line 2:"),
    ("name,domain\nAcme,acme.fi,extra\n", "bad.csv line 2: more cells than the header has columns"),
    ("name,domain\nA,a.fi\nB,b b\nC,c c\n", "(and 1 more error)"),
]


@pytest.mark.parametrize(("text", "message"), BAD_ROWS)
def test_errors_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    """The whole file is validated before the store is touched."""
    with pytest.raises(BadRequest) as raised:
        read_file(write(tmp_path, "bad.csv", text))
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_errors_the_store_finds_name_the_line_and_nothing_is_written(
    db: Database, tmp_path: Path
) -> None:
    first = "id,name,domain,domains\nold-1,Old,old.fi,old.com\n"
    import_companies(db, write(tmp_path, "first.csv", first))
    cases = [
        ("id,domain\nnew-1,new.fi\n", "bad.csv line 2: name: required for a new company"),
        (
            "id,name,domain,employees_min,employees_max\nok-1,Ok,ok.fi,1,2\nold-1,Old,,50,10\n",
            "bad.csv line 3: employees_min 50 is more than employees_max 10",
        ),
        (
            "name,domain\nA,old.fi\nB,old.com\n",  # both rows find company old-1
            "bad.csv line 3: is the same company (old-1) as line 2",
        ),
    ]
    for text, message in cases:
        with pytest.raises(BadRequest) as raised:
            import_companies(db, write(tmp_path, "bad.csv", text))
        assert message in str(raised.value)
    with db.read() as conn:
        names = conn.execute(sa.select(t.companies.c.id, t.companies.c.name)).all()
    assert [tuple(row) for row in names] == [("old-1", "Old")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"name": "A", "domain": "a.fi"}\n[1, 2]\n',
            "bad.jsonl line 2: each line must be a JSON object",
        ),
        ('{"name": "A", "domain": "a.fi"}\n\n{"name": \n', "bad.jsonl line 3: not valid JSON"),
        (
            '{"name": "A", "domain": "a.fi", "ranges": [42]}\n',
            "bad.jsonl line 1: ranges: 42 is not a network",
        ),
        (
            '{"name": "A", "domain": "a.fi", "industries": "x"}\n{"name": 5, "domain": "b.fi"}\n',
            "bad.jsonl line 2: name: must be text, got 5",
        ),
        (
            '{"name": "A", "domain": "a.fi", "employee_count": true}\n',
            "employee_count: must be a whole number, got True",
        ),
        ("", "bad.jsonl: no companies in the file"),
    ],
)
def test_jsonl_errors_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(BadRequest) as raised:
        read_file(write(tmp_path, "bad.jsonl", text))
    assert message in str(raised.value)


def cli(settings: Settings, *args: str) -> Any:
    env = {"OPENFEEDER_DATABASE_URL": settings.database_url}
    return CliRunner().invoke(main, ["companies", "import", *args], env=env)


def test_the_command_imports_and_reports(settings: Settings, tmp_path: Path) -> None:
    path = write(tmp_path, "companies.csv", ACME_CSV)
    done = cli(settings, str(path))
    assert done.exit_code == 0, done.output
    assert done.stdout == (
        "Imported 2 companies (2 new, 0 updated): 3 IP ranges, 4 domains, 1 AS numbers.\n"
    )
    again = cli(settings, str(path), "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == {
        "companies": 2,
        "created": 0,
        "updated": 2,
        "ranges": 3,
        "domains": 4,
        "asns": 1,
    }


@pytest.mark.parametrize(
    ("name", "text", "error"),
    [
        ("missing.csv", None, "missing.csv: no such file"),
        ("latin1.csv", b"name,domain\n\xe4,a.fi\n", "latin1.csv: not UTF-8 text"),
        ("bad.csv", "name,domain\nAcme,acme fi\n", "bad.csv line 2: domain: 'acme fi' is not"),
    ],
)
def test_the_command_fails_with_one_line(
    settings: Settings, tmp_path: Path, name: str, text: str | bytes | None, error: str
) -> None:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    elif text is not None:
        path.write_text(text)
    done = cli(settings, str(path))
    assert done.exit_code == 1
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("Error: ")
    assert error in line
