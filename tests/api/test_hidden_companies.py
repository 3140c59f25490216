"""A company hidden with the admin CLI (`openfeeder rules add --kind company`) is in no lead
list the API serves, while its single lead and its visits still answer; removing the rule
brings it back with every visit."""

from __future__ import annotations

import json

from click.testing import CliRunner
from starlette.testclient import TestClient

from openfeeder.cli import main
from openfeeder.domain import ids
from openfeeder.domain.models import Account
from tests.support.clients import auth
from tests.support.factories import HELSINKI, Builder, Member

JANUARY = {"start_date": "2026-01-01", "end_date": "2026-01-31"}


def cli(database_url: str, *args: str) -> str:
    result = CliRunner().invoke(main, list(args), env={"OPENFEEDER_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_a_company_hidden_with_the_cli_leaves_the_api_lists_and_comes_back(
    api: TestClient, database_url: str, builder: Builder, member: Member, account: Account
) -> None:
    hidden, *kept = builder.companies(3, domain=None)
    with_domain = builder.companies(1, domain="acme.example")
    builder.visits(account, [hidden, *kept, *with_domain], per_company=2)
    leads = f"/accounts/{account.id}/leads"

    def listed() -> set[str]:
        answer = api.get(leads, params=JANUARY, headers=auth(member.token))
        assert answer.status_code == 200
        return {lead["id"] for lead in answer.json()["data"]}

    everyone = listed()
    a = str(account.id)
    said = cli(database_url, "rules", "add", "--account", a, "--kind", "company", "ACME.example")
    assert said == f"Added company acme.example to account {account.id}.\n"
    cli(database_url, "rules", "add", "--account", a, "--kind", "company", hidden.id)
    gone = {ids.lead_id(c.id, HELSINKI.id) for c in (hidden, *with_domain)}
    assert listed() == everyone - gone
    rules = json.loads(cli(database_url, "rules", "list", "--account", a, "--json"))
    assert {(r["kind"], r["value"]) for r in rules} == {
        ("company", "acme.example"),
        ("company", hidden.id),
    }
    for lead_id in gone:  # the lead and its visits still answer
        lead = api.get(f"{leads}/{lead_id}", headers=auth(member.token))
        assert lead.status_code == 200
        assert lead.json()["data"]["attributes"]["visits"] == 2
        visits = api.get(f"{leads}/{lead_id}/visits", params=JANUARY, headers=auth(member.token))
        assert len(visits.json()["data"]) == 2
    builder.visits(account, [hidden], per_company=3, seed=4)  # recorded while hidden
    assert listed() == everyone - gone
    for rule in rules:
        cli(database_url, "rules", "remove", "--account", a, str(rule["id"]))
    assert listed() == everyone
    lead = api.get(f"{leads}/{ids.lead_id(hidden.id, HELSINKI.id)}", headers=auth(member.token))
    assert lead.json()["data"]["attributes"]["visits"] == 5


def test_bad_company_rules_are_one_line_errors(database_url: str, account: Account) -> None:
    result = CliRunner().invoke(
        main,
        ["rules", "add", "--account", str(account.id), "--kind", "company", "nobody"],
        env={"OPENFEEDER_DATABASE_URL": database_url},
    )
    assert result.exit_code != 0
    assert "neither a domain nor a known company's id" in result.stderr
    assert "Traceback" not in result.output
