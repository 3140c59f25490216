"""Fetching a discovered company's home page, safely: ``GET`` of the URL template
(``https://{domain}/`` by default) with the name resolved here and every address it resolves
to checked (never private, loopback, link-local, multicast, reserved or otherwise non-global
— unless a test allows loopback), the connection made to the checked address itself (so a
second, rebinding DNS answer cannot switch it; TLS still verifies the name), at most three
redirects (each checked the same way, http/https only), a connect/read timeout and an overall
deadline, at most 1 MiB read, no proxies from the environment, no content encodings.

The answer (what ``webpage.read_page`` found, or why nothing was) is cached per domain in
``website_cache``; see ``identify/discovery.py`` for how it is applied to companies."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import TYPE_CHECKING, Any

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.resolver

from openfeeder.domain.errors import OpenfeederError
from openfeeder.identify.rdns import parse_server
from openfeeder.identify.webpage import read_page

if TYPE_CHECKING:
    import httpx

MAX_BYTES = 1024 * 1024
MAX_REDIRECTS = 3
POSITIVE_TTL = timedelta(days=30)
NEGATIVE_TTL = timedelta(days=7)  # the page answered but says nothing usable, or refused
FAILURE_TTL = timedelta(hours=6)  # a timeout or a connection error: asked again sooner
_USER_AGENT = "openfeeder (company website enrichment; +https://github.com/openfeeder)"


class Refused(Exception):
    """The fetch may not go on; the message says why (in the cached answer) and ``reason``
    which rule stopped it: ``address``, ``url``, ``status``, ``not_html``, ``encoding`` or
    ``redirects``."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def address_refusal(address: IPv4Address | IPv6Address, allow_loopback: bool) -> str | None:
    """Why an address may not be fetched from; None when it may."""
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return None if allow_loopback else "a loopback address"
    checks = (
        ("is_unspecified", "the unspecified address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private address"),
        ("is_reserved", "a reserved address"),
    )
    for attribute, words in checks:
        if getattr(address, attribute):
            return words
    return None if address.is_global else "not a public address"


def vet_addresses(
    host: str, addresses: Sequence[IPv4Address | IPv6Address], allow_loopback: bool
) -> IPv4Address | IPv6Address:
    """The address to connect to for ``host``: the first, once every one may be used."""
    if not addresses:
        raise Refused(f"{host} has no address", "address")
    for address in addresses:
        if (why := address_refusal(address, allow_loopback)) is not None:
            raise Refused(f"{host} resolves to {address}, {why}", "address")
    return addresses[0]


def pinned(
    target: httpx.URL, address: IPv4Address | IPv6Address
) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
    """A request for ``target`` that connects to the vetted ``address`` itself (a second,
    rebinding DNS answer cannot switch it): the URL with the address as host, the Host header
    naming the host, and the TLS server name (so the certificate is still checked against
    the name). Also used by the alerts' webhook deliveries (``services/alerts/http.py``)."""
    headers = {"Host": target.netloc.decode("ascii")}
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    return target.copy_with(host=str(address)), headers, extensions


def check_template(template: str) -> str:
    if "{domain}" not in template:
        raise OpenfeederError("OPENFEEDER_WEBSITE_URL must contain {domain}")
    if not template.startswith(("http://", "https://")):
        raise OpenfeederError("OPENFEEDER_WEBSITE_URL must be an http(s) URL")
    return template


class WebsiteFetcher:
    """Fetches and reads home pages on the identifier's event loop."""

    name = "website"

    def __init__(
        self,
        *,
        url_template: str = "https://{domain}/",
        servers: Sequence[str] = (),
        timeout: float = 5.0,
        allow_loopback: bool = False,
        max_bytes: int = MAX_BYTES,
        max_redirects: int = MAX_REDIRECTS,
    ) -> None:
        self._template = check_template(url_template)
        try:
            resolver = dns.asyncresolver.Resolver(configure=not servers)
        except dns.resolver.NoResolverConfiguration:
            resolver = dns.asyncresolver.Resolver(configure=False)
        if servers:
            resolver.nameservers = [
                dns.nameserver.Do53Nameserver(host, port)
                for host, port in map(parse_server, servers)
            ]
        resolver.lifetime = timeout
        resolver.timeout = timeout / 2
        resolver.cache = None
        self._resolver = resolver
        self.timeout = timeout
        self._allow_loopback = allow_loopback
        self._max_bytes = max_bytes
        self._max_redirects = max_redirects
        self._client: httpx.AsyncClient | None = None

    @property
    def deadline(self) -> float:
        """Seconds one domain's fetch may take, redirects included."""
        return self.timeout * (self._max_redirects + 2)

    def url(self, domain: str) -> str:
        return self._template.replace("{domain}", domain)

    async def lookup(self, domain: str) -> tuple[dict[str, Any], timedelta]:
        """The cached answer for ``domain`` and how long it may be reused."""
        import httpx

        try:
            # The whole fetch, redirects included; each read is bounded by the timeout too.
            async with asyncio.timeout(self.deadline):
                url, html = await self.fetch(self.url(domain))
        except Refused as error:
            return {"status": "refused", "detail": str(error)}, NEGATIVE_TTL
        except (TimeoutError, httpx.TimeoutException):
            return {"status": "timeout"}, FAILURE_TTL
        except (httpx.HTTPError, OSError, dns.exception.DNSException) as error:
            return {"status": "error", "detail": error.__class__.__name__}, FAILURE_TTL
        facts = read_page(html, url)
        if not facts:
            return {"status": "none"}, NEGATIVE_TTL
        return {"status": "ok", "facts": facts}, POSITIVE_TTL

    async def fetch(self, url: str) -> tuple[str, str]:
        """(final URL, page text); raises Refused when a rule forbids going on."""
        import httpx

        if self._client is None:  # made on the loop that uses it, as httpx requires
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout),
                follow_redirects=False,
                trust_env=False,
                # A kept-alive TLS connection to one address would be reused for another name
                # served from it, without verifying that name: every fetch connects anew.
                limits=httpx.Limits(max_keepalive_connections=0),
                headers={"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"},
            )
        for _hop in range(self._max_redirects + 1):
            target = httpx.URL(url)
            if target.scheme not in ("http", "https") or not target.host:
                raise Refused(f"{url} is not an http(s) URL", "url")
            address = await self._vetted_address(target.host)
            pinned_url, headers, extensions = pinned(target, address)
            request = self._client.build_request(
                "GET",
                pinned_url,
                headers=headers | {"Accept": "text/html"},
                extensions=extensions,
            )
            response = await self._client.send(request, stream=True)
            try:
                if response.is_redirect:
                    location = response.headers.get("location", "")
                    url = str(target.join(location))
                    continue
                if response.status_code != 200:
                    raise Refused(f"{url} answered HTTP {response.status_code}", "status")
                return url, await self._body(url, response)
            finally:
                await response.aclose()
        raise Refused(f"more than {self._max_redirects} redirects", "redirects")

    async def _vetted_address(self, host: str) -> IPv4Address | IPv6Address:
        try:
            addresses = [ip_address(host)]
        except ValueError:
            addresses = await self._resolve(host)
        return vet_addresses(host, addresses, self._allow_loopback)

    async def _resolve(self, host: str) -> list[IPv4Address | IPv6Address]:
        found: list[IPv4Address | IPv6Address] = []
        for kind in ("A", "AAAA"):
            try:
                answer = await self._resolver.resolve(host, kind)
            except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
                continue
            found += [ip_address(record.to_text()) for record in answer]
        return found

    async def _body(self, url: str, response: httpx.Response) -> str:
        kind = response.headers.get("content-type", "text/html").split(";")[0].strip().lower()
        if kind not in ("text/html", "application/xhtml+xml", ""):
            raise Refused(f"{url} is {kind}, not HTML", "not_html")
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise Refused(
                f"{url} is sent {encoding}-encoded although identity was asked for", "encoding"
            )
        body = bytearray()
        async for chunk in response.aiter_raw():
            body += chunk[: self._max_bytes - len(body)]
            if len(body) >= self._max_bytes:
                break  # the head is at the start; the rest is never read
        return body.decode(response.charset_encoding or "utf-8", errors="replace")

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
