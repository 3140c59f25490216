"""The dashboard's Digests page, for every member of an account: their own digest
subscriptions (daily or weekly, per feed of the account) listed, added and removed. An admin
also sees every member's, and may remove any (as they may disable any member's API token);
new ones are always the signed-in person's own. Every change goes through
``services.digests``, the same use cases as ``openfeeder digests``."""

from __future__ import annotations

from starlette.responses import Response

from openfeeder.dashboard.people import _back, _number
from openfeeder.dashboard.web import WebContext
from openfeeder.domain.errors import BadRequest, Conflict
from openfeeder.services import digests, feeds, traffic

CADENCES = (
    ("daily", "Daily, at 09:00: the day before"),
    ("weekly", "Weekly, on Monday at 09:00: the week before"),
)


def digests_page(
    ctx: WebContext, account_id: str, status: int = 200, error: str | None = None
) -> Response:
    account = ctx.account(account_id)
    db = ctx.services.db
    admin = traffic.is_admin(db, account, ctx.user)
    feed_list = feeds.list_feeds(db, account, ctx.user)
    names = {feed.id: feed.name for feed in feed_list}
    rows = [
        {
            "subscription": s,
            "feed": names.get(s.feed_id) or digests.feed_name(db, s),
            "mine": s.user.id == ctx.user.id,
        }
        for s in digests.subscriptions_in(db, account, ctx.user, everyone=admin)
    ]
    # A failed form keeps what was chosen; a value that is no option selects nothing.
    form = {k: ctx.form.get(k, "")[:100] for k in ("feed", "cadence")} if error else {}
    return ctx.render(
        "digests.html",
        status,
        account=account,
        section="digests",
        is_admin=admin,
        rows=rows,
        feeds=feed_list,
        cadences=CADENCES,
        labels=dict(CADENCES),
        form=form,
        error=error,
    )


def add_digest(ctx: WebContext, account_id: str) -> Response:
    account = ctx.account(account_id)
    try:
        digests.subscribe_member(
            ctx.services.db,
            ctx.services.clock.now(),
            account,
            ctx.user,
            ctx.form.get("feed", ""),
            ctx.form.get("cadence", ""),
        )
    except BadRequest as error:
        return digests_page(ctx, account_id, 400, error.detail)
    except Conflict:
        return digests_page(ctx, account_id, 409, "You get this digest already.")
    return _back(f"/app/{account.id}/digests")


def remove_digest(ctx: WebContext, account_id: str, digest_id: str) -> Response:
    account = ctx.account(account_id)
    db = ctx.services.db
    digests.remove_in(
        db,
        account,
        ctx.user,
        _number(digest_id, "digest subscription"),
        anyones=traffic.is_admin(db, account, ctx.user),
    )
    return _back(f"/app/{account.id}/digests")
