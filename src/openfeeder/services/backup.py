"""Backups of a SQLite store and restoring one (``openfeeder backup`` / ``restore``): the
copy is taken online while ``serve`` writes; a restore checks the backup before it replaces
anything and keeps the replaced store beside it. PostgreSQL is backed up with its own tools
(``pg_dump``, WAL archiving: docs/operations.md#backups), so both refuse it."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from openfeeder.domain.clock import Clock
from openfeeder.domain.errors import OpenfeederError
from openfeeder.store import backup as files
from openfeeder.store.backup import StoreFile
from openfeeder.store.revision import UnknownRevision

__all__ = ["BackupError", "Restored", "StoreFile", "backup", "restore"]

POSTGRES = (
    "the store is PostgreSQL: use pg_dump -Fc and pg_restore (and WAL archiving for "
    "point-in-time recovery), see docs/operations.md#backups"
)


class BackupError(OpenfeederError):
    """A backup or restore that was refused or failed; the message is one line."""


def _store_file(database_url: str) -> Path:
    try:
        path = files.sqlite_path(database_url)
    except ValueError as error:
        raise BackupError(str(error)) from None
    if path is None:
        raise BackupError(POSTGRES)
    return path


def backup(database_url: str, target: Path, *, force: bool = False) -> StoreFile:
    """Copy the configured SQLite store to ``target``, consistently, while it is in use.
    ``target`` is replaced only with ``force``; it appears whole or not at all."""
    source = _store_file(database_url)
    if not source.exists():
        raise BackupError(f"there is no store at {source}")
    if target.is_dir():
        raise BackupError(f"{target} is a directory; give the backup's file name")
    if target.exists() and not force:
        raise BackupError(f"{target} exists; give --force to replace it")
    if not target.parent.is_dir():
        raise BackupError(f"the directory {target.parent} does not exist")
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    partial.unlink(missing_ok=True)
    try:
        files.copy_online(source, partial)
        written = check(partial)  # a backup that exists is one `restore` accepts
        partial.replace(target)  # atomic: a reader sees the old backup or the new one
    finally:
        partial.unlink(missing_ok=True)
    return StoreFile(target, written.size, written.schema, written.newest_hit, written.hits)


def check(path: Path) -> StoreFile:
    """What the backup at ``path`` holds, or ``BackupError`` (one line) when it is missing,
    not a sound SQLite file, not openfeeder's, or from a newer openfeeder."""
    if not path.is_file():
        raise BackupError(f"no backup file at {path}")
    problem = files.integrity_problem(path)
    if problem is not None:
        raise BackupError(f"{path} fails SQLite's integrity check: {problem}")
    try:
        found = files.describe(path)
    except UnknownRevision as error:
        raise BackupError(f"{path} cannot be restored: {error}") from None
    except files.NotAStore as error:
        raise BackupError(f"{path} is not an openfeeder store: {error}") from None
    return found


@dataclass(frozen=True)
class Restored:
    backup: StoreFile
    store: Path
    set_aside: Path | None  # where the replaced store was kept; None: there was none


def restore(database_url: str, source: Path, clock: Clock, *, force: bool = False) -> Restored:
    """Replace the configured SQLite store with the backup at ``source`` once it checks
    out; the replaced store is renamed ``<store>.before-restore-<UTC time>``. Refused while
    another process has the store open, unless ``force``."""
    store = _store_file(database_url)
    found = check(source)
    if store.resolve() == source.resolve():
        raise BackupError(f"{source} is the configured store itself")
    if not store.parent.is_dir():
        raise BackupError(f"the store's directory {store.parent} does not exist")
    if not force and files.in_use(store):
        raise BackupError(
            f"the store {store} is open in another process: stop serve and worker first "
            "(or give --force)"
        )
    incoming = store.with_name(f".{store.name}.restoring-{os.getpid()}")
    try:
        shutil.copyfile(source, incoming)
        with incoming.open("rb") as copied:
            os.fsync(copied.fileno())
        aside = files.set_aside(store, f".before-restore-{_stamp(clock.now())}")
        incoming.replace(store)
    finally:
        incoming.unlink(missing_ok=True)
    return Restored(found, store, aside)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")
