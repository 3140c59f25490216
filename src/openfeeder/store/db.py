"""The store handle services use: short read and write transactions on one engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from openfeeder.store.engine import create_engine, migrate
from openfeeder.store.revision import refuse_unknown


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as raw:
            conn = raw.execution_options(readonly=True)
            with conn.begin():
                yield conn

    @contextmanager
    def deferred(self) -> Iterator[sa.Connection]:
        """A transaction that mostly reads and may end with a small write: on SQLite it takes
        the write lock only at its first write (not at BEGIN), so slow work inside it does not
        block other writers. The price: if another writer committed meanwhile, that first
        write fails ("database is locked"), so use it only for work that may be redone."""
        with self.engine.connect() as raw:
            conn = raw.execution_options(deferred=True)
            with conn.begin():
                yield conn

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        with self.engine.begin() as conn:
            yield conn

    def migrate(self) -> None:
        """Bring the schema to this build's head; a store migrated by a newer openfeeder is
        refused (``UnknownRevision``) before anything is written."""
        refuse_unknown(self.engine)
        migrate(self.engine)

    def refuse_unknown(self) -> None:
        """``UnknownRevision`` unless this build knows the store's schema revision."""
        refuse_unknown(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()
