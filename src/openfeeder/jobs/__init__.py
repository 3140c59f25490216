"""Background jobs: the huey queue (SQLite in-process by default, Redis for scale-out), the
loop that runs its tasks inside ``serve`` or in ``openfeeder worker``, and the thin jobs."""

from openfeeder.jobs.queue import JobQueue, make_queue, run_worker

__all__ = ["JobQueue", "make_queue", "run_worker"]
