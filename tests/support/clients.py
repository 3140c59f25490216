"""The real application for tests: ``build_app`` (settings, and optionally the rate limiter,
chosen by the test) and the ``make_client`` fixture, its in-process starlette ``TestClient``
on the test's store; ``api`` is the plain one. Loaded as a plugin by ``tests/conftest.py``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from openfeeder.app import build_services, create_app
from openfeeder.config import Settings
from openfeeder.domain.clock import SYSTEM_CLOCK, Clock
from openfeeder.ratelimit import RateLimiter


def build_app(
    settings: Settings, *, limiter: RateLimiter | None = None, clock: Clock = SYSTEM_CLOCK
) -> Starlette:
    """The real application for ``settings`` on ``clock``; ``limiter`` replaces the rate
    limiter they would choose (a fake clock, a counter shared by two instances)."""
    services = build_services(settings, clock=clock)
    if limiter is not None:
        services.limiter = limiter
    return create_app(settings, services)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Token token={token}"}


MakeClient = Callable[..., TestClient]


@pytest.fixture
def make_client(settings: Settings) -> Iterator[MakeClient]:
    """``make_client(limiter=None, address=None, **changes)``: the real application
    in-process on the test's store, started now and stopped at the test's end. ``changes``
    update the test's settings; its jobs run only when a test runs them unless they say
    ``run_jobs_in_process=True``. ``address`` is the (host, port) requests come from."""
    with ExitStack() as stack:

        def make(
            *,
            limiter: RateLimiter | None = None,
            address: tuple[str, int] | None = None,
            **changes: Any,
        ) -> TestClient:
            configured = settings.model_copy(update={"run_jobs_in_process": False} | changes)
            app = build_app(configured, limiter=limiter)
            client = TestClient(app) if address is None else TestClient(app, client=address)
            return stack.enter_context(client)

        yield make


@pytest.fixture
def api(make_client: MakeClient) -> TestClient:
    """The real application in-process; jobs run only when a test runs them."""
    return make_client()
