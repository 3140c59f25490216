"""Rate limits, against the real app with its limiter on a fake clock: a 429 waited out
until the next minute and retried (the export limit too), the cap and its exception, a
wait longer than allowed, pacing that never meets a 429; and what each header says."""

from __future__ import annotations

import email.utils
from collections.abc import Callable

import pytest
from harness import FIRST, LAST, App, FakeClock, Recording
from tests.support.factories import Builder, Member

from openfeeder_client import Client, RateLimited
from openfeeder_client.ratelimit import Pacer, retry_delay

MINUTE_START = 1_800_000_000.0  # FakeClock starts 1.5 s after this


@pytest.fixture
def member(member: Member, builder: Builder) -> Member:
    """A member of an account with visits of two companies."""
    builder.visits(builder.account(member), builder.companies(2))
    return member


def test_a_429_is_waited_out_until_the_next_minute_then_retried(
    make_app: Callable[..., App], member: Member, clock: FakeClock
) -> None:
    app = make_app(clock=clock, rate_limit_per_minute=3)
    recording = Recording(app.transport)
    with Client(
        member.token, app.base_url, transport=recording, clock=clock, sleep=clock.sleep
    ) as client:
        for _ in range(3):
            assert len(list(client.accounts())) == 1
        assert clock.slept == []
        assert len(list(client.accounts())) == 1  # the server said 429 first
    assert clock.slept == [59]  # Retry-After: the 58.5 s left of the minute, rounded up
    assert len(recording.requests) == 5


def test_the_export_limit_is_waited_out_too(
    make_app: Callable[..., App], member: Member, clock: FakeClock
) -> None:
    app = make_app(clock=clock, export_rate_limit_per_minute=1)
    with app.client(member.token, clock=clock, sleep=clock.sleep) as client:
        account = client.accounts().first()
        assert account is not None
        first = client.request_export(account, "all_leads", FIRST, LAST)
        second = client.request_export(account, "all_leads", FIRST, LAST)
    assert first.id != second.id
    assert clock.slept == [59]


def test_the_client_gives_up_after_its_retries_with_the_servers_error(
    make_app: Callable[..., App], member: Member, clock: FakeClock
) -> None:
    app = make_app(clock=clock, rate_limit_per_minute=3)
    slept: list[float] = []  # a sleep that does not move the clock: the limit never resets
    with app.client(member.token, clock=clock, sleep=slept.append, rate_limit_retries=2) as client:
        for _ in range(3):
            list(client.accounts())
        with pytest.raises(RateLimited) as raised:
            list(client.accounts())
    error = raised.value
    assert slept == [59, 59]
    assert (error.status_code, error.attempts, error.retry_after) == (429, 3, 59)
    assert error.errors[0].title == (
        "Exceeded the API rate limit of 3 requests per minute. Try again later."
    )
    assert error.errors[0].about == "http://docs.leadfeeder.com/api/#rate-limiting"
    assert "gave up after 3 attempts (2 retries)" in str(error)
    assert error.response is not None
    assert error.response.headers["retry-after"] == "59"


def test_a_wait_longer_than_max_retry_wait_is_not_waited(
    make_app: Callable[..., App], member: Member, clock: FakeClock
) -> None:
    app = make_app(clock=clock, rate_limit_per_minute=1)
    with app.client(member.token, clock=clock, sleep=clock.sleep, max_retry_wait=30) as client:
        list(client.accounts())
        with pytest.raises(RateLimited, match=r"over max_retry_wait \(30 s\)") as raised:
            list(client.accounts())
    assert raised.value.attempts == 1
    assert clock.slept == []


def test_pacing_keeps_the_client_under_the_limit(
    make_app: Callable[..., App], member: Member, clock: FakeClock
) -> None:
    app = make_app(clock=clock, rate_limit_per_minute=3)
    with app.client(
        member.token, clock=clock, sleep=clock.sleep, requests_per_minute=3, rate_limit_retries=0
    ) as client:
        for _ in range(7):  # any 429 would raise: no retries allowed
            assert len(list(client.accounts())) == 1
    assert clock.slept == [60, 60]


def test_pacing_waits_only_as_long_as_the_oldest_request_is_recent() -> None:
    clock = FakeClock()
    pacer = Pacer(2, clock=clock, sleep=clock.sleep)
    assert (pacer.wait(), pacer.wait()) == (0, 0)
    clock.now += 45
    assert pacer.wait() == 15
    clock.now += 100
    assert pacer.wait() == 0
    with pytest.raises(ValueError, match="at least 1"):
        Pacer(0, clock=clock, sleep=clock.sleep)


NOW = MINUTE_START + 1.5


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"Retry-After": "7"}, 7),
        ({"retry-after": email.utils.formatdate(NOW + 30, usegmt=True)}, 30),
        ({"Retry-After": "soon", "X-RateLimit-Reset": str(int(NOW + 12))}, 12),
        ({"x-ratelimit-reset": str(int(NOW - 5))}, 0),
        ({}, 58.5),  # nothing said: the next minute, when the seed says the limit resets
    ],
)
def test_how_long_a_429_says_to_wait(headers: dict[str, str], wait: float) -> None:
    assert retry_delay(headers, NOW) == pytest.approx(wait, abs=0.5 if headers else 0)
