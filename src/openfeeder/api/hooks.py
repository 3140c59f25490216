"""Handlers of the REST hooks (an openfeeder extension): subscribe a target URL to an event
type of an account, and unsubscribe."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from openfeeder.api import params
from openfeeder.api.context import Context
from openfeeder.api.jsonapi import JSONAPIResponse
from openfeeder.domain.alerts import HookAttributes
from openfeeder.services.alerts import hooks


def _resource(hook: hooks.Hook) -> dict[str, Any]:
    attributes = HookAttributes(
        account_id=str(hook.endpoint.account_id),
        event=hook.event,
        target_url=hook.endpoint.url,
        feed_id=hook.rule.feed_id,
        created_at=hook.endpoint.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    if hook.secret is not None:
        attributes.secret = hook.secret
    return attributes.resource(str(hook.endpoint.id))


def create_hook(ctx: Context) -> Response:
    account = ctx.account(params.required(ctx.params, "account_id"))
    hook = hooks.subscribe(
        ctx.db,
        account,
        ctx.user,
        ctx.services.clock.now(),
        target_url=params.required(ctx.params, "target_url"),
        event=params.required(ctx.params, "event"),
        feed_id=ctx.params.get("feed_id", "").strip() or "all_leads",
        options={name: ctx.params.get(name, "").strip() for name in ("days", "pattern", "quality")},
    )
    location = ctx.url(f"/hooks/{hook.endpoint.id}")
    return JSONAPIResponse({"data": _resource(hook)}, 201, headers={"Location": location})


def delete_hook(ctx: Context, hook_id: str) -> Response:
    return JSONAPIResponse({"data": _resource(hooks.unsubscribe(ctx.db, ctx.user, hook_id))})
