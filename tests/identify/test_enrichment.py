"""The enrichment resolver against a real HTTP server on 127.0.0.1: the URL template gets the
IP and key, a known domain identifies its company, an unknown one creates the company once,
isp/mobile/hosting answers drop, answers are cached, and a slow provider costs at most the
timeout. It runs last: an earlier resolver's answer means no request at all."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from openfeeder.config import Settings
from openfeeder.identify.enrichment import company_fields, company_id_for
from openfeeder.store import schema as t
from openfeeder.store.db import Database
from tests.support.identify import (
    Provider,
    add_company,
    identifier_for,
    identify,
    provider_server,
)

TEMPLATE = "{base}/ip/{{ip}}?token={{key}}"


def test_the_provider_identifies_known_and_new_companies(db: Database, settings: Settings) -> None:
    acme = add_company(db, "Acme Oy", domain="acme.fi")
    provider = Provider()
    provider.answer("81.30.0.1", {"domain": "acme.fi", "name": "ACME", "type": "business"})
    provider.answer("81.30.0.2", {"company": {"domain": "www.Hooli.com", "name": "Hooli Inc"}})
    provider.answer("81.30.0.3", {"company": {"name": "Some ISP", "type": "isp"}})
    provider.answer("81.30.0.4", {"ip": "81.30.0.4", "country": "FI"})  # names no company
    provider.answer("81.30.0.5", {"error": "boom"}, status=500)
    with (
        provider_server(provider) as base,
        identifier_for(
            settings,
            enrichment_url=TEMPLATE.format(base=base),
            enrichment_key="s3cr et/",
        ) as identifier,
    ):
        ips = ["81.30.0.1", "81.30.0.2", "81.30.0.3", "81.30.0.4", "81.30.0.5", "81.30.0.6"]
        found = identify(db, identifier, ips)
    assert found["81.30.0.1"].company_id == acme.id
    assert found["81.30.0.1"].match_source == "enrichment"
    assert found["81.30.0.1"].match_reason == (
        "the enrichment provider names acme.fi for 81.30.0.1; it is Acme Oy's"
    )
    hooli = found["81.30.0.2"]
    assert hooli.company_id == company_id_for("hooli.com")
    assert hooli.match_reason == "the enrichment provider names Hooli Inc (hooli.com) for 81.30.0.2"
    with db.read() as conn:
        created = conn.execute(sa.select(t.companies).where(t.companies.c.id == hooli.company_id))
        assert [(c.name, c.domain) for c in created] == [("Hooli Inc", "hooli.com")]
    assert found["81.30.0.3"].drop_reason == "isp"
    assert found["81.30.0.3"].company_id is None
    for ip in ("81.30.0.4", "81.30.0.5", "81.30.0.6"):  # no company, an error, a 404
        assert (found[ip].company_id, found[ip].drop_reason) == (None, None)
    # The key is filled in, escaped, and sent with every request.
    assert {tuple(r["token"]) for r in provider.requests} == {("s3cr et/",)}
    assert sorted(r["path"][0] for r in provider.requests) == [f"/ip/{ip}" for ip in ips]


def test_answers_are_cached_and_earlier_resolvers_save_requests(
    db: Database, settings: Settings
) -> None:
    add_company(db, "Acme Oy", domain="acme.fi", ranges=("81.30.1.0/24",))
    provider = Provider()
    provider.answer("81.30.2.1", {"domain": "hooli.com", "name": "Hooli"})
    with provider_server(provider) as base:
        for _ in range(2):  # two identifiers: the cache is the store's, not the process's
            with identifier_for(settings, enrichment_url=f"{base}/{{ip}}") as identifier:
                found = identify(db, identifier, ["81.30.1.9", "81.30.2.1", "81.30.2.2"])
            assert found["81.30.1.9"].match_source == "company_range"
            assert found["81.30.2.1"].company_id == company_id_for("hooli.com")
    # One request per address the ranges did not answer, the second round from the cache.
    assert sorted(r["path"][0] for r in provider.requests) == ["/81.30.2.1", "/81.30.2.2"]
    with db.read() as conn:
        cached = {r.ip: r.answer for r in conn.execute(sa.select(t.ip_cache))}
    assert cached == {
        "81.30.2.1": {"status": "ok", "domain": "hooli.com", "name": "Hooli", "type": None},
        "81.30.2.2": {"status": "none"},
    }


def test_a_slow_provider_costs_at_most_the_timeout(db: Database, settings: Settings) -> None:
    provider = Provider()
    provider.answer("81.30.3.1", {"domain": "slow.example.com"}, delay=3.0)
    provider.answer("81.30.3.2", {"domain": "fast.example.com", "name": "Fast"})
    with (
        provider_server(provider) as base,
        identifier_for(settings, enrichment_url=f"{base}/{{ip}}", enrichment_timeout=0.3) as chain,
    ):
        started = time.monotonic()
        found = identify(db, chain, ["81.30.3.1", "81.30.3.2"])
        elapsed = time.monotonic() - started
    assert elapsed < 1.5, elapsed  # the setting bounds the wait, far below the 3 s delay
    assert found["81.30.3.1"].company_id is None
    assert found["81.30.3.2"].company_id == company_id_for("fast.example.com")
    with db.read() as conn:
        cached = {r.ip: r.answer for r in conn.execute(sa.select(t.ip_cache))}
    assert cached["81.30.3.1"] == {"status": "timeout"}


def test_answer_shapes() -> None:
    def fields(body: Any) -> Any:
        return company_fields(body)

    assert fields({"domain": "Acme.FI", "name": " Acme "}) == {
        "domain": "acme.fi",
        "name": "Acme",
        "type": None,
    }
    assert fields({"company": {"domain": "acme.fi"}, "type": "company"}) == {
        "domain": "acme.fi",
        "name": None,
        "type": "company",
    }
    assert fields({"type": "hosting"}) == {"domain": None, "name": None, "type": "hosting"}
    assert fields({"domain": "not a domain"}) is None
    assert fields({"domain": 42}) is None
    assert fields(["acme.fi"]) is None
