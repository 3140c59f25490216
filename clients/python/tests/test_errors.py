"""Every exception of the client's tree, each raised by the real app answering a real
mistake, carrying the server's JSON:API error objects."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from harness import FIRST, LAST, App
from tests.support.factories import Builder, Member

from openfeeder.store import accounts
from openfeeder.store.db import Database
from openfeeder_client import (
    APIError,
    AuthenticationError,
    ErrorObject,
    Forbidden,
    NotFound,
    OpenfeederClientError,
    PremiumRequired,
    ServerError,
    ValidationError,
)
from openfeeder_client.errors import error_from_response


@pytest.fixture
def app(make_app: Callable[..., App]) -> App:
    return make_app()


def test_an_unknown_token_is_an_authentication_error(app: App) -> None:
    with app.client("not-a-token") as client, pytest.raises(AuthenticationError) as raised:
        list(client.accounts())
    error = raised.value
    assert isinstance(error, APIError)
    assert isinstance(error, OpenfeederClientError)
    assert error.status_code == 401
    assert error.errors[0].status == "401"
    assert error.errors[0].title == "Unauthorized"
    assert str(error).startswith("401: Unauthorized — ")


def test_a_disabled_token_is_forbidden(app: App, member: Member, db: Database) -> None:
    with db.write() as conn:
        accounts.set_token_disabled(conn, member.token_id, True)
    with app.client(member.token) as client, pytest.raises(Forbidden) as raised:
        list(client.accounts())
    assert raised.value.status_code == 403


def test_an_account_of_someone_else_is_forbidden(
    app: App, member: Member, builder: Builder
) -> None:
    theirs = builder.account(builder.user())
    with app.client(member.token) as client, pytest.raises(Forbidden) as raised:
        client.account(theirs.id)
    assert raised.value.detail is not None


def test_leads_of_a_lite_account_need_premium(app: App, member: Member, builder: Builder) -> None:
    lite = builder.account(member, subscription="lite")
    with app.client(member.token) as client:
        with pytest.raises(PremiumRequired) as raised:
            list(client.leads(lite.id, FIRST, LAST))
        assert raised.value.errors[0].title == "Premium required"
        with pytest.raises(PremiumRequired):
            client.request_export(lite.id, "all_leads", FIRST, LAST)
        assert client.account(lite.id).subscription == "lite"  # the account itself is fine


def test_unknown_lead_feed_and_export_are_not_found(
    app: App, member: Member, builder: Builder
) -> None:
    account = builder.account(member)
    with app.client(member.token) as client:
        with pytest.raises(NotFound):
            client.lead(account.id, "no-such-lead")
        with pytest.raises(NotFound):
            client.custom_feed(account.id, "no_such_feed")
        with pytest.raises(NotFound):
            list(client.leads(account.id, FIRST, LAST, feed="no_such_feed"))
        with pytest.raises(NotFound) as raised:
            client.export_request("00000000-0000-0000-0000-000000000000")
    assert raised.value.errors[0].status == "404"


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"start": "2026-01-31", "end": "2026-01-01"}, "start_date"),
        ({"start": "2026-1-1", "end": "2026-01-31"}, "start_date"),
        ({"start": "2026-01-01", "end": "2026-01-31", "page_size": 500}, "page[size]"),
        ({"start": FIRST, "end": LAST, "fields": {"leads": ["nope"]}}, "fields[leads]"),
    ],
)
def test_a_bad_parameter_is_a_validation_error_naming_it(
    app: App, member: Member, builder: Builder, kwargs: dict[str, object], parameter: str
) -> None:
    account = builder.account(member)
    with app.client(member.token) as client, pytest.raises(ValidationError) as raised:
        list(client.leads(account.id, **kwargs))  # type: ignore[arg-type]
    error = raised.value
    assert error.status_code == 400
    assert error.parameter == parameter
    assert error.errors[0].parameter == parameter
    assert f"(parameter {parameter})" in str(error)


def test_a_server_failure_is_a_server_error(
    app: App, member: Member, builder: Builder, db: Database
) -> None:
    account = builder.account(member)
    with db.write() as conn:  # a store that lost a table: the server cannot answer
        conn.exec_driver_sql("DROP TABLE lead_day_stats")
    with app.client(member.token) as client, pytest.raises(ServerError) as raised:
        list(client.leads(account.id, FIRST, LAST))
    error = raised.value
    assert error.status_code == 500
    assert error.errors == [
        ErrorObject(
            status="500",
            title="Internal Server Error",
            detail="The server could not process the request.",
            raw=error.errors[0].raw,
        )
    ]
    assert "Traceback" not in str(error)


def test_an_error_without_a_json_api_document_still_maps_by_status() -> None:
    """A proxy in front of the server may answer with its own HTML page."""
    request = httpx.Request("GET", "http://openfeeder.test/accounts")
    for status, kind in [(502, ServerError), (404, NotFound), (418, APIError)]:
        response = httpx.Response(status, html="<h1>Bad gateway</h1>", request=request)
        error = error_from_response(response)
        assert type(error) is kind
        assert error.errors == []
        assert str(error) == f"{status}: {response.reason_phrase}"
