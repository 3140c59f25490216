"""The store handle services use: short read and write transactions on one engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from openfeeder.store.engine import create_engine, migrate


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
    def write(self) -> Iterator[sa.Connection]:
        with self.engine.begin() as conn:
            yield conn

    def migrate(self) -> None:
        migrate(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()
