"""A labelled traffic set, generated deterministically: thousands of IPs in company ranges
(nested ones too), in networks of companies' own AS numbers, behind companies' host names,
in ISP, mobile and hosting networks (some with company host names as traps), behind
address-pool host names that carry a company's domain, and nowhere at all. The chain must
identify ≥ 99 % precisely and find every identifiable IP; the figures are printed.

Bots are not in the set: dropping them is the pipeline's step, before identification.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path

import pytest

from openfeeder.config import Settings
from openfeeder.identify import rdns
from openfeeder.identify.mmdb import AsnEntry, write_asn_mmdb
from openfeeder.store.db import Database
from tests.support.identify import Zone, add_company, dns_server, identifier_for, identify

SEED = 20260301
BATCH = 500  # the pipeline's default batch size

NEVER_LEADS = [  # (AS number, organisation, kind, network)
    (7922, "Comcast Cable Communications, LLC", "isp", "73.0.0.0/12"),
    (3320, "Deutsche Telekom AG", "isp", "79.192.0.0/12"),
    (1759, "Telia Finland Oyj", "isp", "88.112.0.0/12"),
    (64610, "Lakeside Broadband Cooperative", "isp", "94.100.0.0/16"),
    (64611, "Nordic Fibre Networks Oy", "isp", "94.101.0.0/16"),
    (64612, "Example Telecom Services", "isp", "2a02:100::/32"),
    (21928, "T-Mobile USA, Inc.", "mobile", "172.56.0.0/16"),
    (64620, "Aurora Wireless Ltd", "mobile", "94.110.0.0/16"),
    (64621, "Polar Mobile Oy", "mobile", "2a02:200::/32"),
    (16509, "Amazon.com, Inc.", "hosting", "52.0.0.0/11"),
    (14061, "DigitalOcean, LLC", "hosting", "159.65.0.0/16"),
    (24940, "Hetzner Online GmbH", "hosting", "95.216.0.0/16"),
    (64630, "Fjord Cloud Hosting AS", "hosting", "94.120.0.0/16"),
    (64631, "Example VPS Servers", "hosting", "2a02:300::/32"),
]
UNCLAIMED_BUSINESS = (64640, "Tekniikantie Office Park Oy", "94.130.0.0/16")
POOL_TEMPLATES = [
    "dsl-{dashed}.{domain}",
    "{dashed}.dyn.{domain}",
    "cpe-{dashed}.{domain}",
    "{reversed}.{domain}",
    "dhcp-{d}.pool.{domain}",
    "ppp{c}-{d}.{domain}",
    "customer-{d}.res.{domain}",
    "static-ip-{dashed}.{domain}",
    "host{d}.broadband.{domain}",
    "{hex}.{domain}",
]


@dataclass
class TrafficSet:
    labels: dict[str, str | None] = field(default_factory=dict)  # IP → company id, or None
    kinds: dict[str, str] = field(default_factory=dict)  # IP → how it was generated
    drops: dict[str, str] = field(default_factory=dict)  # IP → the drop reason it must get

    def add(self, ip: str, kind: str, company: str | None = None, drop: str | None = None) -> None:
        assert ip not in self.labels, ip
        self.labels[ip] = company
        self.kinds[ip] = kind
        if drop:
            self.drops[ip] = drop


def sample(rng: random.Random, network: IPv4Network | IPv6Network, count: int) -> list[str]:
    """Distinct addresses of the network, never its first or last."""
    picks: dict[int, None] = {}
    while len(picks) < min(count, network.num_addresses - 2):
        picks[rng.randrange(1, network.num_addresses - 1)] = None
    return [str(network.network_address + pick) for pick in picks]


def subnets(base: str, prefix: int) -> list[IPv4Network | IPv6Network]:
    return list(ip_network(base).subnets(new_prefix=prefix))


def generate(db: Database, tmp_path: Path, zone: Zone) -> tuple[TrafficSet, Path]:
    rng = random.Random(SEED)
    traffic = TrafficSet()
    asn_entries: list[AsnEntry] = []
    company_domains: list[str] = []

    # 1. Company ranges: 120 companies with a /24, /26 or /28 (and some IPv6 /48s).
    blocks = subnets("31.0.0.0/12", 24)
    v6_blocks = subnets("2a01:4000::/32", 48)
    rng.shuffle(blocks)
    for n in range(120):
        block = blocks[n]
        network = ip_network((block.network_address, rng.choice((24, 26, 28))))
        ranges = [str(network)]
        if n % 4 == 0:
            ranges.append(str(v6_blocks[n]))
        domain = f"ranged{n}.fi"
        company = add_company(db, f"Ranged {n} Oy", domain=domain, ranges=tuple(ranges))
        company_domains.append(domain)
        for r in ranges:
            for ip in sample(rng, ip_network(r), 4):
                traffic.add(ip, "company range", company.id)

    # 2. Nested ranges: a group's /16 with a subsidiary's /24 inside; the narrower one wins.
    for n, group_block in enumerate(subnets("37.0.0.0/12", 16)[:10]):
        sub_block = subnets(str(group_block), 24)[rng.randrange(256)]
        group = add_company(db, f"Group {n}", domain=f"group{n}.com", ranges=(str(group_block),))
        sub = add_company(db, f"Subsidiary {n}", domain=f"sub{n}.com", ranges=(str(sub_block),))
        for ip in sample(rng, sub_block, 5):
            traffic.add(ip, "nested range", sub.id)
        outside = [
            ip
            for ip in sample(rng, group_block, 12)
            if ip_network(ip).subnet_of(sub_block) is False
        ]
        for ip in outside[:5]:
            traffic.add(ip, "nested range", group.id)

    # 3. Companies with their own AS: 10 listed by number (asns), 10 found by name.
    own_as = subnets("46.0.0.0/12", 18)
    for n in range(20):
        number = 65000 + n
        if n < 10:
            company = add_company(
                db, f"Own AS {n} Ab", keys=(f"asn:{number}",), domain=f"own{n}.se"
            )
            organization = f"OWNAS{n}-NET"
        else:
            company = add_company(
                db, f"Kestrel {n} Oy", domain=f"kestrel{n}.fi", keys=(f"org:kestrel {n}",)
            )
            organization = f"Kestrel {n} Oy"
        asn_entries.append(AsnEntry(str(own_as[n]), number, organization))
        for ip in sample(rng, own_as[n], 10):
            traffic.add(ip, "own AS", company.id)

    # 4. Reverse DNS: 80 companies whose hosts sit in an unclaimed business network or in no
    # network the ASN database knows; names like gw1.<domain> or vpn.hel.<domain>.
    number, organization, network = UNCLAIMED_BUSINESS
    asn_entries.append(AsnEntry(network, number, organization))
    rdns_pool = sample(rng, ip_network(network), 300) + sample(rng, ip_network("62.0.0.0/12"), 300)
    rng.shuffle(rdns_pool)
    for n in range(80):
        suffix = rng.choice(("fi", "com", "se", "co.uk", "de"))
        domain = f"ptrco{n}.{suffix}"
        company = add_company(db, f"Ptr Company {n}", domain=domain)
        company_domains.append(domain)
        for k in range(5):
            ip = rdns_pool.pop()
            host = rng.choice(("gw", "fw", "vpn", "mail", "proxy", "egress"))
            site = rng.choice(("", "hel.", "hq.", "eu.", "office-espoo."))
            zone.add(ip, f"{host}{k or ''}.{site}{domain}")
            traffic.add(ip, "reverse DNS", company.id)

    # 5. ISP, mobile and hosting networks: dropped, whatever their names say.
    for number, organization, kind, network in NEVER_LEADS:
        asn_entries.append(AsnEntry(network, number, organization))
        count = 140 if ip_network(network).version == 4 else 60
        for ip in sample(rng, ip_network(network), count):
            traffic.add(ip, kind, None, drop=kind)
            if rng.random() < 0.25:  # a trap: a company's own host name on such a network
                zone.add(ip, f"office.{rng.choice(company_domains)}")

    # 6. Address pools that carry a company's domain (an ISP's customers of that name, or a
    # company running an ISP): never that company.
    for ip in sample(rng, ip_network("77.0.0.0/12"), 400):
        a, b, c, d = ip.split(".")
        template = rng.choice(POOL_TEMPLATES)
        name = template.format(
            dashed=f"{a}-{b}-{c}-{d}",
            reversed=f"{d}.{c}.{b}.{a}",
            hex=f"{int(a):02x}{int(b):02x}{int(c):02x}{int(d):02x}",
            c=c,
            d=d,
            domain=rng.choice(company_domains),
        )
        zone.add(ip, name)
        traffic.add(ip, "address pool")

    # 7. Nothing: no range, no network, no name (NXDOMAIN), or a name nobody owns; and
    # private addresses.
    for i, ip in enumerate(sample(rng, ip_network("109.0.0.0/12"), 600)):
        if i % 3 == 0:
            zone.add(ip, f"host{i}.unknown-example{i % 7}.net")
        traffic.add(ip, "unknown")
    for ip in sample(rng, ip_network("10.0.0.0/8"), 50):
        traffic.add(ip, "private")

    return traffic, write_asn_mmdb(tmp_path / "asn.mmdb", asn_entries)


def test_labelled_traffic_is_identified_precisely_and_completely(
    db: Database,
    settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    zone = Zone()
    traffic, asn_mmdb = generate(db, tmp_path, zone)
    ips = list(traffic.labels)
    random.Random(SEED).shuffle(ips)  # mixed batches, as real traffic comes
    found = {}
    with (
        dns_server(zone) as server,
        identifier_for(
            settings, asn_mmdb=asn_mmdb, reverse_dns=True, dns_servers=[server], dns_timeout=2.0
        ) as identifier,
    ):
        for start in range(0, len(ips), BATCH):
            found |= identify(db, identifier, ips[start : start + BATCH])
        # The traps are real: without the address-pool check (answers now from ip_cache),
        # pool names carrying company domains would be taken for those companies.
        monkeypatch.setattr(rdns, "dynamic_pool_sign", lambda subdomain, address: None)
        naive = identify(db, identifier, ips)
    naive_identified = [ip for ip, f in naive.items() if f.company_id is not None]
    naive_precision = sum(
        1 for ip in naive_identified if traffic.labels[ip] == naive[ip].company_id
    ) / len(naive_identified)

    identified = {ip: f.company_id for ip, f in found.items() if f.company_id is not None}
    identifiable = {ip: c for ip, c in traffic.labels.items() if c is not None}
    correct = sum(1 for ip, company in identified.items() if traffic.labels[ip] == company)
    precision = correct / len(identified)
    recall = sum(1 for ip, c in identifiable.items() if identified.get(ip) == c) / len(identifiable)
    wrong = Counter(traffic.kinds[ip] for ip, c in identified.items() if traffic.labels[ip] != c)
    missed = Counter(traffic.kinds[ip] for ip, c in identifiable.items() if identified.get(ip) != c)
    by_source = Counter(found[ip].match_source for ip in identified)
    never = [ip for ip in traffic.drops if found[ip].company_id is not None]
    drops_right = sum(1 for ip, reason in traffic.drops.items() if found[ip].drop_reason == reason)
    with capsys.disabled():
        print(
            f"\nlabelled traffic: {len(ips)} IPs, {len(identifiable)} identifiable; "
            f"precision {precision:.4f} ({correct}/{len(identified)}), "
            f"recall {recall:.4f}; by source {dict(sorted(by_source.items()))}; "
            f"ISP/mobile/hosting IPs {len(traffic.drops)}, leads from them {len(never)}, "
            f"drop reasons right {drops_right}; without the pool check precision would be "
            f"{naive_precision:.4f}"
        )
    assert len(ips) >= 3000
    assert not wrong, f"identified as the wrong company: {wrong}"
    assert not missed, f"identifiable but missed: {missed}"
    assert precision >= 0.99
    assert recall == 1.0
    assert never == []
    assert drops_right == len(traffic.drops)
    assert set(by_source) == {"company_range", "asn", "reverse_dns"}
    assert naive_precision < 0.99
