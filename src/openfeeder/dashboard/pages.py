"""The dashboard's pages: sign-in, the feed view (a feed's leads for a period) and the lead
page (who the company is, why we think so, and what they did)."""

from __future__ import annotations

import csv
import io
import math
import secrets
from collections.abc import Iterator
from datetime import date
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.responses import RedirectResponse, Response, StreamingResponse

from openfeeder.dashboard import web
from openfeeder.dashboard.render import STATIC_TYPES, static_files, static_url
from openfeeder.dashboard.web import WebContext
from openfeeder.domain import periods
from openfeeder.domain.errors import BadRequest, NotFound, RateLimited, Unauthorized
from openfeeder.domain.feeds import NUMERIC, Criterion, Feed, FeedCriterion, parse_criteria
from openfeeder.domain.ids import whole_number
from openfeeder.domain.models import Account, Lead
from openfeeder.services import accounts as account_services
from openfeeder.services import feeds, installation, lead_actions, leads, signin, traffic, visits
from openfeeder.services.urls import public_base_url

PAGE_SIZE = 50
VISITS_PAGE_SIZE = 25
MAX_SEARCH = 200
LOGIN_CSRF_AGE = 3600
# What the sign-in form says after the password reset link (dashboard/reset.py) sent it here.
LOGIN_NOTICES = {"done": "Your new password is set. Sign in with it."}


# ── signing in and out ──


def _login_form(ctx: WebContext, status: int = 200, error: str | None = None) -> Response:
    token = secrets.token_urlsafe(32)
    response = ctx.render(
        "login.html",
        status,
        login_csrf=token,
        next=web.safe_next(ctx.form.get("next") or ctx.query.get("next")),
        email=ctx.form.get("email", "")[:320],
        error=error,
        notice=LOGIN_NOTICES.get(ctx.query.get("reset", "")) if not error else None,
    )
    web.set_cookie(response, ctx, web.LOGIN_CSRF_COOKIE, token, LOGIN_CSRF_AGE)
    return response


def login_page(ctx: WebContext) -> Response:
    if _signed_in(ctx):
        return RedirectResponse(web.safe_next(ctx.query.get("next")), status_code=303)
    return _login_form(ctx)


def _signed_in(ctx: WebContext) -> bool:
    services = ctx.services
    cookie = ctx.request.cookies.get(web.SESSION_COOKIE)
    return signin.session_for(services.db, services.clock, cookie) is not None


def login(ctx: WebContext) -> Response:
    services = ctx.services
    try:
        signed = signin.sign_in(
            services.db,
            services.limiter,
            services.clock,
            ctx.form.get("email", ""),
            ctx.form.get("password", ""),
            ip=ctx.request.client.host if ctx.request.client else None,
            user_agent=ctx.request.headers.get("user-agent"),
        )
    except Unauthorized as error:
        return _login_form(ctx, 401, error.detail)
    except RateLimited as error:
        response = _login_form(ctx, 429, error.detail)
        response.headers["Retry-After"] = error.headers.get("Retry-After", "60")
        return response
    response = RedirectResponse(web.safe_next(ctx.form.get("next")), status_code=303)
    web.set_cookie(response, ctx, web.SESSION_COOKIE, signed.token, signin.SESSION_DAYS * 24 * 3600)
    response.delete_cookie(web.LOGIN_CSRF_COOKIE, path=web.COOKIE_PATH)
    return response


def logout(ctx: WebContext) -> Response:
    signin.sign_out(ctx.services.db, ctx.request.cookies.get(web.SESSION_COOKIE))
    response = RedirectResponse("/app/login", status_code=303)
    response.delete_cookie(web.SESSION_COOKIE, path=web.COOKIE_PATH)
    return response


def home(ctx: WebContext) -> Response:
    accounts = web.accounts_of(ctx)
    if not accounts:
        return ctx.render("no_accounts.html")
    return RedirectResponse(f"/app/{accounts[0].id}/leads", status_code=303)


# ── the feed view ──


def _today(account: Account, ctx: WebContext) -> date:
    return ctx.services.clock.now().astimezone(ZoneInfo(account.timezone)).date()


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name} is not a date (yyyy-mm-dd): {value[:40]!r}.") from None


def period_of(ctx: WebContext, account: Account) -> periods.Period:
    """The period the query asks for: a preset (``range=30d``) or ``start``/``end``."""
    key = ctx.query.get("range", "")
    start, end = _day(ctx.query.get("start"), "start"), _day(ctx.query.get("end"), "end")
    if key in ("", "custom") and start and end:
        chosen = periods.custom(start, end)
        if chosen is None:
            raise BadRequest(
                f"The start date must not be after the end date, and the range must be "
                f"shorter than {periods.MAX_DAYS} days."
            )
        return chosen
    found = periods.preset(key or periods.DEFAULT, _today(account, ctx))
    if found is None:
        raise BadRequest(f"Unknown date range {key[:40]!r}.")
    return found


def _page_number(ctx: WebContext) -> int:
    raw = ctx.query.get("page", "1")
    number = whole_number(raw, 9)
    if number is None or number < 1:
        raise BadRequest(f"page must be a whole number from 1, got {raw[:20]!r}.")
    return number


def _search(ctx: WebContext) -> str:
    return " ".join(ctx.query.get("q", "").split())[:MAX_SEARCH]


def _with_search(feed: Feed, text: str) -> list[FeedCriterion]:
    if not text:
        return feed.criteria
    return [*feed.criteria, FeedCriterion(Criterion.COMPANY_NAME, text, False, text)]


def _chosen_feed(ctx: WebContext, account: Account) -> tuple[list[Feed], Feed, str]:
    """Every feed of the account, the one the query names, and the search text."""
    all_feeds = feeds.list_feeds(ctx.services.db, account, ctx.user)
    feed_id = ctx.query.get("feed", "all_leads")
    feed = next((f for f in all_feeds if f.id == feed_id), None)
    if feed is None:
        raise NotFound("There is no such feed in this account.")
    return all_feeds, feed, _search(ctx)


def feed_view(ctx: WebContext, account_id: str) -> Response:
    account = ctx.account(account_id)
    period = period_of(ctx, account)
    all_feeds, feed, search = _chosen_feed(ctx, account)
    number = _page_number(ctx)
    searched = Feed(feed.id, feed.name, _with_search(feed, search))
    found = leads.list_leads(
        ctx.services.db, account, searched, period.first, period.last, number, PAGE_SIZE
    )
    pages = max(1, math.ceil(found.total / PAGE_SIZE))
    current = {
        "feed": feed.id,
        "range": period.key,
        "start": period.first.isoformat() if period.key == "custom" else None,
        "end": period.last.isoformat() if period.key == "custom" else None,
        "q": search or None,
        "page": str(number) if number > 1 else None,
    }

    def link(**changes: object) -> str:
        merged = current | {k: None if v is None else str(v) for k, v in changes.items()}
        if merged.get("page") == "1":
            merged["page"] = None
        query = urlencode({k: v for k, v in merged.items() if v is not None})
        return f"/app/{account.id}/leads?{query}"

    def csv_link() -> str:
        query = urlencode({k: v for k, v in current.items() if v is not None and k != "page"})
        return f"/app/{account.id}/leads.csv?{query}"

    return ctx.render(
        "leads.html",
        account=account,
        feeds=all_feeds,
        feed=feed,
        period=period,
        presets=periods.PRESETS,
        search=search,
        leads=found.items,
        total=found.total,
        page=number,
        pages=pages,
        cap=leads.LEAD_CAP,
        link=link,
        csv_link=csv_link(),
    )


CSV_COLUMNS = (
    "company", "domain", "quality", "visits", "last_visit_date", "city", "country",
    "industry", "employees", "status", "tags", "assignee", "lead_id",
)  # fmt: skip
CSV_PAGE = 100


def _csv_cell(value: object) -> str:
    """A cell as text; one that a spreadsheet would run as a formula is quoted with ``'``."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_row(lead: Lead) -> list[str]:
    company, location = lead.company, lead.location
    values = (
        company.name, company.domain, lead.quality, lead.visits,
        lead.last_visit_date.isoformat() if lead.last_visit_date else None,
        location.city, location.country, company.industry, company.employee_count,
        lead.status, ", ".join(lead.tags), lead.assignee, lead.id,
    )  # fmt: skip
    return [_csv_cell(value) for value in values]


def feed_csv(ctx: WebContext, account_id: str) -> Response:
    """Every lead the feed view lists for the same feed, period and search (all its pages,
    up to the list's 10 000 cap), streamed page by page as CSV."""
    account = ctx.account(account_id)
    period = period_of(ctx, account)
    _, feed, search = _chosen_feed(ctx, account)
    searched = Feed(feed.id, feed.name, _with_search(feed, search))
    db = ctx.services.db

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        for number in range(1, leads.LEAD_CAP // CSV_PAGE + 1):
            found = leads.list_leads(
                db, account, searched, period.first, period.last, number, CSV_PAGE
            )
            writer.writerows(_csv_row(lead) for lead in found.items)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            if number * CSV_PAGE >= found.total:
                return

    name = f"leads-{account.id}-{feed.id}-{period.first.isoformat()}-{period.last.isoformat()}"
    headers = {
        "Content-Disposition": f'attachment; filename="{_file_name(name)}.csv"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8", headers=headers)


def _file_name(text: str) -> str:
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "_" for ch in text)


# ── the custom feed editor ──

MAX_CRITERIA = 12
CRITERION_LABELS: dict[str, str] = {
    "country_code": "Country code (e.g. FI)",
    "region": "Region",
    "city": "City",
    "industry_code": "Industry (0 = any known)",
    "employee_count": "Employees (50-200, 50- or -200)",
    "company_name": "Company name contains",
    "tag": "Tag",
    "assignee": "Assignee email (0 = anyone)",
    "followed": "Followed by user id",
    "visits": "At least N visits",
    "pageviews": "At least N pageviews",
    "page_url": "Visited a page URL containing",
    "source": "Source",
    "medium": "Medium",
    "campaign": "Campaign",
    "device_type": "Device type",
}


def _criteria_from_form(form: dict[str, str]) -> list[dict[str, object]]:
    """The editor's rows (``type_N``, ``value_N``, ``excluded_N``) as API criteria; rows
    without a value are left out."""
    out: list[dict[str, object]] = []
    for index in range(MAX_CRITERIA):
        value = form.get(f"value_{index}", "").strip()
        if not value:
            continue
        kind = form.get(f"type_{index}", "")
        search: object = value
        if kind in {c.value for c in NUMERIC} and whole_number(value, 9) is not None:
            search = int(value)
        out.append(
            {
                "criterion_type": kind,
                "search_value": search,
                "excluded": form.get(f"excluded_{index}") == "on",
                "display_value": value,
            }
        )
    return out


def _editor(
    ctx: WebContext,
    account: Account,
    feed_id: str | None,
    name: str,
    criteria: list[dict[str, object]],
    status: int = 200,
    error: str | None = None,
) -> Response:
    rows = [*criteria, *({} for _ in range(3))][: max(MAX_CRITERIA, len(criteria))]
    return ctx.render(
        "feed_edit.html",
        status,
        account=account,
        feed_id=feed_id,
        name=name,
        rows=rows[:MAX_CRITERIA],
        labels=CRITERION_LABELS,
        error=error,
    )


def new_feed(ctx: WebContext, account_id: str) -> Response:
    return _editor(ctx, ctx.account(account_id), None, "", [])


def edit_feed(ctx: WebContext, account_id: str, feed_id: str) -> Response:
    account = ctx.account(account_id)
    feed = feeds.get_feed(ctx.services.db, account, ctx.user, feed_id)
    if whole_number(feed.id, 9) is None:
        raise NotFound("Built-in feeds cannot be edited.")
    return _editor(ctx, account, feed.id, feed.name, [c.as_json() for c in feed.criteria])


def save_feed(ctx: WebContext, account_id: str, feed_id: str | None = None) -> Response:
    account = ctx.account(account_id)
    name, criteria = ctx.form.get("name", ""), _criteria_from_form(ctx.form)
    try:
        if feed_id is None:
            feed = feeds.create_feed(ctx.services.db, account, name, criteria)
        else:
            feed = feeds.update_feed(ctx.services.db, account, feed_id, name, criteria)
    except BadRequest as error:
        return _editor(ctx, account, feed_id, name[:300], criteria, 400, error.detail)
    return RedirectResponse(f"/app/{account.id}/leads?feed={feed.id}", status_code=303)


def update_feed(ctx: WebContext, account_id: str, feed_id: str) -> Response:
    return save_feed(ctx, account_id, feed_id)


def delete_feed(ctx: WebContext, account_id: str, feed_id: str) -> Response:
    account = ctx.account(account_id)
    feeds.delete_feed(ctx.services.db, account, feed_id)
    return RedirectResponse(f"/app/{account.id}/leads", status_code=303)


def feed_count(ctx: WebContext, account_id: str) -> Response:
    """The editor's live count: how many leads the criteria being edited match in the last
    30 days (an htmx fragment; the form's own fields are the query)."""
    account = ctx.account(account_id)
    period = periods.preset(periods.DEFAULT, _today(account, ctx))
    assert period is not None
    try:
        criteria = parse_criteria(_criteria_from_form(ctx.query))
    except BadRequest as error:
        return ctx.render("feed_count.html", count=None, error=error.detail, period=period)
    found = leads.list_leads(
        ctx.services.db, account, Feed("draft", "", criteria), period.first, period.last, 1, 1
    )
    return ctx.render(
        "feed_count.html", count=found.total, error=None, period=period, cap=leads.LEAD_CAP
    )


# ── the lead page ──


def _lead(ctx: WebContext, account_id: str, lead_id: str) -> tuple[Account, Lead]:
    account = ctx.account(account_id)
    if len(lead_id) > 64:
        raise NotFound("There is no such lead in this account.")
    return account, leads.get_lead(ctx.services.db, account, lead_id)


def lead_page(ctx: WebContext, account_id: str, lead_id: str) -> Response:
    account, lead = _lead(ctx, account_id, lead_id)
    number = _page_number(ctx)
    first = lead.first_visit_date or _today(account, ctx)
    last = lead.last_visit_date or first
    found = visits.list_visits(
        ctx.services.db, account, first, last, number, VISITS_PAGE_SIZE, lead_pk=lead.pk
    )
    reasons: dict[tuple[str | None, str | None], int] = {}
    for visit in found.items:
        key = (visit.match_source, visit.match_reason)
        reasons[key] = reasons.get(key, 0) + 1
    return ctx.render(
        "lead.html",
        account=account,
        lead=lead,
        work=lead_actions.work_on(ctx.services.db, account, ctx.user, lead),
        admin=traffic.is_admin(ctx.services.db, account, ctx.user),
        visits=found.items,
        reasons=reasons,
        page=number,
        pages=max(1, math.ceil(found.total / VISITS_PAGE_SIZE)),
        total=found.total,
    )


def lead_action(ctx: WebContext, account_id: str, lead_id: str, action: str) -> Response:
    """One of the lead page's forms; then back to the lead page (no script needed)."""
    account, lead = _lead(ctx, account_id, lead_id)
    db, form = ctx.services.db, ctx.form
    match action:
        case "follow" | "unfollow":
            lead_actions.follow(db, ctx.user, lead, action == "follow")
        case "assign":
            lead_actions.assign(db, account, lead, form.get("assignee", ""))
        case "handled":
            lead_actions.mark_handled(db, ctx.user, lead)
        case "tags":
            lead_actions.set_tags(db, lead, form.get("tags", ""))
        case "notes":
            lead_actions.add_note(db, ctx.services.clock, ctx.user, lead, form.get("body", ""))
        case "hide":
            traffic.hide_company(db, account, ctx.user, lead)
        case "unhide":
            traffic.unhide_company(db, account, ctx.user, lead)
        case _:
            raise NotFound("There is no such action.")
    return RedirectResponse(f"/app/{account.id}/leads/{lead.id}", status_code=303)


# ── settings (admins) ──


def _admin_account(ctx: WebContext, account_id: str) -> Account:
    account = ctx.account(account_id)
    traffic.require_admin(ctx.services.db, account, ctx.user)
    return account


def tracking_settings(
    ctx: WebContext,
    account_id: str,
    status: int = 200,
    check: installation.Check | None = None,
    check_error: str | None = None,
) -> Response:
    account = _admin_account(ctx, account_id)
    [view] = account_services.views(ctx.services.db, [account])
    return ctx.render(
        "settings_tracking.html",
        status,
        account=account,
        snippet=account_services.script_html(_base_url(ctx), account.script_hash),
        tracking_status=view.tracking_status,
        heard=traffic.tracking(ctx.services.db, account),
        check=check,
        check_error=check_error,
        check_url=ctx.form.get("url", "")[: installation.MAX_URL],
    )


def _base_url(ctx: WebContext) -> str:
    return public_base_url(ctx.services.settings, str(ctx.request.base_url))


def check_installation(ctx: WebContext, account_id: str) -> Response:
    """The tracking page's "Check installation" form: the page again, with what was found."""
    account = _admin_account(ctx, account_id)
    services = ctx.services
    try:
        url = installation.checked_url(ctx.form.get("url", ""))
        found = installation.check(
            services.settings, services.limiter, account, _base_url(ctx), url
        )
    except BadRequest as error:
        return tracking_settings(ctx, account_id, 400, check_error=error.detail)
    except RateLimited as error:
        response = tracking_settings(ctx, account_id, 429, check_error=error.detail)
        response.headers["Retry-After"] = error.headers.get("Retry-After", "60")
        return response
    return tracking_settings(ctx, account_id, check=found)


def rules_settings(
    ctx: WebContext, account_id: str, status: int = 200, error: str | None = None
) -> Response:
    account = _admin_account(ctx, account_id)
    return ctx.render(
        "settings_rules.html",
        status,
        account=account,
        rules=traffic.rules(ctx.services.db, account),
        error=error,
        kinds=traffic.KINDS,
    )


def add_rule(ctx: WebContext, account_id: str) -> Response:
    account = _admin_account(ctx, account_id)
    try:
        traffic.add_rule(
            ctx.services.db, account, ctx.form.get("kind", ""), ctx.form.get("value", "")
        )
    except BadRequest as error:
        return rules_settings(ctx, account_id, 400, error.detail)
    return RedirectResponse(f"/app/{account.id}/settings/rules", status_code=303)


def delete_rule(ctx: WebContext, account_id: str, rule_id: str) -> Response:
    account = _admin_account(ctx, account_id)
    number = whole_number(rule_id, 9)
    if number is None:
        raise NotFound("There is no such traffic rule.")
    traffic.delete_rule(ctx.services.db, account, number)
    return RedirectResponse(f"/app/{account.id}/settings/rules", status_code=303)


# ── static files ──


def static(ctx: WebContext, name: str) -> Response:
    found = static_files().get(name)
    if found is None:
        raise NotFound("There is no such file.")
    content, digest = found
    media = STATIC_TYPES["." + name.rpartition(".")[2]]
    versioned = ctx.query.get("v") == digest
    cache = "public, max-age=31536000, immutable" if versioned else "public, max-age=300"
    headers = {"Cache-Control": cache, "X-Content-Type-Options": "nosniff", "ETag": digest}
    if not versioned and ctx.query.get("v"):
        return RedirectResponse(static_url(name), status_code=307)
    return Response(content, media_type=media, headers=headers)
