"""SQLite store files: a consistent online copy (SQLite's backup API), checking a copy
(integrity, schema revision, newest hit) and telling whether another process has a store
open. What to do with them (refusals, where the old file goes) is ``services.backup``'s."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from openfeeder.store import schema as t
from openfeeder.store.revision import SchemaState, refuse_unknown


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for another backend. An in-memory store has none."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise ValueError("an in-memory SQLite store has no file")
    return Path(parsed.database)


def copy_online(source: Path, target: Path) -> None:
    """Write a consistent copy of the store at ``source`` to ``target`` (which must not
    exist) while other processes go on writing to it.

    One step of SQLite's online backup API (``pages=-1``): the copy is made inside a single
    read transaction, so it is the store as of one commit; in WAL mode writers carry on
    meanwhile (they append to the WAL, which this reader does not see). A step-by-step backup
    would restart whenever another connection writes, which under steady tracker load might
    never finish. The copy is then switched to a rollback journal, so it is one
    self-contained file (no ``-wal`` beside it) that opens read-only anywhere.
    """
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
            dst.commit()
        finally:
            dst.close()
    finally:
        src.close()
    with target.open("rb") as written:
        os.fsync(written.fileno())


def integrity_problem(path: Path) -> str | None:
    """Why the SQLite file at ``path`` is not sound (the first problem ``PRAGMA
    integrity_check`` finds, or that it is not a database at all); None when it is."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        return str(error)
    found = [str(row[0]) for row in rows]
    return None if found == ["ok"] else found[0]


@dataclass(frozen=True)
class StoreFile:
    """What a store file holds, as ``backup`` and ``restore`` report it."""

    path: Path
    size: int
    schema: SchemaState
    newest_hit: datetime | None
    hits: int


class NotAStore(Exception):
    """A SQLite file without openfeeder's tables."""


def describe(path: Path) -> StoreFile:
    """The file's size, schema revision and newest tracker hit, read without writing to it;
    ``UnknownRevision`` when a newer openfeeder migrated it, ``NotAStore`` when openfeeder
    never migrated it."""
    engine = sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        schema = refuse_unknown(engine)
        if schema.current is None:
            raise NotAStore("it has no schema revision")
        with engine.connect() as conn:
            newest, count = conn.execute(
                sa.select(sa.func.max(t.hits.c.received_at), sa.func.count()).select_from(t.hits)
            ).one()
    except sa.exc.DatabaseError as error:
        raise NotAStore(str(error.orig).splitlines()[0]) from None
    finally:
        engine.dispose()
    if isinstance(newest, str):  # SQLite returns an aggregate's value untyped
        newest = datetime.fromisoformat(newest)
    if newest is not None and newest.tzinfo is None:
        newest = newest.replace(tzinfo=UTC)
    return StoreFile(path, path.stat().st_size, schema, newest, int(count))


# Where SQLite's unix VFS keeps the "dead man switch" lock of a WAL store's shared-memory
# file (``-shm``): every connection holds a shared lock on this byte while it has the store
# open. SQLite offers no call that asks whether other processes have a file open, so this
# asks the way SQLite itself does when it opens the file (a non-blocking exclusive lock
# there succeeds only for the first and only user).
_SHM_DMS_OFFSET = 120 + 8


def in_use(path: Path) -> bool:
    """Whether another process has the WAL store at ``path`` open (``serve``, ``worker``).
    False where that cannot be told (no ``-shm`` file, or no POSIX locks here). A lock taken
    by this very process never conflicts with itself, so call it with the store closed."""
    shm = path.with_name(path.name + "-shm")
    try:
        import fcntl
    except ImportError:  # not a POSIX system: cannot tell
        return False
    try:
        fd = os.open(shm, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _SHM_DMS_OFFSET)
        except OSError:
            return True
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, _SHM_DMS_OFFSET)
        return False
    finally:
        os.close(fd)


def set_aside(path: Path, suffix: str) -> Path | None:
    """Rename the store at ``path`` (and its ``-wal``, which holds commits not yet copied
    into the file, so it moves with it under the matching name) to ``path`` + ``suffix``;
    the ``-shm`` index is rebuilt from them and removed. None when there is no store."""
    if not path.exists():
        return None
    aside = path.with_name(path.name + suffix)
    path.rename(aside)
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        wal.rename(aside.with_name(aside.name + "-wal"))
    with contextlib.suppress(FileNotFoundError):
        path.with_name(path.name + "-shm").unlink()
    return aside
