"""A forgotten password in a real browser (Debian's Chromium through Playwright) against
``openfeeder serve`` with mail going to a real SMTP server on 127.0.0.1: from the sign-in
form's link to the mail, the link, a new password and signing in with it. The pages fit a
phone and a desktop (screenshots in ``test-artifacts/dashboard/``), have no serious or
critical axe-core finding and break no rule of the Content-Security-Policy."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from openfeeder.store.db import Database
from tests.dashboard.conftest import give_password
from tests.mail.conftest import SmtpServer, StartSmtp, parts
from tests.support.browser import serve_dashboard
from tests.support.dashboard import BLOCKING, Tab, describe, new_tab
from tests.support.factories import Builder, Member

NEW_PASSWORD = "a password chosen in the browser"


def _mailed_link(server: SmtpServer) -> str:
    """The link of the one mail the SMTP server got (sent after the page's answer: waited for)."""
    deadline = time.monotonic() + 10
    while not server.received and time.monotonic() < deadline:
        time.sleep(0.05)
    (got,) = server.received
    text, _ = parts(got.message)
    found = re.search(r"(http://\S+/app/reset/\S+)", text)
    assert found is not None, text
    return found.group(1)


def _check(tab: Tab, name: str, blocking: list[str]) -> None:
    """Screenshots at each size (no horizontal scroll) and axe-core's worst findings."""
    tab.shoot(name)
    blocking += [f"{name}: {describe(v)}" for v in tab.axe() if v["impact"] in BLOCKING]


def test_a_person_resets_a_forgotten_password_from_the_sign_in_form(
    chromium: Any,
    database_url: str,
    db: Database,
    builder: Builder,
    member: Member,
    tmp_path: Path,
    start_smtp: StartSmtp,
) -> None:
    account = builder.account(member)
    give_password(db, member)
    smtp = start_smtp("none")
    server = serve_dashboard(
        database_url,
        tmp_path,
        OPENFEEDER_SMTP_HOST="127.0.0.1",
        OPENFEEDER_SMTP_PORT=str(smtp.port),
        OPENFEEDER_SMTP_SECURITY="none",
        OPENFEEDER_SMTP_FROM="openfeeder <accounts@openfeeder.test>",
    )
    blocking: list[str] = []
    try:
        tab = new_tab(chromium, server.url)
        page = tab.page
        tab.goto("/app/login")
        page.click("text=Forgot your password?")
        page.wait_for_url(f"{server.url}/app/reset")
        _check(tab, "reset-request", blocking)
        page.fill("#email", member.user.email)
        page.click("main button[type=submit]")
        assert member.user.email in page.locator("#reset-sent").inner_text()
        _check(tab, "reset-sent", blocking)

        link = _mailed_link(smtp)
        assert link.startswith(f"{server.url}/app/reset/")
        page.goto(link)
        assert page.locator("#email").input_value() == member.user.email
        _check(tab, "reset", blocking)
        page.fill("#password", NEW_PASSWORD)
        page.fill("#repeat", NEW_PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(f"{server.url}/app/login?reset=done")
        assert "Your new password is set" in page.locator("main").inner_text()

        tab.sign_in(member.user.email, NEW_PASSWORD)
        page.wait_for_url(f"{server.url}/app/{account.id}/leads")
        page.goto(link)
        assert "used already" in page.locator("main").inner_text()
    finally:
        server.stop()
    assert (tab.errors, tab.csp, tab.dialogs) == ([], [], [])
    assert blocking == []
