"""Pages from Jinja2 templates (every value autoescaped) and the static files they load.

Static files are served at ``/app/static/<name>?v=<content hash>``: the hash changes with the
content, so the answer can be cached for a year.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import jinja2
import markupsafe
from starlette.responses import HTMLResponse

from openfeeder.domain.models import Location

# No inline script and no inline style anywhere: scripts and styles load from /app/static.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


@cache
def static_files() -> dict[str, tuple[bytes, str]]:
    """Every static file: name → (content, content hash)."""
    folder = resources.files("openfeeder.dashboard").joinpath("static")
    out: dict[str, tuple[bytes, str]] = {}
    for entry in folder.iterdir():
        suffix = "." + entry.name.rpartition(".")[2]
        if entry.is_file() and suffix in STATIC_TYPES:
            content = entry.read_bytes()
            out[entry.name] = (content, hashlib.sha256(content).hexdigest()[:12])
    return out


def http_url(value: object) -> str | None:
    """The URL when it is http(s), else None: a ``javascript:`` or ``data:`` link from an
    imported or discovered company must never reach an ``href`` or ``src``."""
    if not isinstance(value, str) or len(value) > 2000:
        return None
    scheme = urlsplit(value.strip()).scheme.lower()
    return value.strip() if scheme in ("http", "https") else None


def place(location: Location, *, short: bool = False) -> str:
    """``Helsinki, Uusimaa, Finland`` (``short``: ``Helsinki, Finland``): the parts of a
    location that are known."""
    parts = [location.city, None if short else location.region, location.country]
    return ", ".join(part for part in parts if part)


def duration(seconds: object) -> str:
    total = seconds if isinstance(seconds, int) and seconds > 0 else 0
    minutes, rest = divmod(total, 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def clip(value: object, length: int) -> str:
    """At most ``length`` characters of a text from outside, ``…`` where it was cut: a
    visitor decides how long a page title, URL or UTM value is (up to the tracker's bounds)."""
    text = "" if value is None else str(value)
    return text if len(text) <= length else text[: length - 1] + "…"


# A visit's route on the lead page: each URL and title clipped, and steps shown while their
# escaped text stays within ROUTE_TEXT characters (at least one). A real route of a dozen pages
# fits; a visitor's 500 pages of 4 KB URLs (the tracker's bounds) would make a page of
# megabytes, so the rest is counted, not shown (the API's visit has the whole route).
ROUTE_URL, ROUTE_TITLE, ROUTE_TEXT = 120, 80, 2_500
_STEP_MARKUP = 110  # the <li> and its spans, per step


def route_shown(route: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """The steps of a visit's route the lead page shows, and how many more there are."""
    shown: list[dict[str, Any]] = []
    used = 0
    for n, step in enumerate(route):
        url = clip(step.get("page_url"), ROUTE_URL)
        title = clip(step.get("page_title"), ROUTE_TITLE)
        used += len(markupsafe.escape(url)) + len(markupsafe.escape(title)) + _STEP_MARKUP
        if shown and used > ROUTE_TEXT:
            return shown, len(route) - n
        shown.append({"url": url, "title": title, "seconds": step.get("time_on_page") or 0})
    return shown, 0


def _number_like(value: object) -> bool:
    return isinstance(value, str) and value.isascii() and value.isdigit()


def static_url(name: str) -> str:
    return f"/app/static/{name}?v={static_files()[name][1]}"


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("openfeeder.dashboard", "templates"),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        static_url=static_url, place=place, duration=duration, route_shown=route_shown
    )
    env.filters["http_url"] = http_url
    env.filters["clip"] = clip
    env.tests["number_like"] = lambda value: (
        isinstance(value, str) and value.isascii() and value.isdigit()
    )
    return env


def page(template: str, status: int = 200, **values: Any) -> HTMLResponse:
    html = environment().get_template(template).render(**values)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
