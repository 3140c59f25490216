"""Turning result rows into domain records; shared by every query module."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

import sqlalchemy as sa

from openfeeder.domain.models import Company, Location
from openfeeder.store import schema as t


def location_from_row(row: Mapping[Any, Any], prefix: str = "") -> Location:
    return Location(**{c.name: row[prefix + c.name] for c in t.locations.c})


# The companies columns a Company is made of (not updated_at, field_sources, profile).
COMPANY_FIELDS = tuple(f.name for f in fields(Company))


def company_from_row(row: Mapping[Any, Any], prefix: str = "") -> Company:
    return Company(**{name: row[prefix + name] for name in COMPANY_FIELDS})


def company_columns(prefix: str) -> list[sa.ColumnElement[Any]]:
    """The columns of a Company, labelled with ``prefix`` (see ``prefixed``)."""
    return [t.companies.c[name].label(prefix + name) for name in COMPANY_FIELDS]


def prefixed(table: sa.Table, prefix: str) -> list[sa.ColumnElement[Any]]:
    """All columns of ``table`` labelled with ``prefix`` so joined rows keep them apart."""
    return [c.label(prefix + c.name) for c in table.c]
