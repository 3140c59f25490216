"""``openfeeder worker``: background loops (the tracking pipeline, the job queue) run in the
foreground until SIGINT or SIGTERM, one signal handler for all of them.

The first signal asks every loop to stop once the work in hand is done; a second one stops
at once (an interrupted pipeline batch rolls back and is redone, an interrupted export's
heartbeat goes stale and the reaper re-runs it).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Mapping
from types import FrameType

from openfeeder.config import Settings
from openfeeder.store.db import Database

log = logging.getLogger(__name__)

Loop = Callable[[threading.Event], None]


def run_until_signalled(loops: Mapping[str, Loop]) -> None:
    """Run each loop until a signal: the first in this thread (signals arrive here), the
    others in threads of their own, all watching one stop event."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        log.info("signal %d: stopping after the work in hand", signum)
        stop.set()

    (_, main_loop), *others = loops.items()
    threads = [
        threading.Thread(target=loop, args=(stop,), name=f"openfeeder-{name}", daemon=True)
        for name, loop in others
    ]
    handled = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, on_signal) for signum in handled}
    try:
        for thread in threads:
            thread.start()
        main_loop(stop)
        for thread in threads:
            thread.join()
    except KeyboardInterrupt:
        log.warning("%s interrupted", ", ".join(loops))
    finally:
        stop.set()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run_worker(settings: Settings) -> None:
    """The tracking pipeline and the job queue in one process, until SIGINT or SIGTERM."""
    from openfeeder.jobs.queue import make_queue
    from openfeeder.pipeline import make_pipeline

    db = Database(settings.database_url)
    queue = make_queue(settings, db)
    pipeline = make_pipeline(settings, db)
    try:
        run_until_signalled({"jobs": queue.work, "pipeline": pipeline.work})
    finally:
        pipeline.close()
        queue.close()
        db.dispose()
