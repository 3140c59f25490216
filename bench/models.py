"""Resource models: rendering lead resources through the msgspec models the API uses
(``domain.representation``), through an equivalent pydantic model, and through the plain dict
code they replaced, side by side in one run.

Each candidate renders N leads (a lead list's ``data``, or the export file's lead objects)
from the same in-memory records to JSON bytes, as the API and the export job do: with every
attribute, and with a sparse fieldset (``fields[leads]=name,quality``). Before timing, the
script checks that every candidate produces the same JSON (msgspec and the dicts byte for
byte), so the ratios compare equal work.

- dicts: the renderer before the models (``lead_attributes`` and ``jsonapi.resource`` of
  commit 67f4d29, copied below), encoded with orjson as the response class did;
- msgspec: ``LeadAttributes.of(...).resource(...)`` encoded with ``msgspec.json``, as now;
- pydantic: a ``BaseModel`` with the same fields (validated, then ``model_dump`` + orjson),
  and the same model built with ``model_construct`` (no validation).

    .venv/bin/python bench/models.py
    .venv/bin/python bench/models.py --sizes 100 10000 --repeat 9
    .venv/bin/python bench/models.py --no-gc   # the garbage collector off while timing

The models are ``gc=False`` structs, so the collector tracks fewer objects: with thousands of
leads in one list, the dicts also pay for collections the structs do not trigger. ``--no-gc``
shows the rendering cost alone.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable, Container
from datetime import date, timedelta
from typing import Any, Literal

import msgspec
import orjson
import pydantic

from openfeeder.domain.models import Company, Lead, Location
from openfeeder.domain.representation import EXPORT_LEAD_FIELDS, LeadAttributes
from openfeeder.services.exports.report import lead_object

APP_URL = "https://leads.example.com"
SPARSE = ("name", "quality")


def records(count: int) -> list[Lead]:
    """Leads with every firmographic set, three locations, two industries and tags."""
    locations = [
        Location(f"loc{i}", "Finland", "FI", "Uusimaa", None, "Helsinki", None) for i in range(3)
    ]
    out = []
    for i in range(count):
        company = Company(
            id=f"co{i}",
            name=f"Company {i} Oy",
            domain=f"company{i}.example",
            website_url=f"https://company{i}.example",
            industry="Software",
            industries=["Software Development", "Technology, Information and Internet"],
            dealfront_id=f"df{i}",
            phone="+358504303422",
            linkedin_url=f"https://www.linkedin.com/company/c{i}",
            twitter_handle=f"c{i}",
            facebook_url=f"https://www.facebook.com/c{i}",
            logo_url=f"https://logos.example.com/{i}.png",
            employee_count=40 + i % 100,
            employees_min=11,
            employees_max=50,
            revenue="EUR 395752792.0",
            business_id=f"KVK {i}",
        )
        location = locations[i % 3]
        out.append(
            Lead(
                pk=i,
                id=f"{company.id}_{location.id}",
                account_id=1,
                company=company,
                location=location,
                assignee="user@example.com" if i % 4 == 0 else None,
                emailed_to=None,
                crm_lead_id=i if i % 5 == 0 else None,
                crm_organization_id=None,
                tags=["tag1", "tag2"] if i % 2 else [],
                first_visit_date=date(2026, 1, 1) + timedelta(days=i % 20),
                last_visit_date=date(2026, 1, 25),
                visits=1 + i % 9,
                quality=i % 11,
            )
        )
    return out


# ── the dict code the models replaced (commit 67f4d29), as the baseline ─────────────────


def dict_lead_attributes(lead: Lead, app_url: str) -> dict[str, Any]:
    company = lead.company
    attributes: dict[str, Any] = {
        "name": company.name,
        "industry": company.industry or "N/A",
        "industries": [{"name": name} for name in company.industries],
        "first_visit_date": lead.first_visit_date.isoformat() if lead.first_visit_date else None,
        "status": lead.status,
        "dealfront_id": company.dealfront_id,
        "last_visit_date": lead.last_visit_date.isoformat() if lead.last_visit_date else None,
        "website_url": company.website_url,
        "phone": company.phone,
        "linkedin_url": company.linkedin_url,
        "twitter_handle": company.twitter_handle,
        "facebook_url": company.facebook_url,
        "employee_count": company.employee_count,
        "employees_range": {"min": company.employees_min, "max": company.employees_max},
        "crm_lead_id": lead.crm_lead_id,
        "crm_organization_id": lead.crm_organization_id,
        "tags": list(lead.tags),
        "logo_url": company.logo_url,
        "assignee": lead.assignee,
        "business_id": company.business_id,
        "revenue": company.revenue,
        "emailed_to": lead.emailed_to,
        "view_in_leadfeeder": f"{app_url.rstrip('/')}/app/{lead.account_id}/leads/{lead.id}",
        "visits": lead.visits,
    }
    if lead.quality is not None:
        attributes["quality"] = lead.quality
    return attributes


def dict_resource(lead: Lead, wanted: Container[str] | None) -> dict[str, Any]:
    attributes = dict_lead_attributes(lead, APP_URL)
    if wanted is not None:
        attributes = {name: value for name, value in attributes.items() if name in wanted}
    return {
        "id": lead.id,
        "type": "leads",
        "attributes": attributes,
        "relationships": {"location": {"data": {"id": lead.location.id, "type": "locations"}}},
    }


def dict_export_object(lead: Lead) -> dict[str, Any]:
    attributes = dict_lead_attributes(lead, APP_URL)
    return {
        "attributes": {name: attributes[name] for name in EXPORT_LEAD_FIELDS},
        "id": lead.id,
        "relationships": {"location": {"data": {"id": lead.location.id, "type": "locations"}}},
        "type": "leads",
    }


# ── the pydantic candidate: the same attributes as a BaseModel ──────────────────────────


class PydanticLead(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    name: str
    industry: str
    industries: list[dict[str, str]]
    first_visit_date: date | None
    status: Literal["new", "handled"]
    dealfront_id: str | None
    last_visit_date: date | None
    website_url: str | None
    phone: str | None
    linkedin_url: str | None
    twitter_handle: str | None
    facebook_url: str | None
    employee_count: int | None = pydantic.Field(ge=0)
    employees_range: dict[str, int | None]
    crm_lead_id: int | None
    crm_organization_id: int | None
    tags: list[str]
    logo_url: str | None
    assignee: str | None
    business_id: str | None
    revenue: str | None
    emailed_to: str | None
    view_in_leadfeeder: str
    quality: int | None = pydantic.Field(default=None, ge=0, le=10)
    visits: int = pydantic.Field(ge=0)


def _pydantic_fields(lead: Lead) -> dict[str, Any]:
    company = lead.company
    fields: dict[str, Any] = {
        "name": company.name,
        "industry": company.industry or "N/A",
        "industries": [{"name": name} for name in company.industries],
        "first_visit_date": lead.first_visit_date,
        "status": lead.status,
        "dealfront_id": company.dealfront_id,
        "last_visit_date": lead.last_visit_date,
        "website_url": company.website_url,
        "phone": company.phone,
        "linkedin_url": company.linkedin_url,
        "twitter_handle": company.twitter_handle,
        "facebook_url": company.facebook_url,
        "employee_count": company.employee_count,
        "employees_range": {"min": company.employees_min, "max": company.employees_max},
        "crm_lead_id": lead.crm_lead_id,
        "crm_organization_id": lead.crm_organization_id,
        "tags": list(lead.tags),
        "logo_url": company.logo_url,
        "assignee": lead.assignee,
        "business_id": company.business_id,
        "revenue": company.revenue,
        "emailed_to": lead.emailed_to,
        "view_in_leadfeeder": f"{APP_URL}/app/{lead.account_id}/leads/{lead.id}",
        "visits": lead.visits,
    }
    if lead.quality is not None:  # left unset otherwise, and exclude_unset leaves it out
        fields["quality"] = lead.quality
    return fields


def pydantic_resource(lead: Lead, wanted: Container[str] | None, *, validate: bool) -> Any:
    fields = _pydantic_fields(lead)
    model = PydanticLead(**fields) if validate else PydanticLead.model_construct(**fields)
    include = set(SPARSE) if wanted is not None else None
    return {
        "id": lead.id,
        "type": "leads",
        "attributes": model.model_dump(exclude_unset=True, include=include),
        "relationships": {"location": {"data": {"id": lead.location.id, "type": "locations"}}},
    }


# ── the runs ──────────────────────────────────────────────────────────────────────────────

_ENCODER = msgspec.json.Encoder()
Render = Callable[[list[Lead]], bytes]


def candidates(wanted: Container[str] | None) -> dict[str, Render]:
    def dicts(leads: list[Lead]) -> bytes:
        return orjson.dumps({"data": [dict_resource(lead, wanted) for lead in leads]})

    def models(leads: list[Lead]) -> bytes:
        data = [
            LeadAttributes.of(lead, APP_URL).resource(
                lead.id, wanted, {"location": lead.location.id}
            )
            for lead in leads
        ]
        return _ENCODER.encode({"data": data})

    def pydantic_validated(leads: list[Lead]) -> bytes:
        data = [pydantic_resource(lead, wanted, validate=True) for lead in leads]
        return orjson.dumps({"data": data})

    def pydantic_constructed(leads: list[Lead]) -> bytes:
        data = [pydantic_resource(lead, wanted, validate=False) for lead in leads]
        return orjson.dumps({"data": data})

    return {
        "dicts (before)": dicts,
        "msgspec models (now)": models,
        "pydantic, validated": pydantic_validated,
        "pydantic, model_construct": pydantic_constructed,
    }


def export_candidates() -> dict[str, Render]:
    """The export job serialises one lead object at a time with orjson."""

    def dicts(leads: list[Lead]) -> bytes:
        return b"[" + b",".join(orjson.dumps(dict_export_object(lead)) for lead in leads) + b"]"

    def models(leads: list[Lead]) -> bytes:
        return b"[" + b",".join(orjson.dumps(lead_object(lead, APP_URL)) for lead in leads) + b"]"

    return {"dicts (before)": dicts, "msgspec models (now)": models}


def timed(renders: dict[str, Render], leads: list[Lead], repeat: int) -> dict[str, float]:
    """Best CPU seconds per render of each candidate. The candidates take turns, sample
    after sample, and the clock is this process's CPU time; on a shared machine the best of
    many short samples is the one least disturbed by others. Small sizes get more samples
    of a few renders each (about 1 000 leads per sample)."""
    loops = max(1, 1_000 // len(leads))
    best = dict.fromkeys(renders, float("inf"))
    for _ in range(repeat * loops):
        for name, render in renders.items():
            start = time.process_time()
            for _ in range(loops):
                render(leads)
            best[name] = min(best[name], (time.process_time() - start) / loops)
    return best


def compare(title: str, renders: dict[str, Render], sizes: list[int], repeat: int) -> None:
    print(f"\n{title}\n")
    print("| candidate | " + " | ".join(f"{n} leads" for n in sizes) + " | ratio to dicts |")
    print("|---|" + "---:|" * len(sizes) + "---:|")
    results: dict[str, list[float]] = {}
    for size in sizes:
        leads = records(size)
        outputs = {name: render(leads) for name, render in renders.items()}
        baseline = outputs["dicts (before)"]
        for name, output in outputs.items():
            assert orjson.loads(output) == orjson.loads(baseline), f"{name} renders differently"
            if name.startswith("msgspec"):
                assert output == baseline, f"{name}: same JSON, different bytes"
        for name, seconds in timed(renders, leads, repeat).items():
            results.setdefault(name, []).append(seconds)
    base = results["dicts (before)"]
    for name, seconds in results.items():
        ratios = [s / b for s, b in zip(seconds, base, strict=True)]
        cells = " | ".join(f"{s * 1000:.2f} ms" for s in seconds)
        shown = " / ".join(f"{r:.2f}" for r in ratios)
        print(f"| {name} | {cells} | {shown} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 10_000])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-gc", action="store_true", help="disable the garbage collector")
    args = parser.parse_args()
    if args.no_gc:
        gc.disable()
    compare("Lead list data, every attribute", candidates(None), args.sizes, args.repeat)
    sparse = candidates(frozenset(SPARSE))
    compare("Lead list data, fields[leads]=name,quality", sparse, args.sizes, args.repeat)
    compare("Export file lead objects", export_candidates(), args.sizes, args.repeat)


if __name__ == "__main__":
    main()
