"""Which schema revision a store is at, against the revisions this build knows: what
``/readyz`` reports and what ``serve``, ``worker`` and ``migrate`` check before touching a store
(one migrated by a newer openfeeder is refused, never written to)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from openfeeder import __version__
from openfeeder.domain.errors import OpenfeederError
from openfeeder.store.engine import MIGRATIONS, alembic_config


class UnknownRevision(OpenfeederError):
    """The store is at a schema revision this build does not have: a newer openfeeder
    migrated it (or it is not openfeeder's)."""


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(sa.create_engine("sqlite://")))


def head() -> str:
    """The newest revision this build's migrations reach."""
    revision = _scripts().get_current_head()
    assert revision is not None, f"no migrations in {MIGRATIONS}"
    return revision


def known(revision: str) -> bool:
    try:
        return _scripts().get_revision(revision) is not None
    except CommandError:  # alembic's answer for a revision its scripts do not have
        return False


@dataclass(frozen=True)
class SchemaState:
    current: str | None  # None: an empty store, or one never migrated
    head: str

    @property
    def at_head(self) -> bool:
        return self.current == self.head

    @property
    def known(self) -> bool:
        return self.current is None or known(self.current)


def state(engine: sa.Engine) -> SchemaState:
    """The store's revision (one short read) and this build's head."""
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return SchemaState(current, head())


def refuse_unknown(engine: sa.Engine) -> SchemaState:
    """The store's state, or ``UnknownRevision`` (one line) when this build cannot run on it."""
    found = state(engine)
    if not found.known:
        raise UnknownRevision(
            f"the database is at schema revision {found.current}, which openfeeder {__version__} "
            f"does not know (its newest is {found.head}): it was migrated by a newer "
            "openfeeder; run that version, or restore a backup taken before the upgrade"
        )
    return found
