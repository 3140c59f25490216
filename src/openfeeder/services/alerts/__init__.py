"""Alerts: rules on feeds that turn recorded visits into events (``events``), the outbox of
deliveries and the loop that sends them (``delivery``), the channels (``channels``: signed
webhooks, Slack, Teams; email wired in by the mailer), the SSRF-safe client (``http``), the
Standard Webhooks signatures (``signing``) and the use cases that manage them (``manage``).
docs/alerts.md describes the whole."""

from __future__ import annotations

from openfeeder.services.alerts.delivery import Deliverer, on_endpoint_disabled
from openfeeder.services.alerts.events import evaluate_visits
from openfeeder.services.alerts.manage import (
    NewEndpoint,
    create_endpoint,
    create_rule,
    delete_endpoint,
    delete_rule,
    delivery_log,
    finish_rotation,
    get_endpoint,
    list_deliveries,
    list_endpoints,
    list_rules,
    replay_delivery,
    rotate_secret,
    send_test_event,
    set_endpoint_enabled,
    set_rule_enabled,
)

__all__ = [
    "Deliverer",
    "NewEndpoint",
    "create_endpoint",
    "create_rule",
    "delete_endpoint",
    "delete_rule",
    "delivery_log",
    "evaluate_visits",
    "finish_rotation",
    "get_endpoint",
    "list_deliveries",
    "list_endpoints",
    "list_rules",
    "on_endpoint_disabled",
    "replay_delivery",
    "rotate_secret",
    "send_test_event",
    "set_endpoint_enabled",
    "set_rule_enabled",
]
