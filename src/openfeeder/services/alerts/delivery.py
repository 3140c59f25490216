"""The delivery loop: claims due deliveries from the outbox with a lease, sends each through
its endpoint's channel, records the attempt (request headers and body, response status, a
body excerpt of at most 2 KB, latency, error) and either marks the delivery delivered or
schedules its retry (``domain.alerts.RETRY_DELAYS``, with jitter, about a day in all).

It runs as a ``BackgroundLoop`` in ``openfeeder worker`` and in a daemon thread of ``serve``.
A worker killed mid-delivery loses nothing: the claim's lease runs out and the delivery is
claimed again, with the same event (and so the same ``webhook-id``): at least once.

An endpoint whose deliveries have all failed for ``alerts_disable_after_days`` is disabled,
with when and why; ``on_endpoint_disabled`` then calls the loop's notifiers
(``services.alerts.disabled``: the email to the account's admins, when SMTP is set up)."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import Connection

from openfeeder.background import BackgroundLoop
from openfeeder.config import Settings
from openfeeder.domain.alerts import DueDelivery, Endpoint, next_retry
from openfeeder.domain.clock import SYSTEM_CLOCK, Clock
from openfeeder.services.alerts.channels import HTTP_CHANNELS, OTHER_CHANNELS
from openfeeder.services.alerts.events import stored_body
from openfeeder.services.alerts.http import Answer, Poster
from openfeeder.services.urls import public_base_url
from openfeeder.store import alerts as store
from openfeeder.store.db import Database

log = logging.getLogger(__name__)

IDLE_SECONDS = 1.0
ERROR_BACKOFF_SECONDS = 5.0
UPKEEP_SECONDS = 3600.0
MAX_BODY_KEPT = 65_536  # characters of a request body kept in the delivery log
OUTCOMES = ("delivered", "retry", "failed")  # of one attempt

Notifier = Callable[[Settings, Endpoint], None]
# Called with (settings, endpoint) after an endpoint was disabled for failing for days, in
# every process, besides the notifiers a ``Deliverer`` is built with (the admins' email:
# ``services.alerts.disabled.disabled_notifiers``, chosen where the app and the worker
# build their loop, since it needs their store).
ENDPOINT_DISABLED_NOTIFIERS: list[Notifier] = []


def on_endpoint_disabled(
    settings: Settings, endpoint: Endpoint, notifiers: Sequence[Notifier] = ()
) -> None:
    log.warning(
        "alert endpoint %d (%s) disabled: %s", endpoint.id, endpoint.name, endpoint.disabled_reason
    )
    for notify in (*ENDPOINT_DISABLED_NOTIFIERS, *notifiers):
        try:
            notify(settings, endpoint)
        except Exception:
            log.exception("alert endpoint %d: telling its admins failed", endpoint.id)


class Deliverer:
    """Delivers alert events; ``run_once`` in tests, ``work``/``start_in_process`` as a loop."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        clock: Clock = SYSTEM_CLOCK,
        rng: random.Random | None = None,
        notifiers: Sequence[Notifier] = (),
    ) -> None:
        self.settings = settings
        self.notifiers = tuple(notifiers)
        self.db = db
        self._clock = clock
        self._rng = rng or random.Random()  # jitter, not a secret
        self._poster = Poster(
            timeout=settings.alerts_timeout, allow_loopback=settings.alerts_allow_loopback
        )
        self.lease = timedelta(seconds=settings.alerts_lease_seconds)
        self._app_url = public_base_url(settings, None)
        # As many as can be sent, one after another, well within the lease.
        self.claim_size = max(1, int(settings.alerts_lease_seconds / (2 * settings.alerts_timeout)))
        self._loop = BackgroundLoop(
            "alerts",
            self._turn,
            lambda: None,
            upkeep_seconds=UPKEEP_SECONDS,
            idle_seconds=IDLE_SECONDS,
            backoff_seconds=ERROR_BACKOFF_SECONDS,
        )
        # This process's attempts by outcome, for ``/metrics`` (the store's totals are the
        # ``openfeeder_alert_deliveries`` gauge).
        self.registry = CollectorRegistry(auto_describe=True)
        attempts = Counter(
            "openfeeder_alert_delivery_attempts",
            "Alert delivery attempts made by this process, by outcome: delivered, retry "
            "(failed, tried again later), failed (failed, no retry left).",
            ["outcome"],
            registry=self.registry,
        )
        self._attempts = {outcome: attempts.labels(outcome) for outcome in OUTCOMES}

    def run_once(self) -> int:
        """Deliver what is due now, until nothing is; how many attempts were made."""
        made = 0
        while batch := self._claim():
            made += self._send_all(batch)
        return made

    def _turn(self) -> bool:
        return bool(self._send_all(self._claim()))

    def _send_all(self, batch: list[DueDelivery]) -> int:
        """Send a claimed batch, then record every attempt in one transaction. A worker
        killed before that commit has sent some of them unrecorded: their leases run out
        and they are sent again (at least once, as the same event)."""
        if not batch:
            return 0
        sent = [(due, *self._attempt(due)) for due in batch]
        disabled: list[Endpoint] = []
        outcomes: list[str] = []
        with self.db.write() as conn:
            for due, started, body, headers, answer in sent:
                outcome, endpoint = self._record(conn, due, started, body, headers, answer)
                outcomes.append(outcome)
                if endpoint is not None:
                    disabled.append(endpoint)
        # Counted once committed, as the pipeline counts its hits.
        for outcome in outcomes:
            self._attempts[outcome].inc()
        for endpoint in disabled:
            on_endpoint_disabled(self.settings, endpoint, self.notifiers)
        return len(sent)

    def _claim(self) -> list[DueDelivery]:
        now = self._clock.now()
        with self.db.write() as conn:
            return store.claim_due(conn, now, now + self.lease, self.claim_size)

    def _attempt(self, due: DueDelivery) -> tuple[datetime, str, dict[str, str], Answer]:
        """Send one delivery: (when, body as logged, headers as logged, answer)."""
        event = due.event
        now = self._clock.now()
        if event is None:
            with self.db.write() as conn:
                event = stored_body(conn, due.delivery.event_id, self._app_url)
        if event is None:
            return now, "", {}, Answer(None, None, 0, "the event's lead or visit no longer exists")
        return (now, *self._send(due.endpoint, event, now))

    def _record(
        self,
        conn: Connection,
        due: DueDelivery,
        started: datetime,
        body: str,
        headers: dict[str, str],
        answer: Answer,
    ) -> tuple[str, Endpoint | None]:
        """Store the attempt and its outcome; the outcome (one of ``OUTCOMES``) and the
        endpoint when this disabled it."""
        endpoint = due.endpoint
        finished = self._clock.now()
        attempts = due.delivery.attempts + 1
        store.record_attempt(
            conn,
            {
                "delivery_id": due.delivery.id,
                "at": started,
                "request_headers": headers,
                "request_body": body[:MAX_BODY_KEPT],
                "response_status": answer.status,
                "response_excerpt": answer.excerpt,
                "latency_ms": answer.latency_ms,
                "error": answer.error,
            },
        )
        if answer.ok:
            store.finish_delivery(
                conn,
                due.delivery.id,
                {
                    "status": "delivered",
                    "attempts": attempts,
                    "delivered_at": finished,
                    "next_attempt_at": None,
                    "last_error": None,
                },
            )
            store.endpoint_succeeded(conn, endpoint.id)
            return "delivered", None
        error = answer.error or f"HTTP {answer.status}"
        retry = next_retry(attempts, finished, self._rng)
        store.finish_delivery(
            conn,
            due.delivery.id,
            {
                "status": "pending" if retry else "failed",
                "attempts": attempts,
                "next_attempt_at": retry,
                "last_error": error,
            },
        )
        outcome = "retry" if retry else "failed"
        since = store.endpoint_failed(conn, endpoint.id, finished)
        if finished - since < timedelta(days=self.settings.alerts_disable_after_days):
            return outcome, None
        reason = f"every delivery failed since {since:%Y-%m-%d %H:%M} UTC; last: {error}"
        if not store.disable_endpoint(conn, endpoint.id, finished, reason[:1000]):
            return outcome, None
        return outcome, store.get_endpoint(conn, endpoint.account_id, endpoint.id)

    def _send(
        self, endpoint: Endpoint, event: dict[str, Any], now: datetime
    ) -> tuple[str, dict[str, str], Answer]:
        """(body as logged, headers as logged, answer)."""
        sender = HTTP_CHANNELS.get(endpoint.kind)
        if sender is not None:
            try:
                outgoing = sender(endpoint, event, int(now.timestamp()))
            except Exception as error:  # a template that renders nothing sensible, say
                return "", {}, Answer(None, None, 0, f"{type(error).__name__}: {error}"[:500])
            answer = self._poster.post(endpoint.url, outgoing.body, outgoing.headers)
            return outgoing.body.decode("utf-8", errors="replace"), outgoing.headers, answer
        other = OTHER_CHANNELS.get(endpoint.kind)
        if other is None:
            return "", {}, Answer(None, None, 0, f"no sender for {endpoint.kind} endpoints")
        try:
            other(self.settings, endpoint.config, event)
        except Exception as error:
            return "", {}, Answer(None, None, 0, f"{type(error).__name__}: {error}"[:500])
        return "", {}, Answer(None, "sent", 0, None)

    # ── the loop ──

    def work(self, stop: threading.Event) -> None:
        self._loop.work(stop)

    def start_in_process(self) -> None:
        self._loop.start()

    def wake(self) -> None:
        self._loop.wake()

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop.stop(timeout):
            self.close()

    def close(self) -> None:
        self._poster.close()
