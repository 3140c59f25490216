"""``openfeeder worker``: the tracking pipeline, the job queue, the alert deliveries and the
scheduled IP database update in one process, in the foreground until SIGINT or SIGTERM, under
one signal handler (``background``).

An interrupted pipeline batch rolls back and is redone; an interrupted export's heartbeat
goes stale and the reaper re-runs it.
"""

from __future__ import annotations

from openfeeder.background import run_until_signalled
from openfeeder.config import Settings
from openfeeder.jobs import make_queue
from openfeeder.pipeline import make_pipeline
from openfeeder.services.alerts import Deliverer
from openfeeder.services.alerts.disabled import disabled_notifiers
from openfeeder.services.geoip import make_update_loop
from openfeeder.store.db import Database


def run_worker(settings: Settings) -> None:
    """The pipeline and the job queue until SIGINT or SIGTERM."""
    db = Database(settings.database_url)
    queue = make_queue(settings, db)
    pipeline = make_pipeline(settings, db)
    deliverer = Deliverer(settings, db, notifiers=disabled_notifiers(settings, db))
    try:
        loops = {"jobs": queue.work, "pipeline": pipeline.work, "alerts": deliverer.work}
        if (geoip := make_update_loop(settings)) is not None:
            loops["geoip"] = geoip.work  # IP database updates, when due
        run_until_signalled(loops)
    finally:
        pipeline.close()
        deliverer.close()
        queue.close()
        db.dispose()
