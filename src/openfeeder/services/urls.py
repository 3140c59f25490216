"""The service's public base URL: the one rule behind every absolute link it hands out (API
documents, the tracker script's endpoint, ``view_in_leadfeeder`` in export files)."""

from __future__ import annotations

from urllib.parse import quote

from openfeeder.config import Settings


def public_base_url(settings: Settings, request_base_url: str | None) -> str:
    """Where clients reach this service, without a trailing slash.

    ``public_url`` wins when set (behind a proxy the request's own address is an internal
    one); else the base URL of the request being answered; else, with no request at hand
    (a job of an export requested before its request's address was recorded), the address
    ``serve`` listens on.
    """
    base = settings.public_url or request_base_url or f"http://{settings.host}:{settings.port}"
    return base.rstrip("/")


def lead_page_url(base_url: str, account_id: int | str, lead_id: str) -> str:
    """The dashboard's page of a lead (what ``view_in_leadfeeder`` links to)."""
    account, lead = quote(str(account_id), safe=""), quote(lead_id, safe="")
    return f"{base_url.rstrip('/')}/app/{account}/leads/{lead}"
