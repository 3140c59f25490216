"""What every surface is given: the settings, the store and the outside parts the use cases
need (rate limiter, job queue, ingest, pipeline, resolver chain), built once by
``openfeeder.app.build_services``."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from openfeeder.config import Settings
from openfeeder.domain.clock import SYSTEM_CLOCK, Clock
from openfeeder.identify import Identifier, make_identifier
from openfeeder.ratelimit import Limit, RateLimiter
from openfeeder.services.exports import ExportFiles
from openfeeder.store.db import Database


@dataclass
class Services:
    settings: Settings
    db: Database
    limiter: RateLimiter
    api_limit: Limit
    export_limit: Limit
    queue: Any
    export_files: ExportFiles
    # The tracker surface and the pipeline; None where a process runs neither.
    ingest: Any = None
    pipeline: Any = None
    # The alert delivery loop (``services.alerts.Deliverer``); None where a process runs none.
    alerts: Any = None
    clock: Clock = SYSTEM_CLOCK
    _identifier: Identifier | None = None
    _identifier_lock: threading.Lock = field(default_factory=threading.Lock)

    def identifier(self) -> Identifier:
        """The resolver chain, shared by the pipeline and /ip-enrich. Built on first use:
        it opens the MMDB files and loads the public suffix list."""
        with self._identifier_lock:
            if self._identifier is None:
                self._identifier = make_identifier(self.settings, clock=self.clock)
            return self._identifier

    def close_identifier(self) -> None:
        with self._identifier_lock:
            if self._identifier is not None:
                self._identifier.close()
                self._identifier = None
