"""Leads with no company import: real tracker hits (``/tr`` through the application) and the
pipeline, with the default settings except where the outside world is (an IPinfo Lite layout
ASN database written here, a DNS server and the companies' websites on 127.0.0.1).
Organisations' networks typed by the database and static business host names become leads
named and enriched from the companies' own websites; ISP, mobile, hosting networks, networks
with no sign either way, address-pool names and network operators' names never do."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from starlette.testclient import TestClient

from openfeeder.config import Settings
from openfeeder.identify.companies import import_companies
from openfeeder.identify.mmdb import AsnEntry, write_asn_mmdb
from openfeeder.pipeline import make_pipeline
from openfeeder.store import schema as t
from openfeeder.store.db import Database
from tests.support.browser import DESKTOP_UA
from tests.support.factories import Builder
from tests.support.identify import Websites, Zone, dns_server, website_server
from tests.support.tracking import encode, event, tracker_app

ENTERPRISE = "45.10.0.7"  # AS64501, typed business, domain acme-industries.fi
UNIVERSITY = "45.20.0.7"  # AS64502, typed education, domain tuni.fi
ISP_HOME = "45.30.0.7"  # AS64503, typed isp; its PTR names a company, which must not count
PHONE = "45.40.0.7"  # AS21928, listed as mobile
SERVER = "45.50.0.7"  # AS16509, listed as hosting
NO_SIGN = "45.60.0.7"  # AS64506, no type and no telling name: no evidence either way
STATIC_HOST = "45.70.0.10"  # no ASN record; PTR mail.nordic-widgets.fi
POOL_HOST = "45.70.0.11"  # PTR dhcp-45-70-0-11.pool.kaisanet.fi
OPERATOR_HOST = "45.70.0.12"  # PTR gw1.hel.telia.net

ACME_PAGE = """<!doctype html><html><head><title>Acme</title>
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "Corporation",
 "name": "Acme Industries Oy", "logo": "/img/acme.svg", "telephone": "+358 9 123 456",
 "sameAs": ["https://www.linkedin.com/company/acme-industries",
            "https://twitter.com/acmeindustries", "https://www.facebook.com/acmeindustries"],
 "address": {"@type": "PostalAddress", "addressLocality": "Espoo", "addressCountry": "FI"}}
</script></head><body><h1>Acme</h1></body></html>"""
TUNI_PAGE = """<html><head><meta property="og:site_name" content="Tampere Universities">
<script type="application/ld+json">{"@context": "https://schema.org", "@graph": [
 {"@type": "WebSite", "name": "tuni.fi"},
 {"@type": ["CollegeOrUniversity"], "name": "Tampere University",
  "logo": {"@type": "ImageObject", "url": "https://www.tuni.fi/logo.png"},
  "sameAs": "https://www.linkedin.com/school/tampere-university"}]}</script>
</head><body></body></html>"""
WIDGETS_PAGE = """<html><head>
<meta property="og:site_name" content="Nordic Widgets">
<link rel="icon" href="/favicon.ico"><link rel="apple-touch-icon" href="/touch.png">
<script type="application/ld+json">{"@type": "Organization", "name": "Nordic Widgets Ab",
 "sameAs": ["https://x.com/nordicwidgets", "https://www.linkedin.com/company/nordic-widgets"]}
</script></head></html>"""


def _asn_database(path: Path) -> Path:
    return write_asn_mmdb(
        path,
        [
            AsnEntry("45.10.0.0/24", 64501, "ACME-IND", "acme-industries.fi", "business"),
            AsnEntry("45.20.0.0/24", 64502, "TAMPERE-UNI", "tuni.fi", "education"),
            AsnEntry("45.30.0.0/24", 64503, "Example Oy", "example-isp.fi", "isp"),
            AsnEntry("45.40.0.0/24", 21928, "T-MOBILE-AS21928"),
            AsnEntry("45.50.0.0/24", 16509, "AMAZON-02"),
            AsnEntry("45.60.0.0/24", 64506, "Pohjoinen Oy"),
        ],
        flavour="ipinfo",
    )


def _zone(zone: Zone) -> None:
    zone.add(ISP_HOME, "office.acme-industries.fi")
    zone.add(NO_SIGN)  # no PTR record at all
    zone.add(STATIC_HOST, "mail.nordic-widgets.fi")
    zone.add(POOL_HOST, "dhcp-45-70-0-11.pool.kaisanet.fi")
    zone.add(OPERATOR_HOST, "gw1.hel.telia.net")
    for domain in ("acme-industries.fi", "tuni.fi", "nordic-widgets.fi"):
        zone.host(domain, "127.0.0.1")


def _send_hits(settings: Settings, builder: Builder, ips: list[str]) -> int:
    account = builder.account()
    app = tracker_app(settings)
    sent = 0
    for ip in ips:
        with TestClient(app, client=(ip, 40000)) as client:
            for page in ("/", "/pricing"):
                body = event(
                    context={
                        "library": {"name": "openfeeder", "version": "1"},
                        "pageUrl": f"https://www.example.com{page}",
                        "pageTitle": page,
                        "referrer": "",
                    }
                )
                response = client.post(
                    f"/tr?sid={account.script_hash}",
                    content=encode(body),
                    headers={"User-Agent": DESKTOP_UA},
                )
                assert response.status_code == 204
                sent += 1
    return sent


def test_without_an_import_organisations_and_static_hosts_become_enriched_leads(
    settings: Settings, db: Database, builder: Builder, tmp_path: Path
) -> None:
    zone, sites = Zone(), Websites()
    _zone(zone)
    sites.add("acme-industries.fi", ACME_PAGE)
    sites.add("tuni.fi", TUNI_PAGE)
    sites.add("nordic-widgets.fi", WIDGETS_PAGE)
    everyone = [ENTERPRISE, UNIVERSITY, ISP_HOME, PHONE, SERVER, NO_SIGN]
    everyone += [STATIC_HOST, POOL_HOST, OPERATOR_HOST]
    with dns_server(zone) as server, website_server(sites) as port:
        configured = settings.model_copy(
            update={
                "asn_mmdb": _asn_database(tmp_path / "asn.mmdb"),
                "dns_servers": [server],
                "website_url": f"http://{{domain}}:{port}/",
                "website_allow_loopback": True,
            }
        )
        sent = _send_hits(configured, builder, everyone)
        pipeline = make_pipeline(configured, db)
        try:
            assert pipeline.run_once() == sent
        finally:
            pipeline.close()

    with db.read() as conn:
        leads = conn.execute(
            sa.select(t.companies, t.leads.c.id.label("lead_id")).join(
                t.leads, t.leads.c.company_id == t.companies.c.id
            )
        ).all()
        visits = dict(
            conn.execute(
                sa.select(t.leads.c.company_id, t.visits.c.match_reason).join(
                    t.leads, t.leads.c.pk == t.visits.c.lead_pk
                )
            ).all()
        )
        drops = dict(conn.execute(sa.select(t.hits.c.ip, t.hits.c.drop_reason).distinct()).all())
    by_domain = {row.domain: row._mapping for row in leads}
    assert set(by_domain) == {"acme-industries.fi", "tuni.fi", "nordic-widgets.fi"}

    acme = by_domain["acme-industries.fi"]
    assert acme["name"] == "Acme Industries Oy"  # the website's name, not the AS's ACME-IND
    assert acme["logo_url"] == f"http://acme-industries.fi:{port}/img/acme.svg"
    assert acme["linkedin_url"] == "https://www.linkedin.com/company/acme-industries"
    assert acme["twitter_handle"] == "acmeindustries"
    assert acme["facebook_url"] == "https://www.facebook.com/acmeindustries"
    assert acme["phone"] == "+358 9 123 456"
    assert acme["profile"] == {"address": "Espoo", "country": "FI"}
    assert acme["field_sources"]["name"] == "website"
    assert acme["field_sources"]["discovered"] == "network"
    assert "company discovered from the network" in visits[acme["id"]]
    assert "the ASN database types it business" in visits[acme["id"]]

    tuni = by_domain["tuni.fi"]
    assert (tuni["name"], tuni["logo_url"]) == (
        "Tampere University",
        "https://www.tuni.fi/logo.png",
    )
    assert tuni["linkedin_url"] == "https://www.linkedin.com/school/tampere-university"
    assert "an education network" in visits[tuni["id"]]

    widgets = by_domain["nordic-widgets.fi"]
    assert widgets["name"] == "Nordic Widgets Ab"
    assert widgets["logo_url"] == f"http://nordic-widgets.fi:{port}/touch.png"
    assert widgets["twitter_handle"] == "nordicwidgets"
    assert widgets["field_sources"]["discovered"] == "reverse_dns"
    assert "company discovered from reverse DNS" in visits[widgets["id"]]

    assert drops == {
        ENTERPRISE: None,
        UNIVERSITY: None,
        STATIC_HOST: None,
        ISP_HOME: "isp",
        PHONE: "mobile",
        SERVER: "hosting",
        NO_SIGN: "unidentified",
        POOL_HOST: "unidentified",
        OPERATOR_HOST: "unidentified",
    }
    # Each website was read once, although two hits of each visitor were processed.
    assert sorted(sites.asked) == [
        ("acme-industries.fi", "/"),
        ("nordic-widgets.fi", "/"),
        ("tuni.fi", "/"),
    ]

    # A later import meets the discovered companies by domain and enriches them in place:
    # the leads keep their ids, imported fields win over the website's, the rest stays.
    companies = tmp_path / "companies.jsonl"
    companies.write_text(
        json.dumps({"name": "Acme Industries Group", "domain": "acme-industries.fi"})
        + "\n"
        + json.dumps({"name": "Nordic Widgets", "domain": "nordic-widgets.fi", "industry": "Tools"})
        + "\n",
        encoding="utf-8",
    )
    result = import_companies(db, companies)
    assert (result.created, result.updated) == (0, 2)
    with db.read() as conn:
        after = {
            row.domain: row._mapping
            for row in conn.execute(
                sa.select(t.companies, t.leads.c.id.label("lead_id")).join(
                    t.leads, t.leads.c.company_id == t.companies.c.id
                )
            )
        }
    assert {d: r["lead_id"] for d, r in after.items()} == {
        d: r["lead_id"] for d, r in by_domain.items()
    }
    assert after["acme-industries.fi"]["name"] == "Acme Industries Group"
    assert after["acme-industries.fi"]["field_sources"]["name"] == "import"
    assert after["acme-industries.fi"]["logo_url"] == acme["logo_url"]
    assert after["nordic-widgets.fi"]["industry"] == "Tools"


def test_with_a_geolite2_database_only_the_listed_networks_are_evidence(
    settings: Settings, db: Database, builder: Builder, tmp_path: Path
) -> None:
    """GeoLite2 has no network types and no domains: the bundled AS list is the evidence, and a
    company discovered so is named by its AS organisation (no website to read)."""
    asn = write_asn_mmdb(
        tmp_path / "asn.mmdb",
        [
            AsnEntry("18.0.0.0/24", 3, "Massachusetts Institute of Technology"),  # listed
            AsnEntry("18.1.0.0/24", 7922, "COMCAST-7922"),  # listed isp
            AsnEntry("18.2.0.0/24", 64510, "Acme Oy"),  # no evidence either way
        ],
    )
    configured = settings.model_copy(update={"asn_mmdb": asn, "reverse_dns": False})
    sent = _send_hits(configured, builder, ["18.0.0.9", "18.1.0.9", "18.2.0.9"])
    pipeline = make_pipeline(configured, db)
    try:
        assert pipeline.run_once() == sent
    finally:
        pipeline.close()
    with db.read() as conn:
        names = conn.execute(
            sa.select(t.companies.c.name, t.companies.c.domain).join(
                t.leads, t.leads.c.company_id == t.companies.c.id
            )
        ).all()
        drops = dict(conn.execute(sa.select(t.hits.c.ip, t.hits.c.drop_reason).distinct()).all())
    assert [tuple(row) for row in names] == [("Massachusetts Institute of Technology", None)]
    assert drops == {"18.0.0.9": None, "18.1.0.9": "isp", "18.2.0.9": "unidentified"}
