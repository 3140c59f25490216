"""Background jobs: the huey queue (SQLite in-process by default, Redis for scale-out), run
by the shared background loop inside ``serve`` or in ``openfeeder worker``, and the thin,
retry-safe jobs."""

from openfeeder.jobs.queue import JobQueue, make_queue

__all__ = ["JobQueue", "make_queue"]
