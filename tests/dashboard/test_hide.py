"""Hiding a company: from its lead page (admins, with a CSRF token) or as a traffic rule. Its
leads leave every lead list (API, built-in and custom feeds, the feed view and its count, the
CSV, exports) while its visits are still recorded; unhiding brings it back with all of them."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import date
from html import unescape

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from openfeeder.domain import ids
from openfeeder.domain.models import Account, Company
from openfeeder.store import accounts as accounts_store
from openfeeder.store import export_rows
from openfeeder.store import schema as t
from openfeeder.store.db import Database
from tests.dashboard.conftest import csrf_of
from tests.support.clients import auth
from tests.support.factories import HELSINKI, Builder, Member

JANUARY = {"range": "custom", "start": "2026-01-01", "end": "2026-01-31"}
API_JANUARY = {"start_date": "2026-01-01", "end_date": "2026-01-31", "page[size]": "100"}
EVERY_LIST = (
    "api all_leads",
    "api recommended_leads",
    "api custom feed",
    "feed view",
    "feed count",
    "csv",
    "export",
)


def lead_of(company: Company) -> str:
    return ids.lead_id(company.id, HELSINKI.id)


def listed(
    client: TestClient, db: Database, member: Member, account: Account, feed_id: int
) -> dict[str, set[str]]:
    """The lead ids each lead list of January holds (the feed view's count as the number it
    shows, a one-element set, so every surface compares alike)."""
    api = f"/accounts/{account.id}"
    found: dict[str, set[str]] = {}
    for name, path in (
        ("api all_leads", f"{api}/leads"),
        ("api recommended_leads", f"{api}/custom-feeds/recommended_leads/leads"),
        ("api custom feed", f"{api}/custom-feeds/{feed_id}/leads"),
    ):
        answer = client.get(path, params=API_JANUARY, headers=auth(member.token))
        assert answer.status_code == 200, answer.text
        found[name] = {lead["id"] for lead in answer.json()["data"]}
    page = client.get(f"/app/{account.id}/leads", params=JANUARY)
    assert page.status_code == 200
    found["feed view"] = set(re.findall(rf'href="/app/{account.id}/leads/([^"/?]+)"', page.text))
    found["feed count"] = set(re.findall(r"(\d+) leads?, 2026-01-01", unescape(page.text)))
    answer = client.get(f"/app/{account.id}/leads.csv", params=JANUARY)
    found["csv"] = {row["lead_id"] for row in csv.DictReader(io.StringIO(answer.text))}
    with db.read() as conn:
        batches = export_rows.stream_rows(conn, account.id, date(2026, 1, 1), date(2026, 1, 31), [])
        found["export"] = {row.id for batch in batches for row in batch}
    return found


Lists = Callable[[], dict[str, set[str]]]


@pytest.fixture
def lists(signed_in: TestClient, db: Database, member: Member, account: Account) -> Lists:
    """``listed`` for the signed-in member's account, with a custom feed of everyone."""
    criteria = [
        {"criterion_type": "country_code", "search_value": "FI", "excluded": False},
    ]
    with db.write() as conn:
        feed_id = accounts_store.create_feed(conn, account.id, "Finland", criteria)
    return lambda: listed(signed_in, db, member, account, feed_id)


def _visits_total(client: TestClient, member: Member, account: Account, lead_id: str) -> int:
    answer = client.get(f"/accounts/{account.id}/leads/{lead_id}", headers=auth(member.token))
    assert answer.status_code == 200  # the single lead answers, hidden or not
    return int(answer.json()["data"]["attributes"]["visits"])


def test_hiding_on_the_lead_page_takes_the_company_out_of_every_list_until_unhidden(
    signed_in: TestClient,
    db: Database,
    builder: Builder,
    member: Member,
    account: Account,
    lists: Lists,
) -> None:
    [hidden] = builder.companies(1, domain="hidden.example", industry_code=4)
    kept = builder.companies(3, industry_code=4)
    builder.visits(account, [hidden, *kept], per_company=4, seed=3)
    lead_id, kept_ids = lead_of(hidden), {lead_of(c) for c in kept}

    before = lists()
    for name in EVERY_LIST:
        if name != "feed count":
            assert lead_id in before[name], name
    assert before["feed count"] == {"4"}

    page = f"/app/{account.id}/leads/{lead_id}"
    assert "Hide this company" in signed_in.get(page).text
    answer = signed_in.post(
        f"{page}/hide", data={"csrf": csrf_of(signed_in, page)}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == page

    hiding = lists()
    for name in EVERY_LIST:
        if name != "feed count":
            assert lead_id not in hiding[name], name
            assert hiding[name] == before[name] - {lead_id}, name
    assert hiding["feed count"] == {"3"}
    assert hiding["api all_leads"] == kept_ids
    # The lead page still opens, says why the company is not listed, and offers to unhide it.
    shown = signed_in.get(page)
    assert shown.status_code == 200
    assert "This company is hidden" in shown.text
    assert "Unhide this company" in shown.text
    # The rule is the company's domain, shown with the company's name on the rules page.
    rules = signed_in.get(f"/app/{account.id}/settings/rules").text
    assert "hidden.example" in rules
    assert hidden.name in rules
    visits_before = _visits_total(signed_in, member, account, lead_id)
    assert visits_before == 4

    # The company comes back while hidden: its visits are recorded, it stays out of the lists.
    builder.visits(account, [hidden], per_company=2, first=date(2026, 1, 25), days=5, seed=8)
    assert _visits_total(signed_in, member, account, lead_id) == 6
    still = lists()
    assert all(lead_id not in still[name] for name in EVERY_LIST)

    answer = signed_in.post(
        f"{page}/unhide", data={"csrf": csrf_of(signed_in, page)}, follow_redirects=False
    )
    assert answer.status_code == 303
    after = lists()
    assert after == before
    assert "This company is hidden" not in signed_in.get(page).text
    # With every visit, those made while it was hidden included.
    api = signed_in.get(
        f"/accounts/{account.id}/leads", params=API_JANUARY, headers=auth(member.token)
    ).json()["data"]
    [back] = [lead for lead in api if lead["id"] == lead_id]
    assert back["attributes"]["visits"] == 6
    with db.read() as conn:
        rules_left = conn.execute(sa.select(sa.func.count()).select_from(t.traffic_rules))
        assert rules_left.scalar_one() == 0


def test_a_new_lead_of_a_hidden_company_is_hidden_from_its_first_visit(
    signed_in: TestClient, builder: Builder, account: Account, lists: Lists
) -> None:
    [company] = builder.companies(1, domain="later.example", industry_code=4)
    [other] = builder.companies(1, industry_code=4)
    path = f"/app/{account.id}/settings/rules"
    answer = signed_in.post(
        path,
        data={"csrf": csrf_of(signed_in, path), "kind": "company", "value": "Later.Example."},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    # The company database knows the domain, but the account has no lead of it yet: the
    # rules page names no company (the database is shared by every account).
    assert company.name not in signed_in.get(path).text
    builder.visits(account, [company, other], per_company=3, seed=5)
    assert company.name in signed_in.get(path).text
    found = lists()
    for name in EVERY_LIST:
        if name != "feed count":
            assert found[name] == {lead_of(other)}, name
    assert found["feed count"] == {"1"}
    # Removing the rule on the rules page brings it back.
    rule_id = re.search(r"/settings/rules/(\d+)/delete", signed_in.get(path).text)
    assert rule_id is not None
    answer = signed_in.post(
        f"{path}/{rule_id.group(1)}/delete",
        data={"csrf": csrf_of(signed_in, path)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    back = lists()
    assert back["api all_leads"] == {lead_of(company), lead_of(other)}
    assert back["export"] == back["csv"] == back["feed view"] == back["api all_leads"]


def test_a_company_without_a_domain_is_hidden_by_its_id(
    signed_in: TestClient, builder: Builder, member: Member, account: Account
) -> None:
    companies = builder.companies(2)
    builder.visits(account, companies)
    lead_id = lead_of(companies[0])
    page = f"/app/{account.id}/leads/{lead_id}"
    answer = signed_in.post(
        f"{page}/hide", data={"csrf": csrf_of(signed_in, page)}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert companies[0].id in signed_in.get(f"/app/{account.id}/settings/rules").text
    api = signed_in.get(
        f"/accounts/{account.id}/leads", params=API_JANUARY, headers=auth(member.token)
    ).json()["data"]
    assert [lead["id"] for lead in api] == [lead_of(companies[1])]


def test_hiding_needs_a_csrf_token_and_an_admin(
    signed_in: TestClient, db: Database, builder: Builder, member: Member, account: Account
) -> None:
    companies = builder.companies(1, domain="kept.example")
    builder.visits(account, companies)
    page = f"/app/{account.id}/leads/{lead_of(companies[0])}"
    for data in ({}, {"csrf": "not the token"}):
        answer = signed_in.post(f"{page}/hide", data=data, follow_redirects=False)
        assert answer.status_code == 403
    # A member who is not an admin sees no hide button and is refused.
    m = t.memberships.c
    with db.write() as conn:
        conn.execute(
            t.memberships.update().where(m.user_id == member.user.id).values(role="member")
        )
    assert "Hide this company" not in signed_in.get(page).text
    answer = signed_in.post(f"{page}/hide", data={"csrf": csrf_of(signed_in, page)})
    assert answer.status_code == 403
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.traffic_rules)).scalar() == 0
        assert not conn.execute(sa.select(t.leads.c.hidden)).scalar_one()


def test_bad_company_rules_are_form_errors(signed_in: TestClient, account: Account) -> None:
    path = f"/app/{account.id}/settings/rules"
    for value, says in (
        ("no such company", "domain"),
        ("not-a-known-id", "neither a domain nor a known company"),
        ("x" * 300, "domain"),
    ):
        answer = signed_in.post(
            path, data={"csrf": csrf_of(signed_in, path), "kind": "company", "value": value}
        )
        assert answer.status_code == 400
        assert says in unescape(answer.text)
