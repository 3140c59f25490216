"""IP databases that follow their file: a running ``serve`` or ``worker`` picks up a database
that ``openfeeder geoip update`` (or anything else) replaced, without a restart.

``Reloading`` looks at the file's inode, size and modification time at most every
``CHECK_SECONDS``; when they changed it opens the new file beside the old one, switches
lookups to it and closes the old reader once no lookup in flight still uses it. A new file
that does not open is logged and the old one kept. A file that is not there yet (the
downloaded default before the first update) answers nothing until it appears.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from openfeeder.config import Settings
from openfeeder.domain.errors import OpenfeederError
from openfeeder.domain.models import Location
from openfeeder.identify.asn import AsnClassifier, AsnDatabase, AsnRecord
from openfeeder.identify.databases import database_path
from openfeeder.identify.geo import UNKNOWN_LOCATION, CityDatabase
from openfeeder.identify.ranges import IPAddress

log = logging.getLogger(__name__)

CHECK_SECONDS = 5.0


class _Closable(Protocol):
    def close(self) -> None: ...


R = TypeVar("R", bound=_Closable)
T = TypeVar("T")
Signature = tuple[int, int, int, int]  # device, inode, size, mtime in ns


def _signature(path: Path) -> Signature | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class _Held(Generic[R]):
    __slots__ = ("reader", "retired", "signature", "users")

    def __init__(self, reader: R, signature: Signature | None) -> None:
        self.reader = reader
        self.signature = signature
        self.users = 0
        self.retired = False


class Reloading(Generic[R]):
    """A reader of ``path`` that reopens the file when it is replaced; thread-safe."""

    def __init__(
        self, path: Path, opener: Callable[[Path], R], *, required: bool, what: str
    ) -> None:
        self.path = path
        self._open = opener
        self._what = what
        self._lock = threading.Lock()  # guards _current and the users counts
        self._reloading = threading.Lock()  # one reopen at a time; lookups never wait on it
        self._current: _Held[R] | None = None
        self._failed: Signature | None = None  # a new file that did not open (logged once)
        self._next_check = 0.0
        self._closed = False
        signature = _signature(path)
        if signature is not None or required:
            # Opened now, so a broken file at start-up stops the process with one line.
            self._current = _Held(opener(path), signature)
        self._next_check = time.monotonic() + CHECK_SECONDS

    @property
    def loaded(self) -> bool:
        return self._current is not None

    def acquire(self) -> _Held[R] | None:
        """The reader for one lookup, counted as in use until ``release``; None while there
        is no file. (Two calls rather than a context manager: lookups are hot.)"""
        if time.monotonic() >= self._next_check:
            self.check()
        with self._lock:
            held = self._current
            if held is not None:
                held.users += 1
            return held

    def release(self, held: _Held[R] | None) -> None:
        if held is None:
            return
        with self._lock:
            held.users -= 1
            last = held.retired and held.users == 0
        if last:
            held.reader.close()

    @contextmanager
    def reader(self) -> Iterator[R | None]:
        """The reader to use for one lookup (None while there is no file)."""
        held = self.acquire()
        try:
            yield held.reader if held is not None else None
        finally:
            self.release(held)

    def check(self) -> bool:
        """Reopen the file if it changed; True when lookups now use a new reader."""
        if not self._reloading.acquire(blocking=False):
            return False  # another thread is reopening it
        try:
            self._next_check = time.monotonic() + CHECK_SECONDS
            if self._closed:
                return False
            signature = _signature(self.path)
            current = self._current
            if signature is None or signature == (current.signature if current else None):
                return False
            if signature == self._failed:
                return False
            try:
                reader = self._open(self.path)
            except OpenfeederError as error:
                self._failed = signature
                log.warning("keeping the %s database in use: %s", self._what, error)
                return False
            self._swap(_Held(reader, signature))
            log.info("reloaded the %s database from %s", self._what, self.path)
            return True
        finally:
            self._reloading.release()

    def _swap(self, new: _Held[R] | None) -> None:
        with self._lock:
            old, self._current = self._current, new
            idle = old is not None and old.users == 0
            if old is not None:
                old.retired = True
        if old is not None and idle:
            old.reader.close()

    def close(self) -> None:
        """Close the reader now, or when the last lookup in flight ends; idempotent."""
        with self._reloading:
            self._closed = True
            self._swap(None)


class _Follower(Generic[R]):
    """A database that follows its file; the subclasses add the lookup."""

    def __init__(self, path: Path, opener: Callable[[Path], R], *, required: bool, what: str):
        self.file = Reloading(path, opener, required=required, what=what)

    def _use(self, use: Callable[[R], T], default: T) -> T:
        held = self.file.acquire()
        if held is None:
            return default
        try:
            return use(held.reader)
        finally:
            self.file.release(held)

    def close(self) -> None:
        self.file.close()


class ReloadingAsn(_Follower[AsnDatabase]):
    """``AsnLookup`` over a replaceable ASN database file."""

    def __init__(
        self, path: Path, *, required: bool, classifier: AsnClassifier | None = None
    ) -> None:
        def opener(file: Path) -> AsnDatabase:
            return AsnDatabase(file, classifier)

        super().__init__(path, opener, required=required, what="ASN")

    def lookup(self, address: IPAddress) -> AsnRecord | None:
        return self._use(lambda database: database.lookup(address), None)


class ReloadingCity(_Follower[CityDatabase]):
    """``Locator`` over a replaceable City database file."""

    def __init__(self, path: Path, *, required: bool) -> None:
        super().__init__(path, CityDatabase, required=required, what="City")

    def locate(self, address: IPAddress) -> Location:
        return self._use(lambda database: database.locate(address), UNKNOWN_LOCATION)


def open_asn(settings: Settings, classifier: AsnClassifier | None = None) -> ReloadingAsn:
    """The ASN database the settings name (which must open), else the downloaded one,
    classified by ``classifier`` (default: the bundled rules alone)."""
    return ReloadingAsn(
        database_path(settings, "asn"),
        required=settings.asn_mmdb is not None,
        classifier=classifier,
    )


def open_city(settings: Settings) -> ReloadingCity:
    """The City database the settings name (which must open), else the downloaded one."""
    return ReloadingCity(database_path(settings, "city"), required=settings.city_mmdb is not None)
