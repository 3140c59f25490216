"""The public unsubscribe page a digest links to: opening it asks to confirm (so a mail
scanner that fetches every link stops nothing), the form's POST stops the digest. The token
in the address is the only credential (``Auth.CAPABILITY``): the same POST is RFC 8058's
one-click unsubscribe (body ``List-Unsubscribe=One-Click``), which a mail client sends on
its own, without any cookie or anti-forgery token. Scanners fetch links, they do not POST to
them: that is the RFC's premise, and why the page itself still asks."""

from __future__ import annotations

from starlette.responses import Response

from openfeeder.dashboard.web import WebContext
from openfeeder.services import digests


def unsubscribe_page(ctx: WebContext, token: str) -> Response:
    subscription = digests.by_token(ctx.services.db, token)
    return ctx.render(
        "unsubscribe.html",
        subscription=subscription,
        feed=digests.feed_name(ctx.services.db, subscription),
        token=token,
    )


def unsubscribe(ctx: WebContext, token: str) -> Response:
    subscription = digests.unsubscribe(ctx.services.db, token)
    return ctx.render("unsubscribed.html", subscription=subscription)
