"""Telling an account's admins that one of its alert endpoints was disabled: the delivery
loop disables an endpoint whose every delivery failed for days
(``OPENFEEDER_ALERTS_DISABLE_AFTER_DAYS``) and then calls its notifiers; ``EmailAdmins``
emails each admin of the endpoint's account what was disabled, why (the reason stored with
it and the latest distinct errors of its deliveries) and the dashboard page where it is
enabled again.

It is called once per disable: ``store.alerts.disable_endpoint`` changes only an enabled
endpoint, so of two workers that both saw the endpoint fail, one disables it and tells.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from openfeeder.config import Settings
from openfeeder.domain.alerts import Endpoint
from openfeeder.services import admin, mail_messages, members
from openfeeder.services.alerts.email import account_zone, local_time
from openfeeder.services.alerts.manage import list_deliveries
from openfeeder.services.mailer import Mailer, MailError, make_mailer
from openfeeder.services.urls import public_base_url
from openfeeder.store.db import Database

__all__ = ["EmailAdmins", "disabled_notifiers", "endpoint_page_url"]

log = logging.getLogger(__name__)

LAST_ERRORS = 5  # distinct errors of the newest deliveries listed in the email
DELIVERIES_READ = 50  # the newest deliveries those errors are taken from

Notifier = Callable[[Settings, Endpoint], None]


def endpoint_page_url(base_url: str, endpoint: Endpoint) -> str:
    """The alerts settings page, at the endpoint's row (where its Enable button is)."""
    return (
        f"{base_url.rstrip('/')}/app/{endpoint.account_id}/settings/alerts#endpoint-{endpoint.id}"
    )


class EmailAdmins:
    """The notifier that emails the admins of the disabled endpoint's account."""

    def __init__(self, db: Database, mailer: Mailer) -> None:
        self._db = db
        self._mailer = mailer

    def __call__(self, settings: Settings, endpoint: Endpoint) -> None:
        account = admin.get_account(self._db, endpoint.account_id)
        to = [m.user.email for m in members.members(self._db, account) if m.role == "admin"]
        if not to:
            log.warning("alert endpoint %d disabled: its account has no admin", endpoint.id)
            return
        errors: list[str] = []
        for delivery in list_deliveries(self._db, account, endpoint.id, DELIVERIES_READ):
            if delivery.last_error and delivery.last_error not in errors:
                errors.append(delivery.last_error)
        mail = mail_messages.endpoint_disabled(
            to,
            account=account.name,
            endpoint=endpoint.name,
            kind=endpoint.kind.value,
            target=endpoint.shown_target,
            reason=endpoint.disabled_reason or "",
            disabled_at=(
                local_time(endpoint.disabled_at, account_zone(account.timezone))
                if endpoint.disabled_at
                else ""
            ),
            errors=errors[:LAST_ERRORS],
            link=endpoint_page_url(public_base_url(settings, None), endpoint),
        )
        try:
            self._mailer.send(mail)
        except MailError as error:
            # Not retried: the endpoint's page shows it disabled, with the reason, either way.
            log.warning("alert endpoint %d: emailing its admins failed: %s", endpoint.id, error)
            return
        log.info("alert endpoint %d disabled: emailed %d admins", endpoint.id, len(to))


def disabled_notifiers(
    settings: Settings, db: Database, mailer: Mailer | None = None
) -> list[Notifier]:
    """What a process's delivery loop calls when it disables an endpoint: the admins' email
    when SMTP is set up (``OPENFEEDER_SMTP_HOST``), else nothing (the disable is logged)."""
    if not settings.smtp_host:
        log.info(
            "email is not set up (OPENFEEDER_SMTP_HOST): admins are not emailed when an "
            "alert endpoint is disabled; it is logged"
        )
        return []
    return [EmailAdmins(db, mailer or make_mailer(settings))]
