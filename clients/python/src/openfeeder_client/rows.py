"""Flat rows: each model as a ``dict`` of plain values (str, int, float, bool, None), ready for
``csv.DictWriter``, ``json.dumps`` or ``pandas.DataFrame`` — without depending on pandas.

Columns are stable for a type: every attribute the API documents, in its order, whether or
not the server sent it (so rows of one list line up), then the location's as ``location_*``,
then any attributes only the server knows (``extra``). Dates are ISO strings, lists of names
are joined with ``"; "``, a visit's route with ``" > "``; anything else nested is JSON.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from openfeeder_client.models import (
    Account,
    Criterion,
    CustomFeed,
    ExportRow,
    Lead,
    Location,
    RouteStep,
    Visit,
)

__all__ = [
    "Row",
    "Scalar",
    "account_row",
    "export_row",
    "feed_row",
    "lead_row",
    "to_row",
    "to_rows",
    "visit_row",
]

Scalar = str | int | float | bool | None
Row = dict[str, Scalar]
Model = Account | CustomFeed | Lead | Visit | ExportRow


def account_row(account: Account) -> Row:
    row: Row = {"id": account.id}
    row |= {name: _scalar(getattr(account, name)) for name in Account.FIELDS}
    return row | _extra(account.extra, row)


def feed_row(feed: CustomFeed) -> Row:
    row: Row = {"id": feed.id, "name": feed.name, "criteria": _scalar(feed.criteria)}
    return row | _extra(feed.extra, row)


def lead_row(lead: Lead) -> Row:
    row: Row = {"id": lead.id}
    for name in Lead.FIELDS:
        if name == "employees_range":
            span = lead.employees_range
            row["employees_range_min"] = span.min if span else None
            row["employees_range_max"] = span.max if span else None
        else:
            row[name] = _scalar(getattr(lead, name))
    row |= _location(lead.location)
    return row | _extra(lead.extra, row)


def visit_row(visit: Visit) -> Row:
    row: Row = {"id": visit.id}
    row |= {name: _scalar(getattr(visit, name)) for name in Visit.FIELDS}
    row |= _location(visit.location)
    return row | _extra(visit.extra, row)


def export_row(item: ExportRow) -> Row:
    """The row's lead (as ``lead_row``), with the interval's quality, keywords and stats."""
    row = lead_row(item.lead)
    row["quality"] = item.quality
    row["keywords"] = _scalar(item.keywords)
    stats = item.stats
    row |= {
        "stats_visits": stats.visits,
        "stats_pageviews": stats.pageviews,
        "stats_bounces": stats.bounces,
        "stats_last_visit": _scalar(stats.last_visit),
    }
    row |= _extra({f"stats_{k}": v for k, v in stats.extra.items()}, row)
    return row | _extra(item.extra, row)


def to_row(item: Model) -> Row:
    """The row of any model that has one."""
    match item:
        case Account():
            return account_row(item)
        case CustomFeed():
            return feed_row(item)
        case Lead():
            return lead_row(item)
        case Visit():
            return visit_row(item)
        case ExportRow():
            return export_row(item)
    raise TypeError(f"no row for {type(item).__name__}")


def to_rows(items: Iterable[Model]) -> Iterator[Row]:
    """Rows of the items, lazily: ``pandas.DataFrame(to_rows(client.leads(...)))``."""
    return (to_row(item) for item in items)


def _location(location: Location | None) -> Row:
    row: Row = {"location_id": location.id if location else None}
    for name in Location.FIELDS:
        row[f"location_{name}"] = getattr(location, name) if location else None
    return row


def _extra(extra: Mapping[str, Any], taken: Row) -> Row:
    """Attributes only the server knows, renamed ``extra_<name>`` should one clash."""
    return {(f"extra_{k}" if k in taken else k): _scalar(v) for k, v in extra.items()}


def _scalar(value: Any) -> Scalar:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dt.date):  # datetimes too
        return value.isoformat()
    if isinstance(value, list) and all(isinstance(v, Criterion) for v in value):
        return "; ".join(str(v) for v in value)
    if isinstance(value, list) and all(isinstance(v, RouteStep) for v in value):
        return " > ".join(step.display_page_name or step.page_path or "" for step in value)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return "; ".join(str(v) for v in value)
    return json.dumps(value, default=str, sort_keys=True)
