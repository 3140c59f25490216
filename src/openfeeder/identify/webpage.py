"""What a company's home page says about the company: schema.org ``Organization`` JSON-LD
(its subtypes and ``@graph`` too), OpenGraph and ``<link rel=icon>``, read with the standard
library's ``html.parser``.

``html.parser`` rather than lxml or selectolax: the facts are in a handful of head elements,
the parser is tolerant of broken markup, keeps ``<script>`` contents as raw text (so a payload
there is only ever data) and executes nothing, and it needs no compiled dependency. Every
value found is plain text, bounded in length and stripped of control characters; URLs are
kept only when they are http(s). Nothing here is ever rendered as markup."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

# schema.org types (and subtypes) that describe the organisation behind the site.
ORGANIZATION_TYPES = frozenset(
    {
        "Organization",
        "Corporation",
        "LocalBusiness",
        "OnlineBusiness",
        "ProfessionalService",
        "EducationalOrganization",
        "CollegeOrUniversity",
        "HighSchool",
        "School",
        "GovernmentOrganization",
        "NGO",
        "NonprofitOrganization",
        "ResearchOrganization",
        "MedicalOrganization",
        "Hospital",
        "LibrarySystem",
        "SportsOrganization",
        "NewsMediaOrganization",
        "Airline",
        "Consortium",
        "FundingScheme",
        "Project",
    }
)
_MAX_SCRIPTS = 20  # JSON-LD blocks read per page
_MAX_SCRIPT_CHARS = 256 * 1024  # one block; larger ones are not read
_MAX_NODES = 500  # JSON-LD objects walked per page
LIMITS = {  # the longest value kept, per field (the companies table's column sizes)
    "name": 300,
    "logo_url": 500,
    "linkedin_url": 500,
    "twitter_handle": 100,
    "facebook_url": 500,
    "phone": 64,
    "website_url": 500,
    "description": 1000,
    "address": 300,
    "country": 100,
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]+")
_SPACE = re.compile(r"\s+")
_TWITTER = re.compile(r"^/(?:#!/)?@?([A-Za-z0-9_]{1,15})/?$")
_HANDLE = re.compile(r"@?([A-Za-z0-9_]{1,15})")


def clean_text(value: Any, limit: int) -> str | None:
    """One line of plain text of at most ``limit`` characters, or None."""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return None
    text = _SPACE.sub(" ", _CONTROL.sub(" ", str(value))).strip()
    return text[:limit].rstrip() or None


def clean_url(value: Any, base: str, limit: int = 500) -> str | None:
    """An absolute http(s) URL, resolved against ``base``; None for anything else."""
    text = clean_text(value, 2000)
    if text is None:
        return None
    try:
        url = urljoin(base, text)
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > limit:
        return None
    return url


class _HeadReader(HTMLParser):
    """Collects JSON-LD script texts, ``<meta>`` properties and icon links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[str] = []
        self.meta: dict[str, str] = {}
        self.icons: list[tuple[int, str]] = []  # (preference, href)
        self._script: list[str] | None = None
        self._script_size = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value or "" for name, value in attrs}
        if tag == "script":
            kind = values.get("type", "").split(";")[0].strip().lower()
            if kind == "application/ld+json" and len(self.scripts) < _MAX_SCRIPTS:
                self._script, self._script_size = [], 0
        elif tag == "meta":
            key = (values.get("property") or values.get("name") or "").strip().lower()
            if key and key not in self.meta and "content" in values:
                self.meta[key] = values["content"][:4000]
        elif tag == "link":
            rels = set(values.get("rel", "").lower().split())
            href = values.get("href", "")
            if href and rels & {"icon", "apple-touch-icon", "apple-touch-icon-precomposed"}:
                self.icons.append((0 if "apple-touch-icon" in rels else 1, href))

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script_size += len(data)
            if self._script_size <= _MAX_SCRIPT_CHARS:
                self._script.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            if self._script_size <= _MAX_SCRIPT_CHARS:
                self.scripts.append("".join(self._script))
            self._script = None


def _nodes(data: Any, budget: list[int]) -> Iterator[dict[str, Any]]:
    """Every JSON-LD object, ``@graph`` members included, breadth-bounded by ``budget``."""
    stack = [data]
    while stack and budget[0] > 0:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            budget[0] -= 1
            yield item
            if "@graph" in item:
                stack.append(item["@graph"])


def _types(node: dict[str, Any]) -> set[str]:
    value = node.get("@type")
    names = value if isinstance(value, list) else [value]
    return {n.rsplit("/", 1)[-1] for n in names if isinstance(n, str)}


def _organization(scripts: list[str]) -> dict[str, Any] | None:
    budget = [_MAX_NODES]
    for text in scripts:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):  # invalid, or nested deeper than Python recurses
            continue
        for node in _nodes(data, budget):
            if _types(node) & ORGANIZATION_TYPES:
                return node
    return None


def _url_of(value: Any) -> Any:
    """An ``ImageObject``'s or a list's first URL, or the value itself."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("url") or value.get("contentUrl") or value.get("@id")
    return value


def _socials(same_as: Any, base: str) -> dict[str, str]:
    links = same_as if isinstance(same_as, list) else [same_as]
    out: dict[str, str] = {}
    for link in links[:50]:
        url = clean_url(link, base)
        if url is None:
            continue
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().removeprefix("www.")
        if host.endswith("linkedin.com") and parts.path.startswith(("/company/", "/school/")):
            out.setdefault("linkedin_url", url)
        elif host in ("twitter.com", "x.com") and (found := _TWITTER.match(parts.path)):
            out.setdefault("twitter_handle", found.group(1))
        elif host.endswith("facebook.com") and parts.path.strip("/"):
            out.setdefault("facebook_url", url)
    return out


def _address(value: Any) -> tuple[str | None, str | None]:
    """(one-line address, country) of a ``PostalAddress`` or plain text."""
    if isinstance(value, list):
        value = value[0] if value else None
    if not isinstance(value, dict):
        return clean_text(value, LIMITS["address"]), None
    country = value.get("addressCountry")
    if isinstance(country, dict):
        country = country.get("name") or country.get("identifier")
    parts = [
        clean_text(value.get(key), 200)
        for key in ("streetAddress", "postalCode", "addressLocality", "addressRegion")
    ]
    line = ", ".join(p for p in parts if p)
    return clean_text(line, LIMITS["address"]), clean_text(country, LIMITS["country"])


def read_page(html: str, base_url: str) -> dict[str, str]:
    """The company's facts a page states, by field: ``name``, ``logo_url``, ``linkedin_url``,
    ``twitter_handle``, ``facebook_url``, ``phone``, ``website_url`` (firmographics) and
    ``description``, ``address``, ``country`` (the profile)."""
    reader = _HeadReader()
    try:
        reader.feed(html)
        reader.close()
    except (AssertionError, ValueError):  # html.parser gives up on some broken markup
        pass
    org = _organization(reader.scripts) or {}
    meta = reader.meta
    found: dict[str, str | None] = {
        "name": clean_text(org.get("name") or org.get("legalName"), LIMITS["name"])
        or clean_text(meta.get("og:site_name"), LIMITS["name"]),
        "logo_url": clean_url(_url_of(org.get("logo")), base_url),
        "phone": clean_text(org.get("telephone"), LIMITS["phone"]),
        "description": clean_text(
            org.get("description") or meta.get("og:description") or meta.get("description"),
            LIMITS["description"],
        ),
        "website_url": clean_url(org.get("url"), base_url) or clean_url(base_url, base_url),
    }
    if found["logo_url"] is None and reader.icons:
        found["logo_url"] = clean_url(min(reader.icons, key=lambda icon: icon[0])[1], base_url)
    found |= _socials(org.get("sameAs"), base_url)
    found["address"], found["country"] = _address(org.get("address"))
    if (handle := _HANDLE.fullmatch(meta.get("twitter:site", "").strip())) is not None:
        found.setdefault("twitter_handle", handle.group(1))
    facts = {key: value for key, value in found.items() if value}
    # The page's own address says nothing about the company on its own.
    return facts if set(facts) - {"website_url"} else {}
