"""``openfeeder mail test`` against a real SMTP server and ``openfeeder digests add|list|remove``
on a real store: their output, and one-line errors with exit code 1."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner, Result

from openfeeder.cli import main
from openfeeder.domain.models import Account
from tests.mail.conftest import PASSWORD, USER, StartSmtp, parts
from tests.support.factories import Builder, Member


def run(url: str, *args: str, **env: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"OPENFEEDER_DATABASE_URL": url, **env})


def _error(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: ")
    return line


def test_mail_test_sends_both_parts(start_smtp: StartSmtp, database_url: str) -> None:
    server = start_smtp("starttls", auth=True)
    env = {
        "OPENFEEDER_SMTP_HOST": "127.0.0.1",
        "OPENFEEDER_SMTP_PORT": str(server.port),
        "OPENFEEDER_SMTP_SECURITY": "starttls",
        "OPENFEEDER_SMTP_USER": USER,
        "OPENFEEDER_SMTP_PASSWORD": PASSWORD,
        "OPENFEEDER_SMTP_FROM": "openfeeder <alerts@openfeeder.test>",
        "OPENFEEDER_SMTP_CA_FILE": str(server.ca_file),
    }
    result = run(database_url, "mail", "test", "ops@example.com", **env)
    assert result.exit_code == 0, result.output
    assert (
        result.stdout == f"Sent a test email to ops@example.com through 127.0.0.1:{server.port}.\n"
    )
    (got,) = server.received
    text, html = parts(got.message)
    assert "test email from openfeeder" in text
    assert "(starttls)" in html

    env["OPENFEEDER_SMTP_PASSWORD"] = "wrong"
    wrong = run(database_url, "mail", "test", "ops@example.com", **env)
    assert "refused the user name or password: 535" in _error(wrong)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({}, "Error: Email is not set up: set OPENFEEDER_SMTP_HOST (docs/email.md)."),
        ({"OPENFEEDER_SMTP_FROM": "nobody"}, "OPENFEEDER_SMTP_FROM"),
        ({"OPENFEEDER_SMTP_SECURITY": "ssl"}, "OPENFEEDER_SMTP_SECURITY"),
    ],
)
def test_mail_test_errors_are_one_line(database_url: str, env: dict[str, str], says: str) -> None:
    assert says in _error(run(database_url, "mail", "test", "ops@example.com", **env))


def test_mail_test_refuses_a_bad_address(database_url: str) -> None:
    env = {"OPENFEEDER_SMTP_HOST": "127.0.0.1", "OPENFEEDER_SMTP_FROM": "a@example.com"}
    assert "is not an email address" in _error(run(database_url, "mail", "test", "x y", **env))


def test_digests_add_list_remove(
    database_url: str, builder: Builder, member: Member, account: Account
) -> None:
    email, account_id = member.user.email, str(account.id)
    added = run(database_url, "digests", "add", "--user", email, "--account", account_id, "--json")
    assert added.exit_code == 0, added.output
    made = json.loads(added.stdout)
    assert made | {"id": 0} == {
        "id": 0,
        "user": email,
        "account": account_id,
        "feed": "all_leads",
        "cadence": "daily",
        "last_sent_period": None,
    }
    weekly = run(
        database_url,
        *("digests", "add", "--user", email, "--account", account_id),
        *("--feed", "new_leads", "--cadence", "weekly"),
    )
    assert weekly.exit_code == 0, weekly.output
    assert "gets the weekly digest of feed new_leads" in weekly.stdout

    listed = run(database_url, "digests", "list", "--account", account_id, "--json")
    assert [(d["feed"], d["cadence"]) for d in json.loads(listed.stdout)] == [
        ("all_leads", "daily"),
        ("new_leads", "weekly"),
    ]
    text = run(database_url, "digests", "list", "--user", email).stdout
    assert "(last: never)" in text

    removed = run(database_url, "digests", "remove", str(made["id"]))
    assert removed.stdout == f"Removed digest {made['id']}.\n"
    listed = run(database_url, "digests", "list", "--json")
    assert [d["feed"] for d in json.loads(listed.stdout)] == ["new_leads"]


def test_digests_add_errors(
    database_url: str, builder: Builder, member: Member, account: Account
) -> None:
    email, account_id = member.user.email, str(account.id)
    add = ("digests", "add", "--user", email, "--account", account_id)
    assert run(database_url, *add).exit_code == 0
    assert "gets the daily digest of feed all_leads already" in _error(run(database_url, *add))
    assert "was not found" in _error(run(database_url, *add, "--feed", "999"))
    stranger = builder.user().user.email
    line = _error(run(database_url, "digests", "add", "--user", stranger, "--account", account_id))
    assert f"{stranger} is not a member of account {account_id}" in line
    assert "does not exist" in _error(run(database_url, "digests", "remove", "4242"))
    nowhere = run(database_url, "digests", "add", "--user", email, "--account", "4242")
    assert "4242" in _error(nowhere)
    assert run(database_url, *add[:-1], "x").exit_code == 2  # --account x: usage error


def test_the_cadence_choices_are_the_services() -> None:
    from openfeeder.cli import digests_add
    from openfeeder.services.digests import CADENCES

    (cadence,) = [p for p in digests_add.params if p.name == "cadence"]
    assert isinstance(cadence.type, click.Choice)
    assert tuple(cadence.type.choices) == CADENCES
