"""What a handler gets: the services, the asking user, parameters and fieldsets."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, quote_from_bytes

from starlette.requests import Request

from openfeeder.api.jsonapi import Fieldsets
from openfeeder.domain.models import Account, User
from openfeeder.services import access
from openfeeder.services.container import Services
from openfeeder.services.urls import public_base_url
from openfeeder.store.db import Database

# RFC 3986 path characters, and "%" so that escapes already in the path stay as they are.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"


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

    @property
    def path_as_sent(self) -> str:
        """The request path percent-encoded as the client sent it, for links: the decoded path
        may hold characters that a URI cannot (links built from it would be invalid)."""
        raw = self.request.scope.get("raw_path")
        if not isinstance(raw, bytes):
            return quote(self.request.url.path, safe=_PATH_SAFE)
        return quote_from_bytes(raw.split(b"?", 1)[0], safe=_PATH_SAFE)

    def url(self, path: str) -> str:
        return self.base_url + path

    def account(self, account_id: str, *, premium: bool = False) -> Account:
        account = access.account_for(self.db, self.user, account_id)
        if premium:
            access.require_premium(account)
        return account
