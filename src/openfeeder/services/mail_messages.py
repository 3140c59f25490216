"""The emails openfeeder writes, each a plain-text and an HTML body from the Jinja2 templates
in ``mail_templates/`` (``<name>.txt`` and ``<name>.html``): the invitation here, alerts in
``services.alerts.email`` and digests in ``services.digests``.

Everything a visitor or a company record supplies is hostile. The HTML templates are
autoescaped; in both kinds a value goes through ``line`` (control characters and line breaks
become spaces, so a company name cannot fake a paragraph of the text part) and links through
``link`` (only http and https survive).
"""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import urlsplit

import jinja2

from openfeeder.config import Settings
from openfeeder.services.mailer import Mail, Mailer, SmtpMailer, header_text

MAX_VALUE = 300  # characters of one value (a page title, a company name) in an email


def line(value: object, limit: int = MAX_VALUE) -> str:
    return "" if value is None else header_text(value, limit)


def link(value: object) -> str | None:
    """``value`` when it is an http(s) URL of sane length: no ``javascript:`` in an href."""
    text = value.strip() if isinstance(value, str) else ""
    ok = len(text) <= 2000 and urlsplit(text).scheme.lower() in ("http", "https")
    return text if ok and all(ord(ch) > 0x20 for ch in text) else None


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("openfeeder.services", "mail_templates"),
        # Every .html template is autoescaped; the .txt ones are plain text, not markup.
        autoescape=jinja2.select_autoescape(["html"], default_for_string=True, default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["line"] = line
    env.filters["link"] = link
    return env


def render(name: str, **values: Any) -> tuple[str, str]:
    """The text and the HTML body of template ``name``."""
    text = _environment().get_template(f"{name}.txt").render(**values)
    html = _environment().get_template(f"{name}.html").render(**values)
    return text, html


def invitation(to: str, account_name: str, inviter: str, link_url: str) -> Mail:
    values = {"account": account_name, "inviter": inviter, "link": link_url}
    text, html = render("invitation", **values)
    subject = f"{line(inviter, 80)} invited you to {line(account_name, 80)} on openfeeder"
    return Mail(to=[to], subject=subject, text=text, html=html)


def send_invitation(mailer: Mailer, to: str, account_name: str, inviter: str, link: str) -> None:
    """Email ``to`` an invitation to the account; ``link`` is where they accept it."""
    mailer.send(invitation(to, account_name, inviter, link))


# ── password resets (docs/dashboard.md, "Forgotten passwords") ──


def password_reset(to: str, link_url: str, minutes: int) -> Mail:
    text, html = render("password_reset", email=to, link=link_url, minutes=minutes)
    return Mail(to=[to], subject="Reset your openfeeder password", text=text, html=html)


def send_password_reset(mailer: Mailer, to: str, link: str, minutes: int) -> None:
    """Email ``to`` the link that sets a new password, good for ``minutes``."""
    mailer.send(password_reset(to, link, minutes))


def send_test(settings: Settings, to: str) -> str:
    """Send a test email to ``to`` through the settings' server; the server it went through."""
    mailer = SmtpMailer(settings)
    text, html = render("mail_test", server=mailer.server, security=settings.smtp_security)
    mailer.send(Mail(to=[to], subject="openfeeder test email", text=text, html=html))
    return mailer.server


# ── an alert endpoint disabled after days of failures (services.alerts.disabled) ──


def endpoint_disabled(
    to: list[str],
    *,
    account: str,
    endpoint: str,
    kind: str,
    target: str,
    reason: str,
    disabled_at: str,
    errors: list[str],
    link: str,
) -> Mail:
    """The email to an account's admins: which endpoint stopped, why, and the page (``link``)
    where it is enabled again."""
    values = {
        "account": account,
        "endpoint": endpoint,
        "kind": kind,
        "target": target,
        "reason": reason,
        "disabled_at": disabled_at,
        "errors": errors,
        "link": link,
    }
    text, html = render("endpoint_disabled", **values)
    subject = f"Alert endpoint disabled: {line(endpoint, 80)} ({line(account, 80)})"
    return Mail(to=to, subject=subject, text=text, html=html)
