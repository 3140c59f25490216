"""Where finished export files live: the ``ExportFiles`` interface the export code writes,
publishes, serves and purges through, its naming rule, and ``LocalExportFiles``, the
implementation over ``<data_dir>/exports``.

The interface never hands out a place to write to directly: a report is written into a
``Draft`` that only ``publish`` turns into a downloadable file, in one step, so a download
never sees half a report. That keeps it open to an S3-compatible store to be added later (a
draft is a multipart upload or a spooled local file, publishing completes it under the final
key, purging lists and deletes keys); only ``path`` assumes a local file, and an object store
would answer a download with a pre-signed URL there instead.
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import IO, Protocol

from openfeeder.config import Settings
from openfeeder.domain.ids import new_capability

# A temporary file this old belongs to a job that died (live jobs finish or are reaped).
ORPHAN_AFTER = timedelta(hours=1)
# Names looked up in the store at once while purging.
PURGE_BATCH = 500

# What ``new_file_name`` makes: any other name is not an export file, so downloads never
# reach it and purging leaves it alone.
FILE_NAME = re.compile(r"[0-9a-f]{32}\.json")

LiveFiles = Callable[[list[str]], set[str]]
"""Which of these published names still belong to a processed, unexpired request."""


def new_file_name() -> str:
    """A published file's name: 128 random bits, the download's only key."""
    return f"{new_capability()}.json"


class Draft(Protocol):
    """A report being written; nothing of it is downloadable until ``publish``."""

    @property
    def out(self) -> IO[bytes]: ...

    def publish(self, file_name: str) -> None:
        """Make the whole of what was written downloadable as ``file_name``, at once."""
        ...

    def spool(self) -> AbstractContextManager[IO[bytes]]:
        """A scratch file for parts of the report written out of order, gone on exit."""
        ...


class ExportFiles(Protocol):
    """The store of export files that the API serves from and the jobs write to."""

    def draft(self, export_id: str) -> AbstractContextManager[Draft]:
        """A draft of this export's file; whatever was not published is gone on exit."""
        ...

    def path(self, file_name: str) -> Path | None:
        """The published file to serve for a download; None when there is none."""
        ...

    def delete(self, file_name: str) -> None:
        """Remove a published file (an attempt that lost its claim after publishing)."""
        ...

    def purge(self, live: LiveFiles, now: datetime) -> int:
        """Delete published files ``live`` does not vouch for and drafts of dead jobs, once
        they are ``ORPHAN_AFTER`` old; returns how many went.

        Younger files are kept whatever ``live`` says: they may belong to a job between its
        publish and its commit, or still be written.
        """
        ...


def make_export_files(settings: Settings) -> ExportFiles:
    """The export files of these settings, for the API and for every job process alike."""
    return LocalExportFiles(settings.data_dir / "exports")


class _LocalDraft:
    def __init__(self, directory: Path, temporary: Path, out: IO[bytes]) -> None:
        self._directory = directory
        self._temporary = temporary
        self._out = out

    @property
    def out(self) -> IO[bytes]:
        return self._out

    def publish(self, file_name: str) -> None:
        self._out.flush()
        os.fsync(self._out.fileno())
        # A rename within one directory is atomic: the final name appears only once the
        # file is complete (and on disk, so a crash cannot leave a truncated one).
        self._temporary.replace(self._directory / file_name)

    def spool(self) -> AbstractContextManager[IO[bytes]]:
        # Beside the draft, on the same disk (not a tmpfs /tmp); nameless, so it leaves
        # nothing behind even when the process dies.
        return tempfile.TemporaryFile(dir=self._directory, buffering=1 << 16)


class LocalExportFiles:
    """Export files in one local directory (shared by every process of the deployment).

    Drafts are ``.<export id>.<random>.part`` beside the published ``<capability>.json``
    files; anything else in the directory is left alone.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @contextmanager
    def _draft(self, export_id: str) -> Iterator[Draft]:
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.directory / f".{export_id}.{secrets.token_hex(4)}.part"
        try:
            with temporary.open("wb", buffering=1 << 16) as out:
                yield _LocalDraft(self.directory, temporary, out)
        finally:
            temporary.unlink(missing_ok=True)

    def draft(self, export_id: str) -> AbstractContextManager[Draft]:
        return self._draft(export_id)

    def path(self, file_name: str) -> Path | None:
        if not FILE_NAME.fullmatch(file_name):
            return None
        path = self.directory / file_name
        return path if path.is_file() else None

    def delete(self, file_name: str) -> None:
        if FILE_NAME.fullmatch(file_name):
            (self.directory / file_name).unlink(missing_ok=True)

    def purge(self, live: LiveFiles, now: datetime) -> int:
        # Walks the directory (bounded by the files of the last ``export_ttl_days``) rather
        # than the requests table, which only grows.
        if not self.directory.is_dir():
            return 0
        removed = 0
        cutoff = (now - ORPHAN_AFTER).timestamp()
        with os.scandir(self.directory) as entries:
            while batch := list(islice(entries, PURGE_BATCH)):
                names = {entry.name for entry in batch if FILE_NAME.fullmatch(entry.name)}
                kept = live(sorted(names)) if names else set()
                for entry in batch:
                    ours = entry.name in names or entry.name.endswith(".part")
                    if ours and entry.name not in kept and _modified(entry) < cutoff:
                        Path(entry.path).unlink(missing_ok=True)
                        removed += 1
        return removed


def _modified(entry: os.DirEntry[str]) -> float:
    try:
        return entry.stat().st_mtime
    except FileNotFoundError:  # deleted meanwhile by another worker's purge
        return float("inf")
