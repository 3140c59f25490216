"""What a handler gets: the services, the asking user, parameters and fieldsets."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from openfeeder.api.jsonapi import Fieldsets
from openfeeder.api.ratelimit import Limit, RateLimiter
from openfeeder.config import Settings
from openfeeder.domain.clock import SYSTEM_CLOCK, Clock
from openfeeder.domain.models import Account, User
from openfeeder.identify import Identifier, make_identifier
from openfeeder.services import access
from openfeeder.services.exports import ExportFiles
from openfeeder.services.urls import public_base_url
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


@dataclass
class Context:
    request: Request
    services: Services
    user_or_none: User | None
    params: dict[str, str]
    fields: Fieldsets

    @property
    def user(self) -> User:
        assert self.user_or_none is not None, "route declared without token auth"
        return self.user_or_none

    @property
    def db(self) -> Database:
        return self.services.db

    @property
    def base_url(self) -> str:
        return public_base_url(self.services.settings, str(self.request.base_url))

    def url(self, path: str) -> str:
        return self.base_url + path

    def account(self, account_id: str, *, premium: bool = False) -> Account:
        account = access.account_for(self.db, self.user, account_id)
        if premium:
            access.require_premium(account)
        return account
