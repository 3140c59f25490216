"""Handlers for export requests and the token-free download of finished exports."""

from __future__ import annotations

from starlette.responses import FileResponse, Response

from openfeeder.api import params, resources
from openfeeder.api.context import Context
from openfeeder.api.jsonapi import JSONAPIResponse
from openfeeder.services import exports, feeds


def create_export(ctx: Context) -> Response:
    account = ctx.account(params.required(ctx.params, "account_id"), premium=True)
    feed_id = params.required(ctx.params, "custom_feed_id")
    first, last = params.interval(ctx.params)
    feed = feeds.get_feed(ctx.db, account, ctx.user, feed_id)
    item = exports.create_export(
        ctx.db,
        ctx.services.queue,
        account,
        ctx.user,
        feed.id,
        first,
        last,
        request_base_url=str(ctx.request.base_url),
        clock=ctx.services.clock,
    )
    body = {"data": resources.export_request(item, ctx.base_url, ctx.fields)}
    return JSONAPIResponse(body, 201, headers={"Location": ctx.url(f"/export-feed/{item.id}")})


def get_export(ctx: Context, export_id: str) -> Response:
    item = exports.get_export(ctx.db, ctx.user, export_id)
    return JSONAPIResponse({"data": resources.export_request(item, ctx.base_url, ctx.fields)})


def download(ctx: Context, file_name: str) -> Response:
    services = ctx.services
    path = exports.download_file(ctx.db, services.export_files, file_name, clock=services.clock)
    return FileResponse(path, media_type="application/json", filename=file_name)
