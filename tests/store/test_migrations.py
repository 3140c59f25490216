"""The Alembic migrations build exactly the tables ``store/schema.py`` defines, on both
backends, and every migration can be undone and redone."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from openfeeder.store.db import Database
from openfeeder.store.engine import alembic_config
from openfeeder.store.schema import metadata


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
