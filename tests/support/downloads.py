"""A provider of IP database files on 127.0.0.1 for the download tests, and the databases
it serves, written here: a threaded ``http.server`` whose routes answer with a file (plain,
gzip or tar.gz), an HTTP error, a redirect, a body cut off half-way, or nothing at all (a
hang); every request is recorded."""

from __future__ import annotations

import contextlib
import gzip
import io
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from openfeeder.identify.mmdb import AsnEntry, CityEntry, Flavour, write_asn_mmdb, write_city_mmdb

# The addresses the verification looks up must be in every database a test serves.
WELL_KNOWN_ASN = [
    AsnEntry("8.8.8.0/24", 15169, "GOOGLE"),
    AsnEntry("1.1.1.0/24", 13335, "CLOUDFLARENET"),
]
WELL_KNOWN_CITY = [
    CityEntry("8.8.8.0/24", "US", "United States", "California", "CA", "Mountain View"),
    CityEntry("1.1.1.0/24", "AU", "Australia", "Queensland", None, "Brisbane"),
]
PROBE = "198.51.100.7"  # the address whose answer tells an old database from a new one


def asn_database(path: Path, organization: str, flavour: Flavour = "dbip") -> Path:
    """An ASN database placing PROBE in AS64500 named ``organization``."""
    entries = [*WELL_KNOWN_ASN, AsnEntry("198.51.100.0/24", 64500, organization, "acme.example")]
    return write_asn_mmdb(path, entries, flavour)


def city_database(path: Path, city: str, flavour: Flavour = "dbip") -> Path:
    """A City database placing PROBE in ``city``, Finland."""
    entries = [
        *WELL_KNOWN_CITY,
        CityEntry("198.51.100.0/24", "FI", "Finland", "Uusimaa", None, city),
    ]
    return write_city_mmdb(path, entries, flavour)


def gzipped(path: Path) -> bytes:
    return gzip.compress(path.read_bytes())


def tar_gzipped(path: Path, folder: str = "GeoLite2-ASN_20261201") -> bytes:
    """A tar.gz laid out like MaxMind's: a dated folder with the database and its licence."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in ((path.name, path.read_bytes()), ("LICENSE.txt", b"licence text\n")):
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


Mode = Literal["ok", "hang", "cut", "redirect"]


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    mode: Mode = "ok"
    location: str = ""  # where a redirect points
    auth: str | None = None  # the Authorization header required, else 401
    last_modified: datetime | None = None  # answers 304 to an If-Modified-Since not older
    content_type: str | None = None  # the Content-Type header, if any


@dataclass
class FileServer:
    """Routes by path and query (``/file?suffix=gz``), else by path alone; unknown paths
    answer 404."""

    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)  # ends hangs
    url: str = ""

    def serve(self, path: str, body: bytes, **options: Any) -> str:
        self.routes[path] = Route(body, **options)
        return self.url + path

    def fail(self, path: str, status: int) -> None:
        self.routes[path] = Route(b"error\n", status=status)

    def paths(self) -> list[str]:
        return [request["path"] for request in self.requests]


def _handler(files: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            files.requests.append(
                {"path": parts.path, "query": parts.query, "headers": dict(self.headers)}
            )
            route = (
                files.routes.get(f"{parts.path}?{parts.query}")
                or files.routes.get(parts.path)
                or Route(b"not found\n", status=404)
            )
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._answer(route)

        def _answer(self, route: Route) -> None:
            if route.auth is not None and self.headers.get("Authorization") != route.auth:
                return self._send(401, b"unauthorized\n")
            if route.mode == "hang":
                files.release.wait(30)
                return None
            if route.mode == "redirect":
                self.send_response(302)
                self.send_header("Location", route.location)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            since = self.headers.get("If-Modified-Since")
            fresh = since and route.last_modified is not None
            if fresh and parsedate_to_datetime(since) >= route.last_modified:  # type: ignore[arg-type,operator]
                return self._send(304, b"")
            if route.mode == "cut":
                self.send_response(route.status)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body[: len(route.body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return None
            headers = {"Content-Type": route.content_type} if route.content_type else {}
            if route.last_modified is not None:
                headers["Last-Modified"] = format_datetime(route.last_modified, usegmt=True)
            return self._send(route.status, route.body, headers)

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def file_server() -> Iterator[FileServer]:
    """A FileServer on a free port of 127.0.0.1."""
    files = FileServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(files))
    server.daemon_threads = True
    files.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield files
    finally:
        files.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
