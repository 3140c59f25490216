"""Fixtures for the client's tests: the real openfeeder application, in-process or over HTTP.

``client`` runs a test twice: through ``harness.InProcessTransport`` (the app inside the
test process) and against a real ``openfeeder serve`` over HTTP, both serving one
``Dataset`` built once per session with the server's own test factories. Tests that need
their own settings (tight rate limits, a broken export directory, a damaged store) build a
fresh app on the function-scoped ``builder`` store with ``make_app``.

The client only sees HTTP, and which database is behind the server changes nothing of it,
so these tests use SQLite only (the server's own suite runs on PostgreSQL as well).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness import FIRST, App, Dataset, FakeClock, Recording, in_process
from tests.conftest import db, settings  # noqa: F401 (fixtures, used by name)
from tests.support import factories
from tests.support.factories import BOSTON, HELSINKI, Builder
from tests.support.servers import ServeProcess

from openfeeder.app import build_services, create_app
from openfeeder.config import Settings
from openfeeder.domain import ids
from openfeeder.ratelimit import MemoryCounter, RateLimiter
from openfeeder.services.feeds import create_feed
from openfeeder.store.db import Database
from openfeeder_client import Client

# The server suite's builder and member fixtures, by name (its conftest is not above here).
builder, member = factories.builder, factories.member
BIN = Path(sys.executable).parent
UNLIMITED = 1_000_000  # rate limits out of the way, except in the tests about them


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """An empty, migrated SQLite store (in place of the root fixture's SQLite × PostgreSQL)."""
    url = f"sqlite:///{tmp_path / 'openfeeder.db'}"
    store = Database(url)
    store.migrate()
    store.dispose()
    return url


@pytest.fixture
def make_app(settings: Settings) -> Iterator[Callable[..., App]]:  # noqa: F811
    """``make_app(clock=None, **settings)``: the real app on the test's store. Its jobs run
    only when a test runs them, it has no rate limit unless one is given, and its rate
    limiter reads ``clock`` when one is given (a ``FakeClock``)."""
    with ExitStack() as stack:

        def make(clock: Callable[[], float] | None = None, **changes: Any) -> App:
            configured = settings.model_copy(
                update={"run_jobs_in_process": False, "rate_limit_per_minute": UNLIMITED} | changes
            )
            services = build_services(configured)
            if clock is not None:
                services.limiter = RateLimiter(MemoryCounter(), clock=clock)
            transport = stack.enter_context(in_process(create_app(configured, services)))
            return App(services, transport)

        yield make


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# ── the shared dataset, in-process and over HTTP ─────────────────────────────────────────


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    root = tmp_path_factory.mktemp("dataset")
    configured = Settings(
        database_url=f"sqlite:///{root / 'openfeeder.db'}",
        data_dir=root / "data",
        redis_url=None,
        rate_limit_per_minute=UNLIMITED,
        export_rate_limit_per_minute=UNLIMITED,
    )
    store = Database(configured.database_url)
    store.migrate()
    build = Builder(store)
    member, stranger = build.user(), build.user()
    premium = build.account(member)
    lite = build.account(member, subscription="lite")
    foreign = build.account(stranger)
    finns = build.companies(50, website_url="https://example.fi", employee_count=40)
    yanks = build.companies(7)
    build.visits(premium, finns, per_company=2, first=FIRST, location=HELSINKI)
    build.visits(premium, yanks, per_company=2, first=FIRST, location=BOSTON, seed=2)
    finland = create_feed(
        store,
        premium,
        "Finland",
        [
            {
                "criterion_type": "country_code",
                "search_value": "FI",
                "excluded": False,
                "display_value": "Finland",
            }
        ],
    ).id
    store.dispose()
    helsinki = {ids.lead_id(c.id, HELSINKI.id): c.name for c in finns}
    boston = {ids.lead_id(c.id, BOSTON.id): c.name for c in yanks}
    return Dataset(
        settings=configured,
        token=member.token,
        premium=premium,
        lite=lite,
        foreign=foreign,
        finland=finland,
        leads=helsinki | boston,
        helsinki=set(helsinki),
        visits=2 * (len(finns) + len(yanks)),
    )


@pytest.fixture(scope="session")
def server(dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``openfeeder serve`` of the dataset, running its export jobs; its base URL."""
    workdir = tmp_path_factory.mktemp("served")
    env = {
        "OPENFEEDER_DATABASE_URL": dataset.settings.database_url,
        "OPENFEEDER_DATA_DIR": str(workdir / "data"),
        "OPENFEEDER_RATE_LIMIT_PER_MINUTE": str(UNLIMITED),
        "OPENFEEDER_EXPORT_RATE_LIMIT_PER_MINUTE": str(UNLIMITED),
    }
    served = ServeProcess(env, workdir / "serve.log").start()
    try:
        yield served.url
    finally:
        served.stop()


@pytest.fixture(scope="session")
def shared_app(dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """The dataset served in-process (its own export directory and job queue)."""
    configured = dataset.settings.model_copy(
        update={"run_jobs_in_process": False, "data_dir": tmp_path_factory.mktemp("in-process")}
    )
    services = build_services(configured)
    with in_process(create_app(configured, services)) as transport:
        yield App(services, transport)


@pytest.fixture(params=["in-process", "http"])
def connect(request: pytest.FixtureRequest, dataset: Dataset) -> Callable[..., Client]:
    """``connect(token=<the dataset's>, **options)``: a client of the dataset's server,
    in-process or over HTTP. Waiting for an export runs the queue in-process; over HTTP
    ``serve`` runs its jobs itself and the client really sleeps."""
    if request.param == "in-process":
        app: App = request.getfixturevalue("shared_app")

        def in_process_client(token: str = dataset.token, **options: Any) -> Client:
            return app.client(token, sleep=app.run_jobs, **options)

        return in_process_client
    base: str = request.getfixturevalue("server")

    def http_client(token: str = dataset.token, **options: Any) -> Client:
        return Client(token, base, **options)

    return http_client


@pytest.fixture
def client(connect: Callable[..., Client]) -> Iterator[Client]:
    with connect() as opened:
        yield opened


@pytest.fixture
def recorded(shared_app: App, dataset: Dataset) -> Iterator[tuple[Client, list[httpx.Request]]]:
    """An in-process client of the dataset, and the list of requests it sends."""
    recording = Recording(shared_app.transport)
    with Client(
        dataset.token, shared_app.base_url, transport=recording, sleep=shared_app.run_jobs
    ) as opened:
        yield opened, recording.requests
