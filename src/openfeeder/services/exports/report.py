"""The export file's contents: the seed's sample report, ``{"data": [timeline_rows],
"included": [leads, locations]}``, written from one ordered query over one snapshot: each row
gives its timeline row (written to the file) and its lead object (written to a spool file that
is appended after the last timeline row), and its location id to a set; the distinct
locations follow, read by id. No lead is kept in memory after its row is written, so memory
does not grow with the number of leads (only with the number of distinct locations), and
there is no 10 000 cap.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date
from typing import IO, Any

import msgspec
import orjson

from openfeeder.domain.feeds import FeedCriterion
from openfeeder.domain.models import Location, lead_status
from openfeeder.domain.representation import LocationAttributes, industry_name
from openfeeder.store import exports as store
from openfeeder.store.db import Database
from openfeeder.store.export_rows import ExportRow, locations, stream_rows


def write_report(
    out: IO[bytes],
    db: Database,
    account_id: int,
    first: date,
    last: date,
    criteria: list[FeedCriterion],
    check: Callable[[], None] = lambda: None,
    spool: Callable[[], AbstractContextManager[IO[bytes]]] = tempfile.TemporaryFile,
) -> int:
    """Write the sample-report document to ``out``; returns the number of leads.

    ``spool`` makes the scratch file the lead objects wait in until the timeline rows are
    written (the draft's directory, for a job). ``check`` runs between batches of rows; what
    it raises ends the writing.
    """
    count = 0
    location_ids: set[str] = set()  # bounded by the distinct locations, not the leads
    dumps = orjson.dumps
    with store.snapshot(db) as conn, spool() as lead_objects:
        out.write(b'{"data":[')
        separator = b""
        for rows in stream_rows(conn, account_id, first, last, criteria):
            # One JSON array per batch (never empty), written without its brackets.
            out.write(separator)
            out.write(memoryview(dumps([timeline_row(row) for row in rows]))[1:-1])
            lead_objects.write(separator)
            lead_objects.write(memoryview(dumps([lead_object(row) for row in rows]))[1:-1])
            location_ids.update(row.location_id for row in rows)
            separator = b","
            count += len(rows)
            check()
        out.write(b'],"included":[')
        lead_objects.seek(0)
        shutil.copyfileobj(lead_objects, out)
        for location in locations(conn, location_ids):
            out.write(separator + dumps(location_object(location)))
        out.write(b"]}")
    return count


def timeline_row(row: ExportRow) -> dict[str, Any]:
    keywords = row.keywords
    if isinstance(keywords, str):  # SQLite: a JSON array in no particular order
        keywords = sorted(orjson.loads(keywords)) if keywords != "[]" else []
    return {
        "attributes": {
            "keywords": keywords or [],
            "quality": int(row.quality),
            "stats": {
                "bounces": int(row.bounces),
                "last_visit": row.last_day,
                "pageviews": int(row.pageviews),
                "visits": int(row.visits),
            },
        },
        "id": row.id,
        "relationships": {"lead": {"data": {"id": row.id, "type": "leads"}}},
        "type": "timeline_rows",
    }


def lead_object(row: ExportRow) -> dict[str, Any]:
    """The lead object of the export: the attributes of ``EXPORT_LEAD_FIELDS``, in that order,
    with the values ``LeadAttributes`` gives them; members in the seed's sample-report order.
    Spelled out as one dict display: this runs for every lead of an export
    (tests/domain/test_representation.py holds it to EXPORT_LEAD_FIELDS and the model)."""
    return {
        "attributes": {
            "first_visit_date": row.first_visit_date,
            "industry": industry_name(row.industry),
            "last_visit_date": row.last_visit_date,
            "name": row.name,
            "status": lead_status(row.assignee, row.emailed_to, row.crm_lead_id),
            "website_url": row.website_url,
            "linkedin_url": row.linkedin_url,
            "twitter_handle": row.twitter_handle,
            "facebook_url": row.facebook_url,
        },
        "id": row.id,
        "relationships": {"location": {"data": {"id": row.location_id, "type": "locations"}}},
        "type": "leads",
    }


def location_object(location: Location) -> dict[str, Any]:
    attributes = LocationAttributes.of(location)
    plain = msgspec.structs.asdict(attributes)  # orjson writes the file and knows no Struct
    return {"attributes": plain, "id": location.id, "type": attributes.TYPE}
