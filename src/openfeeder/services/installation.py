"""The tracking page's "Check installation": fetch a page an admin names and say whether this
account's tracking snippet is on it, or why not.

The fetch is website enrichment's (``identify/website.py``): every address the host resolves
to is checked (never private, loopback — unless a test allows it — link-local or otherwise
non-public), the connection goes to the checked address, at most three redirects each
checked alike, a timeout per read and a deadline for the whole fetch, at most 1 MiB read.
Checks are rate-limited per account, since each one makes this server fetch a URL."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from openfeeder.config import Settings
from openfeeder.domain.errors import BadRequest
from openfeeder.domain.models import Account
from openfeeder.identify.website import MAX_BYTES, Refused, WebsiteFetcher
from openfeeder.ratelimit import Limit, RateLimiter

MAX_URL = 2000
TRACKER_PATH = "/lftracker_v1_"

Status = Literal[
    "found",
    "other_server",
    "other_account",
    "not_found",
    "refused",
    "not_html",
    "timeout",
    "failed",
]

# The tracker's path is found as plain text (linear in the page); its base is what precedes it
# back to a quote, blank or bracket, and its script id either follows it (the script's own
# URL, ``…/lftracker_v1_<id>.js``) or, in the seed's loader (``'…/lftracker_v1_'+ss+…``),
# is the loader's argument a little further on: ``})('<id>');`` (ids are base58, 16 long).
_DIRECT_ID = re.compile(r"([A-Za-z0-9]{1,64})(?:_[A-Za-z0-9]{0,64})?\.js")
_LOADER_ID = re.compile(r"""\}\)\(\s{0,9}['"]([A-Za-z0-9]{1,64})['"]""")
_BASE_ENDS = " \t\r\n'\"()<>="
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+-]*):")  # no dot: "example.com:8080" has none
_LOOKED_AT = 50  # tracker paths read at most per page
_BASE_CHARS, _LOADER_CHARS = 300, 1000


@dataclass(frozen=True)
class Check:
    """What one check found: ``status`` for the page to style, ``message`` for people."""

    url: str
    status: Status
    message: str

    @property
    def ok(self) -> bool:
        return self.status == "found"


def checked_url(text: str) -> str:
    """The URL to check, or BadRequest saying what is wrong with it (a form error)."""
    url = text.strip()
    if not url:
        raise BadRequest("Give the address of a page of your website, e.g. https://example.com/.")
    if len(url) > MAX_URL:
        raise BadRequest(f"The address is longer than {MAX_URL} characters.")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise BadRequest("The address contains spaces or control characters.")
    scheme = _SCHEME.match(url)
    if scheme and scheme.group(1).lower() not in ("http", "https"):
        raise BadRequest("Only http:// and https:// pages can be checked.")
    if not scheme:
        url = "https://" + url  # "example.com/pricing", as people type it
    try:
        parts = urlsplit(url)
        valid = parts.port is None or parts.port > 0
    except ValueError:  # a port that is not a number, or out of range
        valid = False
    if not valid:
        raise BadRequest("That is not a web address.")
    if parts.scheme.lower() not in ("http", "https"):
        raise BadRequest("Only http:// and https:// pages can be checked.")
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise BadRequest("The address needs a host name (and no user name or password).")
    return url


def check(
    settings: Settings, limiter: RateLimiter, account: Account, tracker_base: str, url: str
) -> Check:
    """Fetch ``url`` (see ``checked_url``) and look for the account's snippet; ``tracker_base``
    is this server's public URL, where the snippet loads the tracker from."""
    import dns.exception
    import httpx

    limiter.check(str(account.id), _limit(settings))
    fetcher = WebsiteFetcher(
        servers=settings.dns_servers,
        timeout=settings.website_timeout,
        allow_loopback=settings.website_allow_loopback,
    )
    try:
        final, html = asyncio.run(_fetch(fetcher, url))
    except Refused as error:
        return _refused(url, error)
    except (TimeoutError, httpx.TimeoutException):
        seconds = f"{fetcher.timeout:g}"
        return Check(url, "timeout", f"{url} did not answer within {seconds} seconds.")
    except (httpx.HTTPError, OSError, dns.exception.DNSException) as error:
        # Connection refused, a TLS failure, a name that does not resolve …
        return Check(url, "failed", f"{url} could not be fetched ({error.__class__.__name__}).")
    return look(final, html, account.script_hash, tracker_base)


def _limit(settings: Settings) -> Limit:
    per_minute = settings.installation_checks_per_minute
    message = f"At most {per_minute} installation checks a minute. Try again in a minute."
    return Limit("installation-check", per_minute, message, "")


async def _fetch(fetcher: WebsiteFetcher, url: str) -> tuple[str, str]:
    try:
        async with asyncio.timeout(fetcher.deadline):
            return await fetcher.fetch(url)
    finally:
        await fetcher.aclose()


def _refused(url: str, error: Refused) -> Check:
    if error.reason == "not_html":
        return Check(url, "not_html", f"{error}: the snippet is looked for on HTML pages.")
    if error.reason == "status":
        return Check(url, "failed", f"{error}.")
    return Check(url, "refused", f"{url} was not fetched: {error}.")


def look(url: str, html: str, script_hash: str, tracker_base: str) -> Check:
    """Whether ``html`` (the page at ``url``) has the snippet of the script ``script_hash``
    loading the tracker from ``tracker_base``."""
    ids: set[str] = set()
    bases: set[str] = set()
    for n, found in enumerate(re.finditer(re.escape(TRACKER_PATH), html)):
        if n == _LOOKED_AT:
            break
        before = html[max(0, found.start() - _BASE_CHARS) : found.start()]
        bases.add(before[max(before.rfind(ch) for ch in _BASE_ENDS) + 1 :])
        if direct := _DIRECT_ID.match(html, found.end()):
            ids.add(direct.group(1))
        elif loader := _LOADER_ID.search(html, found.end(), found.end() + _LOADER_CHARS):
            ids.add(loader.group(1))
    expected = tracker_base.rstrip("/")
    if script_hash in ids:
        if expected in bases:
            return Check(url, "found", f"This account's tracking script is on {url}.")
        elsewhere = ", ".join(sorted(b[:100] for b in bases)[:3]) or "another address"
        return Check(
            url,
            "other_server",
            f"This account's script id is on {url}, but the tracker is loaded from {elsewhere},"
            f" not from {expected}: its visits do not reach this server.",
        )
    if ids or bases:
        others = ", ".join(sorted(i for i in ids)[:3])
        said = f" (script id {others})" if others else ""
        return Check(
            url,
            "other_account",
            f"{url} has a tracking script{said}, but not this account's ({script_hash}).",
        )
    read = len(html.encode("utf-8", "replace"))
    partial = (
        f" (only its first {MAX_BYTES // 1024 // 1024} MiB was read)" if read >= MAX_BYTES else ""
    )
    return Check(url, "not_found", f"The tracking script is not on {url}{partial}.")
