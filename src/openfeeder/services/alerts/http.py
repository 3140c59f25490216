"""The alerts' outgoing HTTP: one POST to an endpoint's URL, SSRF-safe by the same rules as
the company website fetcher (``identify/website.py``): http(s) only, every address the name
resolves to checked (no private, loopback, link-local, multicast or reserved target; loopback
only when ``alerts_allow_loopback`` is set, for tests), the connection made to the vetted
address itself, no redirects followed, no proxies from the environment, a timeout, and at
most ``EXCERPT_BYTES`` of the answer kept."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from urllib.parse import urlsplit

import httpx

from openfeeder.domain.errors import BadRequest
from openfeeder.identify.website import Refused, pinned, vet_addresses

EXCERPT_BYTES = 2048
USER_AGENT = "openfeeder-alerts/1"


@dataclass(frozen=True)
class Answer:
    """What one POST came to: the status (None when no answer came), the start of the
    answer's body, how long it took, and the error when it failed before an answer."""

    status: int | None
    excerpt: str | None
    latency_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        """Delivered: a 2xx answer, or (a sender without HTTP statuses) no error."""
        return self.error is None and (self.status is None or 200 <= self.status < 300)


def check_url(url: str, parameter: str = "url") -> str:
    """An endpoint URL as given by a user: http(s), a host, bounded; BadRequest otherwise."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # a malformed IPv6 literal or port
        host = None
    if len(url) > 2000 or not url.startswith(("http://", "https://")) or not host:
        raise BadRequest("An endpoint URL is an http(s) URL with a host.", parameter=parameter)
    return url


class Poster:
    """POSTs bodies to endpoints; one per delivery loop (its connection pool is not shared
    across addresses: every POST connects anew to the address it vetted)."""

    def __init__(self, *, timeout: float, allow_loopback: bool) -> None:
        self._allow_loopback = allow_loopback
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_keepalive_connections=0),
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
        )

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        started = time.monotonic()
        try:
            target = httpx.URL(url)
            if target.scheme not in ("http", "https") or not target.host:
                raise Refused(f"{url} is not an http(s) URL", "url")
            address = vet_addresses(target.host, _resolve(target.host), self._allow_loopback)
            pinned_url, host, extensions = pinned(target, address)
            request = self._client.build_request(
                "POST", pinned_url, content=body, headers=headers | host, extensions=extensions
            )
            response = self._client.send(request, stream=True)
            try:
                excerpt = bytearray()
                for chunk in response.iter_raw():
                    excerpt += chunk[: EXCERPT_BYTES - len(excerpt)]
                    if len(excerpt) >= EXCERPT_BYTES:
                        break
            finally:
                response.close()
            text = excerpt.decode(response.charset_encoding or "utf-8", errors="replace")
            return Answer(response.status_code, text, _since(started), None)
        except Refused as error:
            return Answer(None, None, _since(started), f"refused: {error}")
        except (httpx.HTTPError, OSError) as error:
            detail = str(error).strip().splitlines()
            return Answer(
                None,
                None,
                _since(started),
                f"{type(error).__name__}: {detail[0] if detail else ''}"[:500],
            )

    def close(self) -> None:
        self._client.close()


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _resolve(host: str) -> list[IPv4Address | IPv6Address]:
    try:
        return [ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise Refused(f"{host} does not resolve ({error.strerror})", "address") from None
    found: list[IPv4Address | IPv6Address] = []
    for *_, sockaddr in infos:
        address = ip_address(str(sockaddr[0]).split("%")[0])
        if address not in found:
            found.append(address)
    return found
