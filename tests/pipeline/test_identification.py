"""The pipeline with the real resolver chain (``make_pipeline`` without a stand-in): company
ranges from the company import, an ASN and a City database built here with
``openfeeder.identify.mmdb``, and the account's traffic rules. ISP, mobile and hosting
networks never produce a lead; a company's office does, located by the City database."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from openfeeder.config import Settings
from openfeeder.identify.companies import import_companies
from openfeeder.identify.mmdb import AsnEntry, CityEntry, write_asn_mmdb, write_city_mmdb
from openfeeder.ingest.append import Ingestor
from openfeeder.pipeline import make_pipeline
from openfeeder.store import schema as t
from openfeeder.store.db import Database
from tests.support.factories import Builder
from tests.support.identify import Zone, add_company, dns_server, identify_settings
from tests.support.pipeline import T0, Browser

ACME_OFFICE = "192.0.2.10"
OWN_OFFICE = "192.0.2.200"
COMCAST_HOME = "198.51.100.10"  # ISP
TMOBILE_PHONE = "198.51.100.70"  # mobile
AWS_SERVER = "198.51.100.130"  # hosting
STOCKHOLM = "203.0.113.140"  # an excluded country
NOBODY = "203.0.113.9"


def test_isp_mobile_and_hosting_ips_never_produce_a_lead(
    settings: Settings, db: Database, builder: Builder, tmp_path: Path
) -> None:
    asn = write_asn_mmdb(
        tmp_path / "asn.mmdb",
        [
            AsnEntry("198.51.100.0/26", 7922, "COMCAST-7922"),
            AsnEntry("198.51.100.64/26", 21928, "T-MOBILE-AS21928"),
            AsnEntry("198.51.100.128/26", 16509, "AMAZON-02"),
        ],
    )
    city = write_city_mmdb(
        tmp_path / "city.mmdb",
        [
            CityEntry("192.0.2.0/24", "US", "United States", "Massachusetts", "MA", "Boston"),
            CityEntry("203.0.113.0/25", "FI", "Finland", "Uusimaa", None, "Helsinki"),
            CityEntry("203.0.113.128/25", "SE", "Sweden", "Stockholm County", None, "Stockholm"),
        ],
    )
    companies = tmp_path / "companies.jsonl"
    companies.write_text(
        json.dumps(
            {"id": "acme", "name": "Acme Inc.", "domain": "acme.example", "ranges": "192.0.2.0/25"}
        )
        + "\n",
        encoding="utf-8",
    )
    import_companies(db, companies)
    account = builder.account()
    with db.write() as conn:
        conn.execute(
            t.traffic_rules.insert(),
            [
                {"account_id": account.id, "kind": "ip_range", "value": "192.0.2.192/26"},
                {"account_id": account.id, "kind": "country", "value": "SE"},
            ],
        )
    configured = settings.model_copy(
        update={"asn_mmdb": asn, "city_mmdb": city, "reverse_dns": False}
    )
    ingestor = Ingestor(configured, db)
    sources = [ACME_OFFICE, OWN_OFFICE, COMCAST_HOME, TMOBILE_PHONE, AWS_SERVER, STOCKHOLM, NOBODY]
    sent = []
    for number, ip in enumerate(sources, start=1):
        browser = Browser(ingestor, account, number, ip=ip)
        sent += [browser.hit(f"/{page}/", T0 + timedelta(minutes=page)) for page in range(3)]
    ingestor.append_many(sent)

    pipeline = make_pipeline(configured, db)
    try:
        assert pipeline.run_once() == len(sent)
    finally:
        pipeline.close()

    assert pipeline.drop_counts() == {
        "own_traffic": 3,
        "isp": 3,
        "mobile": 3,
        "hosting": 3,
        "excluded_country": 3,
        "unidentified": 3,
    }
    with db.read() as conn:
        leads = conn.execute(sa.select(t.leads.c.company_id, t.leads.c.location_id)).all()
        visit = conn.execute(sa.select(t.visits)).one()._mapping
        location = conn.execute(sa.select(t.locations)).one()._mapping
        by_ip = dict(conn.execute(sa.select(t.hits.c.ip, t.hits.c.drop_reason).distinct()).all())
    assert [company for company, _ in leads] == ["acme"]
    assert (visit["match_source"], visit["page_depth"]) == ("company_range", 3)
    assert visit["match_reason"]
    assert (location["city"], location["state_code"], location["country_code"]) == (
        "Boston",
        "MA",
        "US",
    )
    assert by_ip == {
        ACME_OFFICE: None,
        OWN_OFFICE: "own_traffic",
        COMCAST_HOME: "isp",
        TMOBILE_PHONE: "mobile",
        AWS_SERVER: "hosting",
        STOCKHOLM: "excluded_country",
        NOBODY: "unidentified",
    }


def test_two_worker_processes_share_the_work_and_stop_on_sigterm(
    settings: Settings, db: Database, builder: Builder, tmp_path: Path
) -> None:
    """``openfeeder worker`` (the pipeline and the job queue) in two real processes against
    one store: every visit made once, and SIGTERM stops each after its batch with exit 0."""
    companies = tmp_path / "companies.jsonl"
    companies.write_text(
        json.dumps({"id": "acme", "name": "Acme Inc.", "ranges": ["192.0.2.0/24"]}) + "\n",
        encoding="utf-8",
    )
    import_companies(db, companies)
    account = builder.account()
    ingestor = Ingestor(settings, db)
    sent = []
    for number in range(1, 41):
        browser = Browser(ingestor, account, number, ip=f"192.0.2.{number}")
        sent += [browser.hit(f"/{page}/", T0 + timedelta(minutes=page)) for page in range(3)]

    env = {
        **os.environ,
        "OPENFEEDER_DATABASE_URL": settings.database_url,
        "OPENFEEDER_DATA_DIR": str(settings.data_dir),
        "OPENFEEDER_REVERSE_DNS": "false",
        "OPENFEEDER_PIPELINE_BATCH_SIZE": "10",
    }
    logs = [tmp_path / f"worker{n}.log" for n in range(2)]
    workers = []
    for log in logs:
        with log.open("w") as out:
            command = [str(Path(sys.executable).parent / "openfeeder"), "worker"]
            workers.append(subprocess.Popen(command, env=env, stderr=out))
    try:
        # Signals are theirs to handle once their loops run; before that they would just die.
        deadline = time.monotonic() + 60
        while not all("pipeline loop started" in log.read_text() for log in logs):
            assert time.monotonic() < deadline, [log.read_text() for log in logs]
            time.sleep(0.05)
        ingestor.append_many(sent)
        waiting = len(sent)
        while waiting and time.monotonic() < deadline:
            if any(worker.poll() is not None for worker in workers):
                break  # a worker died: its log says why
            time.sleep(0.1)
            with db.read() as conn:
                query = sa.select(sa.func.count()).where(t.hits.c.processed_at.is_(None))
                waiting = conn.execute(query).scalar_one()
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(30)
    output = [log.read_text() for log in logs]
    assert waiting == 0, output
    assert [worker.returncode for worker in workers] == [0, 0], output
    assert all("pipeline loop stopped" in text for text in output)
    with db.read() as conn:
        depths = conn.execute(sa.select(t.visits.c.page_depth)).scalars().all()
        total = conn.execute(sa.select(t.leads.c.visits_total)).scalar_one()
    assert depths == [3] * 40
    assert total == 40


def test_slow_reverse_dns_does_not_hold_the_sqlite_write_lock(
    settings: Settings, db: Database, builder: Builder
) -> None:
    """While a name server takes its time, ingest (any other writer) can still commit: the
    pipeline resolves a batch's addresses before its batch transaction takes the lock."""
    if not settings.is_sqlite:
        pytest.skip("PostgreSQL locks rows, not the database: a batch never blocks ingest there")
    office = "93.184.216.34"  # a global address: private ones are never sent to DNS
    add_company(db, "Initech", domain="initech.fi")
    zone = Zone()
    zone.delay(office, 1.5, "gw1.office.initech.fi")
    account = builder.account()
    ingestor = Ingestor(settings, db)
    ingestor.append_many([Browser(ingestor, account, 1, ip=office).hit("/", T0)])
    with dns_server(zone) as server:
        pipeline = make_pipeline(
            identify_settings(settings, reverse_dns=True, dns_servers=[server], dns_timeout=5.0),
            db,
        )
        worker = threading.Thread(target=pipeline.run_once)
        worker.start()
        deadline = time.monotonic() + 10
        while not zone.asked[office]:
            assert time.monotonic() < deadline, "the pipeline never asked the name server"
            time.sleep(0.01)
        # The name server is answering now; another writer gets the lock at once.
        path = sa.make_url(settings.database_url).database
        other = sqlite3.connect(str(path), timeout=0.3, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        finally:
            other.close()
        worker.join(timeout=30)
        pipeline.close()
    with db.read() as conn:
        drops = conn.execute(sa.select(t.hits.c.drop_reason)).scalars().all()
        sources = conn.execute(sa.select(t.visits.c.match_source)).scalars().all()
    assert (drops, sources) == ([None], ["reverse_dns"])
    assert zone.asked[office] == 1  # resolved once: the batch found the answer cached
