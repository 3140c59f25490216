"""The custom feed editor: what it saves is what the API's custom-feeds endpoints show, its
live count is the API's total for the same criteria, and bad criteria are form errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

from starlette.testclient import TestClient

from openfeeder.domain.models import Account
from tests.dashboard.conftest import csrf_of
from tests.support.clients import auth
from tests.support.factories import BOSTON, Builder, Member


def _feed_api(client: TestClient, member: Member, account: Account, feed_id: str) -> dict:
    answer = client.get(
        f"/accounts/{account.id}/custom-feeds/{feed_id}", headers=auth(member.token)
    )
    return {"status": answer.status_code, "body": answer.json()}


def test_create_edit_and_delete_a_feed_as_the_api_shows_it(
    signed_in: TestClient, builder: Builder, member: Member, account: Account
) -> None:
    editor = signed_in.get(f"/app/{account.id}/feeds/new")
    assert editor.status_code == 200
    created = signed_in.post(
        f"/app/{account.id}/feeds",
        data={
            "csrf": csrf_of(signed_in, f"/app/{account.id}/feeds/new"),
            "name": "  Nordic   buyers ",
            "type_0": "country_code",
            "value_0": "FI",
            "type_1": "country_code",
            "value_1": "SE",
            "type_2": "visits",
            "value_2": "2",
            "type_3": "company_name",
            "value_3": "Competitor",
            "excluded_3": "on",
            "type_4": "city",
            "value_4": "",  # an empty row is left out
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    feed_id = re.search(r"feed=(\d+)", created.headers["location"]).group(1)  # type: ignore[union-attr]
    shown = _feed_api(signed_in, member, account, feed_id)["body"]["data"]["attributes"]
    assert shown["name"] == "Nordic buyers"
    assert shown["criteria"] == [
        {
            "search_value": "FI",
            "excluded": False,
            "criterion_type": "country_code",
            "display_value": "FI",
        },
        {
            "search_value": "SE",
            "excluded": False,
            "criterion_type": "country_code",
            "display_value": "SE",
        },
        {"search_value": 2, "excluded": False, "criterion_type": "visits", "display_value": "2"},
        {
            "search_value": "Competitor",
            "excluded": True,
            "criterion_type": "company_name",
            "display_value": "Competitor",
        },
    ]
    edit = signed_in.get(f"/app/{account.id}/feeds/{feed_id}/edit")
    assert 'value="Competitor"' in edit.text
    renamed = signed_in.post(
        f"/app/{account.id}/feeds/{feed_id}",
        data={
            "csrf": csrf_of(signed_in, f"/app/{account.id}/leads"),
            "name": "Finns",
            "type_0": "country_code",
            "value_0": "FI",
        },
        follow_redirects=False,
    )
    assert renamed.status_code == 303
    shown = _feed_api(signed_in, member, account, feed_id)["body"]["data"]["attributes"]
    assert (shown["name"], len(shown["criteria"])) == ("Finns", 1)
    deleted = signed_in.post(
        f"/app/{account.id}/feeds/{feed_id}/delete",
        data={"csrf": csrf_of(signed_in, f"/app/{account.id}/leads")},
        follow_redirects=False,
    )
    assert deleted.status_code == 303
    assert _feed_api(signed_in, member, account, feed_id)["status"] == 404
    # Built-in feeds are not editable.
    assert signed_in.get(f"/app/{account.id}/feeds/all_leads/edit").status_code == 404


def test_bad_criteria_are_form_errors_that_keep_what_was_typed(
    signed_in: TestClient, account: Account
) -> None:
    for form, says in (
        ({"name": "x", "type_0": "visits", "value_0": "many"}, "must be a whole number"),
        ({"name": "x", "type_0": "employee_count", "value_0": "lots"}, "must look like 50-200"),
        ({"name": "x", "type_0": "shoe_size", "value_0": "42"}, "criterion_type must be one of"),
        ({"name": "", "type_0": "city", "value_0": "Oulu"}, "needs a name"),
    ):
        token = csrf_of(signed_in, f"/app/{account.id}/leads")
        answer = signed_in.post(f"/app/{account.id}/feeds", data={"csrf": token, **form})
        assert answer.status_code == 400
        assert says in unescape(answer.text)
        assert f'value="{form["value_0"]}"' in answer.text


def test_the_live_count_is_the_api_total_for_the_same_criteria(
    signed_in: TestClient, builder: Builder, member: Member, account: Account
) -> None:
    recent = datetime.now(UTC).date() - timedelta(days=10)
    builder.visits(account, builder.companies(4), first=recent, days=5)
    builder.visits(account, builder.companies(3), first=recent, days=5, location=BOSTON)
    count = signed_in.get(
        f"/app/{account.id}/feeds/count", params={"type_0": "country_code", "value_0": "US"}
    )
    assert count.status_code == 200
    assert "<strong>3</strong> leads match in the last 30 days" in count.text
    everything = signed_in.get(f"/app/{account.id}/feeds/count")
    assert "<strong>7</strong> leads" in everything.text
    bad = signed_in.get(
        f"/app/{account.id}/feeds/count", params={"type_0": "visits", "value_0": "x"}
    )
    assert "must be a whole number" in unescape(bad.text)
