"""The optional HTTP enrichment provider, the chain's last resolver: ``GET`` of a URL template
(``{ip}``, ``{key}``) answering JSON that names the company behind an IP.

Accepted answers (the shapes IPinfo's company API and Clearbit-style reveal APIs use)::

    {"domain": "acme.fi", "name": "Acme Oy", "type": "business"}
    {"company": {"domain": "acme.fi", "name": "Acme Oy"}, "type": "company"}

``type`` isp, mobile or hosting drops the visit like the ASN resolver does. A domain the
company database knows identifies that company; an unknown one creates a company with the
provider's name and domain (firmographics can be imported for it later)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import sqlalchemy as sa

from openfeeder.domain.drops import NEVER_LEADS, DropReason
from openfeeder.domain.errors import OpenfeederError
from openfeeder.domain.models import Company
from openfeeder.identify.outcome import Drop, Match
from openfeeder.identify.rdns import valid_hostname
from openfeeder.store import identify as store

if TYPE_CHECKING:
    import httpx

NAME = "enrichment"
POSITIVE_TTL = timedelta(days=7)
NEGATIVE_TTL = timedelta(days=1)
FAILURE_TTL = timedelta(minutes=10)
_NEVER_LEADS: dict[str, DropReason] = {reason.value: reason for reason in NEVER_LEADS}


class EnrichmentProvider:
    """Asks the provider about one IP at a time; used on the identifier's own event loop."""

    name = NAME

    def __init__(self, url_template: str, key: str | None, timeout: float) -> None:
        if "{ip}" not in url_template:
            raise OpenfeederError("OPENFEEDER_ENRICHMENT_URL must contain {ip}")
        if not url_template.startswith(("http://", "https://")):
            raise OpenfeederError("OPENFEEDER_ENRICHMENT_URL must be an http(s) URL")
        self._template = url_template
        self._key = key or ""
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    def url(self, ip: str) -> str:
        return self._template.replace("{ip}", quote(ip, safe=":.")).replace(
            "{key}", quote(self._key, safe="")
        )

    async def lookup(self, ip: str) -> tuple[dict[str, Any], timedelta]:
        import httpx

        if self._client is None:  # made on the loop that uses it, as httpx requires
            self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=True)
        try:
            response = await self._client.get(self.url(ip), headers={"Accept": "application/json"})
        except httpx.TimeoutException:
            return {"status": "timeout"}, FAILURE_TTL
        except httpx.HTTPError as error:
            return {"status": "error", "detail": error.__class__.__name__}, FAILURE_TTL
        if response.status_code in (204, 404):
            return {"status": "none"}, NEGATIVE_TTL
        if response.status_code != 200:
            return {"status": "error", "detail": f"HTTP {response.status_code}"}, FAILURE_TTL
        try:
            found = company_fields(response.json())
        except ValueError:
            return {"status": "error", "detail": "not JSON"}, FAILURE_TTL
        if found is None:
            return {"status": "none"}, NEGATIVE_TTL
        return {"status": "ok", **found}, POSITIVE_TTL

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _text(value: Any, limit: int) -> str | None:
    return (value.strip()[:limit] or None) if isinstance(value, str) else None


def company_fields(data: Any) -> dict[str, str | None] | None:
    """domain, name and type from a provider's answer; None when it names no company."""
    if not isinstance(data, Mapping):
        return None
    inner = data.get("company")
    company = inner if isinstance(inner, Mapping) else data
    domain = _text(company.get("domain"), 253)
    if domain:
        domain = domain.lower().removeprefix("www.")
        domain = domain if valid_hostname(domain) else None
    kind = _text(company.get("type") or data.get("type"), 40)
    name = _text(company.get("name"), 300)
    if not domain and (kind or "").lower() not in _NEVER_LEADS:
        return None
    return {"domain": domain, "name": name, "type": kind.lower() if kind else None}


def company_id_for(domain: str) -> str:
    """The same id for a provider-named domain in every process, so creating it is idempotent."""
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, domain))


def match_answers(
    conn: sa.Connection, answers: Mapping[str, Mapping[str, Any]]
) -> dict[str, Match | Drop]:
    """Companies (or drops) for IPs by the provider's cached answers."""
    found = {ip: a for ip, a in answers.items() if a.get("status") == "ok"}
    domains = {str(a["domain"]) for a in found.values() if a.get("domain")}
    known = store.companies_by_domain(conn, domains) if domains else {}
    out: dict[str, Match | Drop] = {}
    for ip, answer in found.items():
        kind = answer.get("type")
        if kind in _NEVER_LEADS:
            out[ip] = Drop(_NEVER_LEADS[kind], f"the enrichment provider types {ip} as {kind}")
            continue
        domain = answer.get("domain")
        if not domain:
            continue
        if domain in known:
            company = known[domain]
            reason = f"the enrichment provider names {domain} for {ip}; it is {company.name}'s"
            out[ip] = Match(company.id, "enrichment", reason)
            continue
        name = answer.get("name") or domain
        company_id = company_id_for(domain)
        store.insert_company_if_missing(
            conn, Company(id=company_id, name=name, domain=domain), domain
        )
        reason = f"the enrichment provider names {name} ({domain}) for {ip}"
        out[ip] = Match(company_id, "enrichment", reason)
    return out
