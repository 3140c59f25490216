"""Authentication, account access and every error code of the seed, with real requests."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from openfeeder.store import accounts
from tests.support.clients import auth
from tests.support.factories import Builder

MEDIA = "application/vnd.api+json"


def error_of(response: object) -> dict[str, object]:
    body = response.json()  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith(MEDIA)  # type: ignore[attr-defined]
    (error,) = body["errors"]
    return error  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "header",
    ["Token token={t}", 'Token token="{t}"', "Bearer {t}", "token  token={t}"],
)
def test_accepted_authorization_forms(api: TestClient, builder: Builder, header: str) -> None:
    member = builder.user()
    builder.account(member)
    response = api.get("/accounts", headers={"Authorization": header.format(t=member.token)})
    assert response.status_code == 200
    assert len(response.json()["data"]) == 1


@pytest.mark.parametrize("header", [None, "", "Token token=wrong", "Basic abc", "Bearer "])
def test_missing_or_unknown_token_is_401(
    api: TestClient, builder: Builder, header: str | None
) -> None:
    builder.user()
    headers = {"Authorization": header} if header is not None else {}
    response = api.get("/accounts", headers=headers)
    assert response.status_code == 401
    assert error_of(response)["status"] == "401"


def test_disabled_token_is_403(api: TestClient, builder: Builder) -> None:
    member = builder.user()
    with builder.db.write() as conn:
        accounts.set_token_disabled(conn, member.token_id, True)
    response = api.get("/accounts", headers=auth(member.token))
    assert response.status_code == 403
    assert "disabled" in str(error_of(response)["detail"])


def test_other_users_account_is_403_like_a_missing_one(api: TestClient, builder: Builder) -> None:
    me, other = builder.user(), builder.user()
    builder.account(me)
    theirs = builder.account(other)
    for path in (f"/accounts/{theirs.id}", "/accounts/999999", "/accounts/abc"):
        response = api.get(path, headers=auth(me.token))
        assert response.status_code == 403, path
        assert error_of(response)["title"] == "Forbidden"
    leads = api.get(
        f"/accounts/{theirs.id}/leads?start_date=2026-01-01&end_date=2026-01-31",
        headers=auth(me.token),
    )
    assert leads.status_code == 403


def test_lite_account_gets_402_on_leads_visits_and_exports(
    api: TestClient, builder: Builder
) -> None:
    member = builder.user()
    lite = builder.account(member, subscription="lite")
    trial = builder.account(member, subscription="lite", on_trial=True)
    dates = "start_date=2026-01-01&end_date=2026-01-31"
    for path in (
        f"/accounts/{lite.id}/leads?{dates}",
        f"/accounts/{lite.id}/visits?{dates}",
        f"/accounts/{lite.id}/leads/x_y",
    ):
        response = api.get(path, headers=auth(member.token))
        assert response.status_code == 402, path
        assert error_of(response)["status"] == "402"
    export = api.post(
        "/export-requests",
        headers=auth(member.token),
        data={
            "account_id": lite.id,
            "custom_feed_id": "all_leads",
            "start_date": "2026-01-01",
            "end_date": "2026-01-31",
        },
    )
    assert export.status_code == 402
    assert (
        api.get(f"/accounts/{trial.id}/leads?{dates}", headers=auth(member.token)).status_code
        == 200
    )
    assert api.get(f"/accounts/{lite.id}", headers=auth(member.token)).status_code == 200


def test_missing_things_inside_a_visible_account_are_404(api: TestClient, builder: Builder) -> None:
    member = builder.user()
    account = builder.account(member)
    dates = "start_date=2026-01-01&end_date=2026-01-31"
    for path in (
        f"/accounts/{account.id}/leads/nope_nope",
        f"/accounts/{account.id}/leads/nope_nope/visits?{dates}",
        f"/accounts/{account.id}/custom-feeds/12345",
        f"/accounts/{account.id}/custom-feeds/12345/leads?{dates}",
        "/export-requests/00000000-0000-0000-0000-000000000000",
        "/no/such/route",
    ):
        response = api.get(path, headers=auth(member.token))
        assert response.status_code == 404, path
        assert error_of(response)["status"] == "404"


def test_wrong_method_is_405(api: TestClient, builder: Builder) -> None:
    member = builder.user()
    response = api.delete("/accounts", headers=auth(member.token))
    assert response.status_code == 405
    assert error_of(response)["status"] == "405"
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD"}  # RFC 9110


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("end_date=2026-01-31", "start_date"),
        ("start_date=2026-01-01", "end_date"),
        ("start_date=2026-1-1&end_date=2026-01-31", "start_date"),
        ("start_date=2026-02-30&end_date=2026-03-01", "start_date"),
        ("start_date=2026-02-01&end_date=2026-01-01", "start_date"),
        ("start_date=2026-01-01&end_date=2026-01-31&page[number]=0", "page[number]"),
        ("start_date=2026-01-01&end_date=2026-01-31&page[number]=x", "page[number]"),
        # Unicode digits: "²" made int() fail (a 500); Arabic-Indic and full-width ones read
        # as ASCII digits. Only [0-9] are digits here.
        ("start_date=2026-01-01&end_date=2026-01-31&page[number]=%C2%B2", "page[number]"),
        ("start_date=2026-01-01&end_date=2026-01-31&page[size]=%C2%B2", "page[size]"),
        ("start_date=2026-01-01&end_date=2026-01-31&page[size]=%D9%A2", "page[size]"),
        ("start_date=2026-01-01&end_date=2026-01-31&page[size]=%EF%BC%92", "page[size]"),
        ("start_date=2026-01-01&end_date=2026-01-31&page[number]=99999999999", "page[number]"),
        ("start_date=%D9%A2026-01-01&end_date=2026-01-31", "start_date"),
        # Control characters never reach the store (PostgreSQL cannot hold NUL in text).
        ("start_date=2026-01-01%00&end_date=2026-01-31", "start_date"),
        ("start_date=2026-01-01&end_date=2026-01-31&custom%00=1", "custom?"),
        ("start_date=2026-01-01&end_date=2026-01-31&fields[leads]=name%0A", "fields[leads]"),
        ("start_date=2026-01-01&end_date=2026-01-31&page[size]=101", "page[size]"),
        ("start_date=2026-01-01&end_date=2026-01-31&page[size]=0", "page[size]"),
        ("start_date=2026-01-01&end_date=2026-01-31&fields[leads]=name,bogus", "fields[leads]"),
        ("start_date=2026-01-01&end_date=2026-01-31&fields[bogus]=name", "fields[bogus]"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(
    api: TestClient, builder: Builder, query: str, parameter: str
) -> None:
    member = builder.user()
    account = builder.account(member)
    response = api.get(f"/accounts/{account.id}/leads?{query}", headers=auth(member.token))
    assert response.status_code == 400
    error = error_of(response)
    assert error["status"] == "400"
    assert error["source"] == {"parameter": parameter}
    assert error["detail"]


def test_unknown_field_error_names_the_valid_ones(api: TestClient, builder: Builder) -> None:
    member = builder.user()
    account = builder.account(member)
    response = api.get(f"/accounts/{account.id}?fields[accounts]=nme", headers=auth(member.token))
    assert response.status_code == 400
    assert "name, subscription, timezone" in str(error_of(response)["detail"])


def test_crash_is_a_500_json_api_error_without_a_stack_trace(
    api: TestClient, builder: Builder
) -> None:
    member = builder.user()
    account = builder.account(member)
    with builder.db.write() as conn:
        conn.execute(sa.text("ALTER TABLE lead_day_stats RENAME TO gone"))
    crashing = TestClient(api.app, raise_server_exceptions=False)
    try:
        response = crashing.get(
            f"/accounts/{account.id}/leads?start_date=2026-01-01&end_date=2026-01-31",
            headers=auth(member.token),
        )
    finally:
        with builder.db.write() as conn:
            conn.execute(sa.text("ALTER TABLE gone RENAME TO lead_day_stats"))
    assert response.status_code == 500
    error = error_of(response)
    assert error["status"] == "500"
    assert response.headers["connection"] == "close"  # the server closes it after a crash
    assert "Traceback" not in response.text
    assert "lead_day_stats" not in response.text


def test_any_accept_header_is_served(api: TestClient, builder: Builder) -> None:
    member = builder.user()
    for accept in ("application/json", "text/html", "*/*", "application/vnd.api+json"):
        response = api.get("/accounts", headers=auth(member.token) | {"Accept": accept})
        assert response.status_code == 200
        assert response.headers["content-type"] == MEDIA


@pytest.mark.parametrize(
    "digit",
    ["%C2%B2", "%D9%A2", "%EF%BC%92", "%E2%91%A1", "2147483648", "73018132230015", "9" * 19],
)
@pytest.mark.parametrize(
    "path",
    [
        "/accounts/{}",
        "/accounts/{}/custom-feeds",
        "/accounts/{}/leads?start_date=2026-01-01&end_date=2026-01-31",
        "/accounts/{}/visits?start_date=2026-01-01&end_date=2026-01-31",
        "/accounts/{}/website-tracking-script",
    ],
)
def test_an_account_id_of_unicode_digits_or_out_of_range_is_no_account(
    api: TestClient, builder: Builder, digit: str, path: str
) -> None:
    # Account 2 exists and is the member's: "٢" and "２" must not reach it. An id past 32 bits
    # made PostgreSQL's query fail (a 500, found by the fuzz suite).
    member = builder.user()
    builder.account(member)
    second = builder.account(member)
    assert second.id == 2
    response = api.get(path.format(digit), headers=auth(member.token))
    assert response.status_code == 403
    assert error_of(response)["status"] == "403"


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/accounts/{a}/leads/%00", "lead_id"),
        ("/accounts/{a}/leads/%00/visits", "lead_id"),
        ("/accounts/{a}/custom-feeds/%00", "feed_id"),
        ("/accounts/%00", "account_id"),
        ("/export-requests/%00", "export_id"),
        ("/export-feed/%00", "export_id"),
        ("/download/%00", "file_name"),
    ],
)
def test_a_nul_in_a_path_id_is_400_naming_it(
    api: TestClient, builder: Builder, path: str, parameter: str
) -> None:
    member = builder.user()
    account = builder.account(member)
    response = api.get(path.format(a=account.id), headers=auth(member.token))
    assert response.status_code == 400, response.text
    assert error_of(response)["source"] == {"parameter": parameter}


def test_a_nul_in_an_export_body_is_400(api: TestClient, builder: Builder) -> None:
    member = builder.user()
    account = builder.account(member)
    body = {
        "account_id": str(account.id),
        "custom_feed_id": "all_leads\u0000",
        "start_date": "2026-01-01",
        "end_date": "2026-01-31",
    }
    response = api.post("/export-requests", json=body, headers=auth(member.token))
    assert response.status_code == 400, response.text
    assert error_of(response)["source"] == {"parameter": "custom_feed_id"}


def test_unicode_digits_in_an_export_body_are_no_account(api: TestClient, builder: Builder) -> None:
    member = builder.user()
    builder.account(member)
    builder.account(member)
    response = api.post(
        "/export-requests",
        json={
            "account_id": "\u0662",
            "custom_feed_id": "all_leads",
            "start_date": "2026-01-01",
            "end_date": "2026-01-31",
        },
        headers=auth(member.token),
    )
    assert response.status_code == 403, response.text


def test_page_links_are_built_from_the_path_as_sent(api: TestClient, builder: Builder) -> None:
    member = builder.user()
    account = builder.account(member)
    # "%6C" is "l": the decoded path is the same route; the links repeat what was sent, and
    # every character in them is one a URI may hold.
    sent = f"/accounts/{account.id}/%6Ceads"
    response = api.get(
        f"{sent}?start_date=2026-01-01&end_date=2026-01-31", headers=auth(member.token)
    )
    assert response.status_code == 200
    link = response.json()["links"]["self"]
    assert link.startswith(f"http://testserver{sent}?")
    assert re.fullmatch(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+", link)
