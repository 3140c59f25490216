"""The export file's contents: the seed's sample report, ``{"data": [timeline_rows],
"included": [leads, locations]}``, written one object at a time in three streamed passes over
one snapshot, so memory does not grow with the number of leads, and there is no 10 000 cap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from itertools import islice
from typing import IO, Any, TypeVar

import msgspec
import orjson

from openfeeder.domain.feeds import FeedCriterion
from openfeeder.domain.models import Lead, Location
from openfeeder.domain.representation import LeadAttributes, LocationAttributes
from openfeeder.store import exports as store
from openfeeder.store.db import Database
from openfeeder.store.leads import stream_leads

# Leads per keyword query: bounds both the memory held and the number of queries.
KEYWORD_BATCH = 500

_T = TypeVar("_T")


def write_report(
    out: IO[bytes],
    db: Database,
    account_id: int,
    first: date,
    last: date,
    criteria: list[FeedCriterion],
    base_url: str,
    check: Callable[[], None] = lambda: None,
) -> int:
    """Write the sample-report document to ``out``; returns the number of leads.

    Three passes over one snapshot: timeline rows (with keywords fetched per batch of
    leads), then the lead objects, then the distinct locations. Each object is serialised
    and written on its own, so memory stays flat however many leads there are. ``check``
    runs between batches; what it raises ends the writing.
    """
    count = 0
    with store.snapshot(db) as conn:
        out.write(b'{"data":[')
        leads = stream_leads(conn, account_id, first, last, criteria)
        for batch in _batched(leads, KEYWORD_BATCH):
            words = store.keywords(conn, (lead.pk for lead, _row in batch), first, last)
            for lead, row in batch:
                out.write(b"," if count else b"")
                out.write(orjson.dumps(timeline_row(lead, row, words.get(lead.pk, []))))
                count += 1
            check()
        out.write(b'],"included":[')
        separator = b""
        for index, (lead, _row) in enumerate(stream_leads(conn, account_id, first, last, criteria)):
            out.write(separator + orjson.dumps(lead_object(lead, base_url)))
            separator = b","
            if index % KEYWORD_BATCH == 0:
                check()
        for location in store.stream_locations(conn, account_id, first, last, criteria):
            out.write(separator + orjson.dumps(location_object(location)))
            separator = b","
        out.write(b"]}")
    return count


def timeline_row(lead: Lead, row: Mapping[Any, Any], keywords: list[str]) -> dict[str, Any]:
    return {
        "attributes": {
            "keywords": keywords,
            "quality": int(row["quality"]),
            "stats": {
                "bounces": int(row["bounces"]),
                "last_visit": row["interval_last_day"].isoformat(),
                "pageviews": int(row["pageviews"]),
                "visits": int(row["interval_visits"]),
            },
        },
        "id": lead.id,
        "relationships": {"lead": {"data": {"id": lead.id, "type": "leads"}}},
        "type": "timeline_rows",
    }


def lead_object(lead: Lead, base_url: str) -> dict[str, Any]:
    """The lead as its model renders it, with the export's subset of attributes; members in
    the order of the seed's sample report (by name, the attributes in EXPORT_LEAD_FIELDS
    order)."""
    attributes = LeadAttributes.of(lead, base_url)
    # Spelled out rather than attributes.relationships(…): this runs for every lead of an
    # export; tests/api/test_openapi.py holds export files to the model's document.
    location = {"data": {"id": lead.location.id, "type": LocationAttributes.TYPE}}
    return {
        "attributes": attributes.export_attributes(),
        "id": lead.id,
        "relationships": {"location": location},
        "type": attributes.TYPE,
    }


def location_object(location: Location) -> dict[str, Any]:
    attributes = LocationAttributes.of(location)
    plain = msgspec.structs.asdict(attributes)  # orjson writes the file and knows no Struct
    return {"attributes": plain, "id": location.id, "type": attributes.TYPE}


def _batched(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch
