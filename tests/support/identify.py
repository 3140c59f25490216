"""Real outside parts for the identification tests, all on 127.0.0.1: a DNS server (dnslib)
answering PTR queries from a table, a JSON HTTP server standing in for an enrichment
provider, and the settings that point an identifier at them and at test-written MMDB files."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_network
from typing import Any
from urllib.parse import parse_qs, urlsplit

import dns.exception
import dns.name
import dns.reversename
from dnslib import AAAA, PTR, QTYPE, RCODE, RR, A, DNSRecord
from dnslib.server import DNSHandler, DNSLogger, DNSServer

from openfeeder.config import Settings
from openfeeder.domain.models import Company
from openfeeder.identify import Identifier, make_identifier
from openfeeder.identify.ranges import network_bounds, plain_network
from openfeeder.store.companies import upsert_companies
from openfeeder.store.db import Database
from openfeeder.store.identify import add_ranges, assign_keys


def reverse_name(ip: str) -> str:
    return dns.reversename.from_address(ip).to_text(omit_final_dot=True).lower()


def _address(name: str) -> str:
    try:
        return str(dns.reversename.to_address(dns.name.from_text(name)))
    except (ValueError, dns.exception.DNSException):
        return name


@dataclass
class Zone:
    """PTR records by IP, IPs that answer slowly or fail, and every question asked, counted."""

    ptr: dict[str, list[str]] = field(default_factory=dict)
    slow: dict[str, float] = field(default_factory=dict)  # IP → seconds before answering
    failing: set[str] = field(default_factory=set)  # IPs answered with SERVFAIL
    asked: Counter[str] = field(default_factory=Counter)  # by IP
    by_name: dict[str, str] = field(default_factory=dict)
    hosts: dict[str, list[str]] = field(default_factory=dict)  # name → A/AAAA addresses
    lock: threading.Lock = field(default_factory=threading.Lock)

    def host(self, name: str, *addresses: str) -> None:
        """A and AAAA records of ``name`` (for the website enrichment's own resolution)."""
        self.hosts[name.lower()] = list(addresses)

    def add(self, ip: str, *names: str) -> None:
        self.ptr[ip] = list(names)
        self.by_name[reverse_name(ip)] = ip

    def delay(self, ip: str, seconds: float, *names: str) -> None:
        self.add(ip, *names)
        self.slow[ip] = seconds

    def fail(self, ip: str) -> None:
        self.failing.add(ip)
        self.by_name[reverse_name(ip)] = ip

    def resolve(self, request: DNSRecord, handler: DNSHandler) -> DNSRecord:
        reply = request.reply()
        qname = request.q.qname
        name = str(qname).rstrip(".").lower()
        ip = self.by_name.get(name)
        with self.lock:
            self.asked[ip or _address(name)] += 1
        if ip in self.slow:
            time.sleep(self.slow[ip])
        if ip in self.failing:
            reply.header.rcode = RCODE.SERVFAIL
        elif ip in self.ptr and request.q.qtype == QTYPE.PTR:
            for target in self.ptr[ip]:
                reply.add_answer(RR(qname, QTYPE.PTR, rdata=PTR(target + "."), ttl=3600))
        elif name in self.hosts:
            for address in self.hosts[name]:
                v6 = ":" in address
                if request.q.qtype == (QTYPE.AAAA if v6 else QTYPE.A):
                    data = AAAA(address) if v6 else A(address)
                    reply.add_answer(RR(qname, request.q.qtype, rdata=data, ttl=60))
        else:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


class _Quiet(DNSLogger):
    def __init__(self) -> None:
        super().__init__(log="-request,-reply,-truncated,-error", prefix=False)


@contextmanager
def dns_server(zone: Zone) -> Iterator[str]:
    """A DNS server on a free UDP port of 127.0.0.1; yields ``127.0.0.1:<port>``."""
    server = DNSServer(zone, address="127.0.0.1", port=0, logger=_Quiet())
    # A short poll interval: shutting down waits for the next poll (0.5 s by default).
    thread = threading.Thread(
        target=server.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield f"127.0.0.1:{server.server.server_address[1]}"
    finally:
        server.server.shutdown()
        server.server.server_close()
        thread.join(timeout=5)


@dataclass
class Provider:
    """An enrichment provider's answers: by IP, (status, JSON body, seconds to wait)."""

    answers: dict[str, tuple[int, Any, float]] = field(default_factory=dict)
    requests: list[dict[str, list[str]]] = field(default_factory=list)

    def answer(self, ip: str, body: Any, status: int = 200, delay: float = 0.0) -> None:
        self.answers[ip] = (status, body, delay)


@contextmanager
def provider_server(provider: Provider) -> Iterator[str]:
    """A JSON HTTP server on a free port of 127.0.0.1; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            provider.requests.append(query | {"path": [parts.path]})
            ip = parts.path.rsplit("/", 1)[-1]
            status, body, delay = provider.answers.get(ip, (404, {"error": "not found"}, 0.0))
            if delay:
                time.sleep(delay)
            data = json.dumps(body).encode()
            # The client may have given up already (the timeout tests): nothing to answer then.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serve_http(Handler) as url:
        yield url


@contextmanager
def serve_http(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` on a free port of 127.0.0.1, in a thread; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class Page:
    """One answer of a website: status, headers, body (bytes, or a size of filler to stream),
    and seconds to wait before answering."""

    body: bytes | int = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/html"})
    delay: float = 0.0


@dataclass
class Websites:
    """Company websites on one server, told apart by the Host header: (host, path) → Page.
    Records every (host, path) asked for."""

    pages: dict[tuple[str, str], Page] = field(default_factory=dict)
    asked: list[tuple[str, str]] = field(default_factory=list)

    def add(self, host: str, html: str, path: str = "/") -> None:
        self.pages[(host, path)] = Page(html.encode())


@contextmanager
def website_server(sites: Websites) -> Iterator[int]:
    """An HTTP server for ``sites`` on a free port of 127.0.0.1; yields the port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0].lower()
            sites.asked.append((host, self.path))
            page = sites.pages.get((host, self.path), Page(b"not found", 404))
            if page.delay:
                time.sleep(page.delay)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.send_response(page.status)
                for name, value in page.headers.items():
                    self.send_header(name, value)
                if isinstance(page.body, int):  # filler, streamed in 64 KiB pieces
                    self.send_header("Content-Length", str(page.body))
                    self.end_headers()
                    chunk = b"<p>" + b"x" * (65536 - 7) + b"</p>"
                    for _ in range(page.body // len(chunk)):
                        self.wfile.write(chunk)
                    self.wfile.write(b" " * (page.body % len(chunk)))
                else:
                    self.send_header("Content-Length", str(len(page.body)))
                    self.end_headers()
                    self.wfile.write(page.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serve_http(Handler) as url:
        yield int(url.rsplit(":", 1)[1])


@dataclass
class Upstream:
    """Files by path: (status, body, seconds to wait; negative: promise more bytes than are
    sent and hang up, an interrupted download); and the User-Agents seen."""

    files: dict[str, tuple[int, bytes, float]] = field(default_factory=dict)
    agents: list[str] = field(default_factory=list)


@contextmanager
def upstream_server(upstream: Upstream) -> Iterator[str]:
    """Files over HTTP on a free port of 127.0.0.1, as the network-type sources serve them."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            upstream.agents.append(self.headers.get("User-Agent", ""))
            status, body, delay = upstream.files.get(self.path, (404, b"not found", 0.0))
            if delay > 0:
                time.sleep(delay)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body) + (1000 if delay < 0 else 0)))
                self.end_headers()
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serve_http(Handler) as url:
        yield url


def identify_settings(settings: Settings, **changes: Any) -> Settings:
    """The test settings with every resolver off unless the test turns it on (company
    discovery too: these tests measure the chain against the companies they import)."""
    base: dict[str, Any] = {
        "reverse_dns": False,
        "asn_mmdb": None,
        "city_mmdb": None,
        "discover_companies": False,
    }
    return settings.model_copy(update=base | changes)


@contextmanager
def identifier_for(settings: Settings, **changes: Any) -> Iterator[Identifier]:
    identifier = make_identifier(identify_settings(settings, **changes))
    try:
        yield identifier
    finally:
        identifier.close()


def add_company(
    db: Database,
    name: str,
    *,
    domain: str | None = None,
    ranges: tuple[str, ...] = (),
    keys: tuple[str, ...] = (),
    company_id: str | None = None,
    **fields: Any,
) -> Company:
    """A company with ranges and company_keys keys, written through the store."""
    company = Company(
        id=company_id or f"c-{name.lower().replace(' ', '-')}", name=name, domain=domain, **fields
    )
    with db.write() as conn:
        upsert_companies(conn, [company])
        networks = [plain_network(ip_network(r)) for r in ranges]
        add_ranges(conn, [(company.id, str(n), *network_bounds(n)) for n in networks])
        wanted = ([domain] if domain else []) + list(keys)
        assign_keys(conn, dict.fromkeys(wanted, company.id))
    return company


def identify(
    db: Database, identifier: Identifier, ips: list[str], account_id: int | None = None
) -> Mapping[str, Any]:
    with db.write() as conn:
        return identifier.identify_many(conn, account_id, ips)
