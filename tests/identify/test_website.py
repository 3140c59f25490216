"""The company website fetcher's guard rails, against a real HTTP server and a real DNS server
on 127.0.0.1: non-public addresses refused (after DNS and after every redirect), at most three
redirects, at most 1 MiB read, timeouts, http(s) only."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from ipaddress import ip_address
from typing import Any

import pytest

from openfeeder.domain.errors import OpenfeederError
from openfeeder.identify.website import MAX_BYTES, WebsiteFetcher, address_refusal
from tests.support.identify import Page, Websites, Zone, dns_server, website_server

ORG_PAGE = (
    '<html><head><script type="application/ld+json">'
    '{"@type": "Organization", "name": "Acme Oy"}</script></head></html>'
)


@pytest.mark.parametrize(
    ("address", "refusal"),
    [
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("169.254.169.254", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("224.0.0.1", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("0.0.0.0", "the unspecified address"),  # noqa: S104 (an address to refuse)
        ("240.0.0.1", "a private address"),  # reserved, and ipaddress counts it private
        ("100.64.0.1", "not a public address"),  # carrier-grade NAT
        ("192.0.2.1", "a private address"),  # documentation
        ("fc00::1", "a private address"),
        ("8.8.8.8", None),
        ("2001:4860:4860::8888", None),
    ],
)
def test_only_public_addresses_may_be_fetched_from(address: str, refusal: str | None) -> None:
    assert address_refusal(ip_address(address), allow_loopback=False) == refusal


def test_loopback_is_allowed_only_when_the_setting_says_so() -> None:
    assert address_refusal(ip_address("127.0.0.1"), allow_loopback=True) is None
    assert address_refusal(ip_address("10.0.0.1"), allow_loopback=True) == "a private address"


@pytest.fixture
def world() -> Iterator[tuple[Zone, Websites, int, str]]:
    zone, sites = Zone(), Websites()
    with dns_server(zone) as server, website_server(sites) as port:
        yield zone, sites, port, server


def _fetch(world: tuple[Zone, Websites, int, str], domain: str, **options: Any) -> dict[str, Any]:
    _zone, _sites, port, server = world
    defaults: dict[str, Any] = {"allow_loopback": True, "timeout": 2.0}
    fetcher = WebsiteFetcher(
        url_template=f"http://{{domain}}:{port}/", servers=[server], **(defaults | options)
    )

    async def run() -> tuple[dict[str, Any], timedelta]:
        try:
            return await fetcher.lookup(domain)
        finally:
            await fetcher.aclose()

    answer, _ttl = asyncio.run(run())
    return answer


def test_a_page_is_fetched_from_the_vetted_address_with_its_host_name(
    world: tuple[Zone, Websites, int, str],
) -> None:
    zone, sites, _port, _server = world
    zone.host("acme.fi", "127.0.0.1")
    sites.add("acme.fi", ORG_PAGE)
    assert _fetch(world, "acme.fi") == {"status": "ok", "facts": _facts("Acme Oy", world)}
    # Only the test's DNS server knows acme.fi: the page came from the address the fetcher
    # resolved and vetted itself (no second resolution by the HTTP client to rebind), and the
    # server saw the name in the Host header.
    assert sites.asked == [("acme.fi", "/")]
    assert zone.asked  # the name was resolved through the configured server


def _facts(name: str, world: tuple[Zone, Websites, int, str]) -> dict[str, str]:
    return {"name": name, "website_url": f"http://acme.fi:{world[2]}/"}


@pytest.mark.parametrize(
    ("addresses", "allow_loopback", "why"),
    [
        (["10.0.0.5"], True, "resolves to 10.0.0.5, a private address"),
        (["169.254.169.254"], True, "a link-local address"),
        (["127.0.0.1"], False, "a loopback address"),
        (["127.0.0.1", "192.168.0.1"], True, "a private address"),  # any bad answer refuses
        (["::1"], False, "a loopback address"),
    ],
)
def test_a_name_resolving_to_a_non_public_address_is_refused(
    world: tuple[Zone, Websites, int, str], addresses: list[str], allow_loopback: bool, why: str
) -> None:
    zone, sites, _port, _server = world
    zone.host("acme.fi", *addresses)
    sites.add("acme.fi", ORG_PAGE)
    answer = _fetch(world, "acme.fi", allow_loopback=allow_loopback)
    assert answer["status"] == "refused"
    assert why in answer["detail"]
    assert sites.asked == []


@pytest.mark.parametrize(
    ("location", "why"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254, a link-local address"),
        ("http://intranet.acme.fi/", "10.1.1.1, a private address"),
        ("http://[::ffff:192.168.1.1]/", "a private address"),
        ("file:///etc/passwd", "is not an http(s) URL"),
        ("gopher://acme.fi/", "is not an http(s) URL"),
    ],
)
def test_a_redirect_to_a_forbidden_place_is_refused(
    world: tuple[Zone, Websites, int, str], location: str, why: str
) -> None:
    zone, sites, _port, _server = world
    zone.host("acme.fi", "127.0.0.1")
    zone.host("intranet.acme.fi", "10.1.1.1")
    sites.pages[("acme.fi", "/")] = Page(status=302, headers={"Location": location})
    answer = _fetch(world, "acme.fi")
    assert answer["status"] == "refused"
    assert why in answer["detail"]
    assert sites.asked == [("acme.fi", "/")]


def _redirects(sites: Websites, count: int) -> None:
    for hop in range(count):
        sites.pages[("acme.fi", f"/{hop}" if hop else "/")] = Page(
            status=301, headers={"Location": f"/{hop + 1}"}
        )
    sites.add("acme.fi", ORG_PAGE, path=f"/{count}")


def test_three_redirects_are_followed(world: tuple[Zone, Websites, int, str]) -> None:
    zone, sites, port, _server = world
    zone.host("acme.fi", "127.0.0.1")
    _redirects(sites, 3)
    answer = _fetch(world, "acme.fi")
    assert answer["status"] == "ok"
    assert answer["facts"]["website_url"] == f"http://acme.fi:{port}/3"


def test_a_fourth_redirect_is_not(world: tuple[Zone, Websites, int, str]) -> None:
    zone, sites, _port, _server = world
    zone.host("acme.fi", "127.0.0.1")
    _redirects(sites, 4)
    answer = _fetch(world, "acme.fi")
    assert answer == {"status": "refused", "detail": "more than 3 redirects"}
    assert ("acme.fi", "/4") not in sites.asked


def test_at_most_one_mebibyte_is_read(world: tuple[Zone, Websites, int, str]) -> None:
    zone, sites, port, server = world
    zone.host("acme.fi", "127.0.0.1")
    sites.pages[("acme.fi", "/")] = Page(body=8 * MAX_BYTES)
    fetcher = WebsiteFetcher(
        url_template=f"http://{{domain}}:{port}/", servers=[server], allow_loopback=True
    )

    async def run() -> tuple[str, str]:
        try:
            return await fetcher.fetch(fetcher.url("acme.fi"))
        finally:
            await fetcher.aclose()

    _url, text = asyncio.run(run())
    assert len(text.encode()) == MAX_BYTES


def test_facts_past_the_first_mebibyte_are_never_seen(
    world: tuple[Zone, Websites, int, str],
) -> None:
    zone, sites, _port, _server = world
    zone.host("acme.fi", "127.0.0.1")
    sites.add("acme.fi", "<html><body>" + "<p>filler</p>" * 90_000 + ORG_PAGE)
    assert _fetch(world, "acme.fi") == {"status": "none"}


def test_a_slow_site_times_out(world: tuple[Zone, Websites, int, str]) -> None:
    zone, sites, _port, _server = world
    zone.host("acme.fi", "127.0.0.1")
    sites.pages[("acme.fi", "/")] = Page(ORG_PAGE.encode(), delay=1.5)
    assert _fetch(world, "acme.fi", timeout=0.3) == {"status": "timeout"}


def test_http_errors_other_types_and_encodings_are_not_read(
    world: tuple[Zone, Websites, int, str],
) -> None:
    zone, sites, _port, _server = world
    for name in ("gone.fi", "json.fi", "zipped.fi", "nowhere.fi"):
        zone.host(name, "127.0.0.1")
    sites.pages[("gone.fi", "/")] = Page(b"gone", status=500)
    sites.pages[("json.fi", "/")] = Page(b"{}", headers={"Content-Type": "application/json"})
    sites.pages[("zipped.fi", "/")] = Page(
        b"\x1f\x8b", headers={"Content-Type": "text/html", "Content-Encoding": "gzip"}
    )
    assert "HTTP 500" in _fetch(world, "gone.fi")["detail"]
    assert "application/json, not HTML" in _fetch(world, "json.fi")["detail"]
    assert "gzip-encoded" in _fetch(world, "zipped.fi")["detail"]
    assert "HTTP 404" in _fetch(world, "nowhere.fi")["detail"]
    assert "has no address" in _fetch(world, "unknown-name.fi")["detail"]


def test_the_url_template_must_name_the_domain_and_be_http() -> None:
    with pytest.raises(OpenfeederError, match="must contain"):
        WebsiteFetcher(url_template="https://example.com/")
    with pytest.raises(OpenfeederError, match="http"):
        WebsiteFetcher(url_template="ftp://{domain}/")
