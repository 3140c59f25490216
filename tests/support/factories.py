"""Builders for test data, going through the same store and service functions as the app,
and their fixtures (a plugin of ``tests/conftest.py``): ``builder`` on the test's store, a
``member`` (a user with an API token) and the ``account`` it is a member of. The benchmarks
(``bench/``) build their stores with ``Builder`` too."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from openfeeder.domain import ids
from openfeeder.domain.models import Account, Company, Location, NewVisit, RouteStep, User
from openfeeder.services.visits import record_visits, route_step
from openfeeder.store import accounts
from openfeeder.store.companies import upsert_companies
from openfeeder.store.db import Database

HELSINKI = Location(
    ids.location_id("FI", "Uusimaa", "Helsinki"), "Finland", "FI", "Uusimaa", None, "Helsinki", None
)
BOSTON = Location(
    ids.location_id("US", "Massachusetts", "Boston"),
    "United States",
    "US",
    "Massachusetts",
    None,
    "Boston",
    "MA",
)
STOCKHOLM = Location(
    ids.location_id("SE", "Stockholm", "Stockholm"),
    "Sweden",
    "SE",
    "Stockholm",
    None,
    "Stockholm",
    None,
)


@dataclass
class Member:
    user: User
    token: str
    token_id: int


class Builder:
    """Creates users with tokens, accounts, companies and visits in one store."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._n = 0

    def user(self, email: str | None = None) -> Member:
        self._n += 1
        token = ids.new_api_token()
        with self.db.write() as conn:
            user = accounts.create_user(
                conn, email or f"user{self._n}@example.com", f"User {self._n}"
            )
            token_id = accounts.create_token(conn, user.id, ids.hash_token(token), token[-4:])
        return Member(user, token, token_id)

    def account(
        self,
        *members: Member,
        subscription: str = "premium",
        timezone: str = "UTC",
        on_trial: bool = False,
    ) -> Account:
        self._n += 1
        with self.db.write() as conn:
            account = accounts.create_account(
                conn,
                name=f"Account {self._n}",
                subscription=subscription,
                timezone=timezone,
                script_hash=ids.new_script_hash(),
                on_trial=on_trial,
            )
            for member in members:
                accounts.add_member(conn, member.user.id, account.id)
        return account

    def companies(self, count: int, **fields: object) -> list[Company]:
        made = []
        for _ in range(count):
            self._n += 1
            made.append(
                Company(
                    id=ids.new_company_id(),
                    name=f"Company {self._n:06d}",
                    industries=["Software Development"],
                    **fields,
                )
            )  # type: ignore[arg-type]
        with self.db.write() as conn:
            upsert_companies(conn, made)
        return made

    def visits(
        self,
        account: Account,
        companies: list[Company],
        *,
        per_company: int = 1,
        first: date = date(2026, 1, 1),
        days: int = 30,
        seed: int = 1,
        location: Location = HELSINKI,
        route: list[RouteStep] | None = None,
        **fields: object,
    ) -> list[NewVisit]:
        """``per_company`` visits of each company at random times of ``days`` days from
        ``first``; each with ``route``, or one of 1–4 pages."""
        rng = random.Random(seed)
        made = []
        for company in companies:
            for _ in range(per_company):
                start = datetime(first.year, first.month, first.day, tzinfo=UTC) + timedelta(
                    days=rng.randrange(days), minutes=rng.randrange(24 * 60)
                )
                pages = rng.randint(1, 4)
                steps = route or [
                    route_step(f"https://www.example.com/p{i}/", f"Page {i}", rng.randrange(90))
                    for i in range(pages)
                ]
                made.append(
                    NewVisit(
                        id=ids.new_visit_id(),
                        account_id=account.id,
                        company_id=company.id,
                        location=location,
                        started_at=start,
                        route=steps,
                        **fields,
                    )
                )  # type: ignore[arg-type]
        record_visits(self.db, made)
        return made


@pytest.fixture
def builder(db: Database) -> Builder:
    return Builder(db)


@pytest.fixture
def member(builder: Builder) -> Member:
    return builder.user()


@pytest.fixture
def account(builder: Builder, member: Member) -> Account:
    """A premium account with ``member`` in it (no visits)."""
    return builder.account(member)
