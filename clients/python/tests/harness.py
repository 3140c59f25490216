"""What the client's tests share besides fixtures: a sync transport into the real app, the
app as the tests see it, a fake clock, and the shape of the shared dataset."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal
from starlette.applications import Starlette

from openfeeder.config import Settings
from openfeeder.domain.models import Account
from openfeeder.services.container import Services
from openfeeder_client import Client

# The shared dataset's visits are in January 2026.
FIRST, LAST = date(2026, 1, 1), date(2026, 1, 31)


class InProcessTransport(httpx.BaseTransport):
    """A sync httpx transport into an ASGI app: each request goes through httpx's own
    ``ASGITransport`` (which is async only) on an event loop in a portal thread.

    Like a real server, it answers a crash with the app's 500 instead of raising it here.
    """

    def __init__(self, app: Starlette, portal: BlockingPortal) -> None:
        self._asgi = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        forwarded = httpx.Request(
            request.method, request.url, headers=request.headers, content=request.read()
        )
        status, headers, content = self._portal.call(self._send, forwarded)
        return httpx.Response(status, headers=headers, content=content, request=request)

    async def _send(self, request: httpx.Request) -> tuple[int, httpx.Headers, bytes]:
        response = await self._asgi.handle_async_request(request)
        content = b"".join([chunk async for chunk in response.aiter_raw()])
        await response.aclose()
        return response.status_code, response.headers, content


@contextmanager
def in_process(app: Starlette) -> Iterator[InProcessTransport]:
    """A transport into ``app``, with the app's lifespan run around it as a server would."""
    lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]] = app.router.lifespan_context
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(lifespan(app)):
        yield InProcessTransport(app, portal)


class Recording(httpx.BaseTransport):
    """Passes requests on to a real transport and keeps them, to see what the client sent."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.inner.handle_request(request)


@dataclass
class App:
    """The real app in-process, its services, and the base URL its clients use."""

    services: Services
    transport: httpx.BaseTransport
    base_url: str = "http://openfeeder.test"

    def client(self, token: str, **options: Any) -> Client:
        return Client(token, self.base_url, transport=self.transport, **options)

    def run_jobs(self, _seconds: float = 0) -> None:
        """A ``sleep`` for clients: run the queued jobs instead of waiting for them."""
        self.services.queue.run_pending()


@dataclass
class FakeClock:
    """Wall-clock time that moves only when someone sleeps on it; it starts 1.5 s into a
    UTC minute. Give ``clock`` and ``clock.sleep`` to the client and to the server's limiter."""

    now: float = 1_800_000_001.5
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@dataclass
class Dataset:
    """One user (``token``) in a premium account with 57 leads — 50 in Helsinki, 7 in
    Boston — of two visits each in January 2026, and a custom feed ``finland`` of the
    Helsinki ones; the user's lite account, and an account of someone else."""

    settings: Settings
    token: str
    premium: Account
    lite: Account
    foreign: Account
    finland: str
    leads: dict[str, str]  # lead id → company name
    helsinki: set[str]
    visits: int
