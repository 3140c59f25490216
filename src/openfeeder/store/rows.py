"""Turning result rows into domain records; shared by every query module."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from openfeeder.domain.models import Company, Location
from openfeeder.store import schema as t


def location_from_row(row: Mapping[Any, Any], prefix: str = "") -> Location:
    return Location(**{c.name: row[prefix + c.name] for c in t.locations.c})


def company_from_row(row: Mapping[Any, Any], prefix: str = "") -> Company:
    names = [c.name for c in t.companies.c if c.name != "updated_at"]
    return Company(**{name: row[prefix + name] for name in names})


def prefixed(table: sa.Table, prefix: str) -> list[sa.ColumnElement[Any]]:
    """All columns of ``table`` labelled with ``prefix`` so joined rows keep them apart."""
    return [c.label(prefix + c.name) for c in table.c]
