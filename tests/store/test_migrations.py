"""The Alembic migrations build exactly the tables ``store/schema.py`` defines, on both
backends, and every migration can be undone and redone."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from openfeeder.store import schema as t
from openfeeder.store.db import Database
from openfeeder.store.engine import alembic_config
from openfeeder.store.schema import metadata
from tests.support.factories import Builder


def differences(db: Database) -> list[object]:
    with db.engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))


def test_migrated_schema_equals_the_table_definitions(db: Database) -> None:
    assert differences(db) == []


def test_every_migration_downgrades_and_upgrades_again(db: Database) -> None:
    config = alembic_config(db.engine)
    command.downgrade(config, "base")
    with db.engine.connect() as conn:
        assert set(db.engine.dialect.get_table_names(conn)) <= {"alembic_version"}
    command.upgrade(config, "head")
    assert differences(db) == []


def test_0007_backfills_the_last_visit_time_of_each_lead_day(db: Database) -> None:
    builder = Builder(db)
    account = builder.account(builder.user())
    builder.visits(account, builder.companies(5), per_company=4, days=3, seed=7)
    stats = t.lead_day_stats
    columns = [stats.c.lead_pk, stats.c.day, stats.c.last_visit_at]
    with db.read() as conn:
        recorded = conn.execute(sa.select(*columns).order_by(stats.c.lead_pk, stats.c.day)).all()
        latest = conn.execute(
            sa.select(t.visits.c.lead_pk, t.visits.c.date, sa.func.max(t.visits.c.started_at))
            .group_by(t.visits.c.lead_pk, t.visits.c.date)
            .order_by(t.visits.c.lead_pk, t.visits.c.date)
        ).all()
    assert recorded == latest
    assert len(recorded) > 5
    config = alembic_config(db.engine)
    command.downgrade(config, "0006")
    command.upgrade(config, "head")
    with db.read() as conn:
        backfilled = conn.execute(sa.select(*columns).order_by(stats.c.lead_pk, stats.c.day)).all()
    assert backfilled == recorded


def test_0012_adds_the_hidden_flag_without_touching_leads_or_their_visits(db: Database) -> None:
    builder = Builder(db)
    account = builder.account(builder.user())
    builder.visits(account, builder.companies(3), per_company=2, seed=3)
    tables = (t.leads, t.visits, t.lead_day_stats)
    with db.read() as conn:
        counts = [conn.execute(sa.select(sa.func.count()).select_from(x)).scalar() for x in tables]
    config = alembic_config(db.engine)
    command.downgrade(config, "0011")
    command.upgrade(config, "head")
    with db.read() as conn:
        again = [conn.execute(sa.select(sa.func.count()).select_from(x)).scalar() for x in tables]
        hidden = conn.execute(sa.select(t.leads.c.hidden).distinct()).scalars().all()
    assert again == counts == [3, 6, counts[2]]
    assert hidden == [False]
