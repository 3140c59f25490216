"""The jobs, registered on a huey instance by ``register``: thin wrappers that call one
service each and are safe to run twice (the services fence their own side effects)."""

from __future__ import annotations

from typing import Any

from openfeeder.config import Settings
from openfeeder.domain.clock import Clock
from openfeeder.services import exports
from openfeeder.store.db import Database

EXPORT_TASK = "export"


def register(
    huey: Any,
    db: Database,
    settings: Settings,
    files: exports.ExportFiles,
    clock: Clock,
    *,
    retry_delay: float,
) -> Any:
    """Register the tasks on ``huey`` and return the export task (call it to enqueue)."""

    def export(export_id: str, task: Any) -> None:
        try:
            exports.run_export(db, settings, files, export_id, clock=clock)
        except Exception as error:
            # run_export fails the request itself on its last claim; this covers an attempt
            # that broke before it could claim (the database was unreachable, say).
            if not task.retries:
                message = f"The export job failed: {type(error).__name__}: {error}"
                exports.mark_failed(db, export_id, message[:1000], clock=clock)
            raise

    # The name is fixed, so every process that builds a queue registers the same task.
    return huey.task(
        retries=exports.MAX_ATTEMPTS - 1, retry_delay=retry_delay, context=True, name=EXPORT_TASK
    )(export)
