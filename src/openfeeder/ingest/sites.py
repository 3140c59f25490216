"""Which account a script hash belongs to, cached in memory so a tracker hit costs no
database read: known hashes for a minute, unknown ones (probes, deleted accounts) briefly."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool

from openfeeder.store import accounts as store
from openfeeder.store.db import Database

KNOWN_TTL = 60.0
UNKNOWN_TTL = 10.0
MAX_ENTRIES = 50_000


class Sites:
    def __init__(self, db: Database, clock: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.clock = clock
        self._cache: dict[str, tuple[int | None, float]] = {}
        self._lock = threading.Lock()

    def cached(self, script_hash: str) -> tuple[bool, int | None]:
        """(whether the answer is cached, the account id or None for an unknown hash)."""
        entry = self._cache.get(script_hash)
        if entry is None or entry[1] < self.clock():
            return False, None
        return True, entry[0]

    def lookup(self, script_hash: str) -> int | None:
        """The account id for a script hash (reading the store on a cache miss)."""
        hit, account_id = self.cached(script_hash)
        if hit:
            return account_id
        with self.db.read() as conn:
            account = store.account_by_script(conn, script_hash)
        account_id = account.id if account else None
        ttl = KNOWN_TTL if account_id is not None else UNKNOWN_TTL
        with self._lock:
            if len(self._cache) >= MAX_ENTRIES:
                self._cache.clear()  # a flood of made-up hashes must not grow memory forever
            self._cache[script_hash] = (account_id, self.clock() + ttl)
        return account_id

    async def account_id(self, script_hash: str) -> int | None:
        """``lookup`` for the event loop: the store is read in a worker thread, only on a miss."""
        hit, account_id = self.cached(script_hash)
        if hit:
            return account_id
        return await run_in_threadpool(self.lookup, script_hash)
