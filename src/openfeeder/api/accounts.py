"""Handlers for accounts, custom feeds and the website tracking script."""

from __future__ import annotations

from starlette.responses import Response

from openfeeder.api import resources
from openfeeder.api.context import Context
from openfeeder.api.jsonapi import JSONAPIResponse
from openfeeder.services import accounts, feeds


def list_accounts(ctx: Context) -> Response:
    views = accounts.list_for_user(ctx.db, ctx.user)
    return JSONAPIResponse({"data": [resources.account(v, ctx.fields) for v in views]})


def get_account(ctx: Context, account_id: str) -> Response:
    (view,) = accounts.views(ctx.db, [ctx.account(account_id)])
    return JSONAPIResponse({"data": resources.account(view, ctx.fields)})


def list_feeds(ctx: Context, account_id: str) -> Response:
    items = feeds.list_feeds(ctx.db, ctx.account(account_id), ctx.user)
    return JSONAPIResponse({"data": [resources.feed(f, ctx.fields) for f in items]})


def get_feed(ctx: Context, account_id: str, feed_id: str) -> Response:
    item = feeds.get_feed(ctx.db, ctx.account(account_id), ctx.user, feed_id)
    return JSONAPIResponse({"data": resources.feed(item, ctx.fields)})


def tracking_script(ctx: Context, account_id: str) -> Response:
    account = ctx.account(account_id)
    data = resources.tracking_script(
        account.id, account.script_hash, account.timezone, ctx.base_url, ctx.fields
    )
    return JSONAPIResponse({"data": data})
