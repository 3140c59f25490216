"""Company firmographics: insert or update in place by id."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, fields

import sqlalchemy as sa

from openfeeder.domain.models import Company
from openfeeder.store import schema as t
from openfeeder.store.accounts import now
from openfeeder.store.upsert import insert_or_update


def upsert_companies(conn: sa.Connection, companies: Sequence[Company]) -> None:
    stamp = now()
    rows = [asdict(c) | {"updated_at": stamp} for c in companies]
    columns = [f.name for f in fields(Company) if f.name != "id"] + ["updated_at"]
    insert_or_update(conn, t.companies, rows, ["id"], columns)
