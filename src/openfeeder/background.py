"""The one background loop: the job queue and the tracking pipeline each run as a
``BackgroundLoop`` (repeat a turn, upkeep now and then, wait when idle, back off after an
error), in a daemon thread of ``serve`` or in the foreground under ``run_until_signalled``.

Written here rather than taken from huey's consumer or a scheduler library because the same
loop must run in a thread (huey's consumer installs signal handlers, which only the main
thread may do) and carry our own upkeep beside the work.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping
from types import FrameType

log = logging.getLogger(__name__)

Loop = Callable[[threading.Event], None]


class BackgroundLoop:
    """Runs ``turn`` until stopped. ``turn`` returns True when it did some work (the next
    turn follows at once) and False when there was none (the loop then waits up to
    ``idle_seconds``, or until ``wake``). ``upkeep`` runs first and then every
    ``upkeep_seconds``. Whatever a turn or upkeep raises is logged and waited out for
    ``backoff_seconds``: the loop never dies of an error."""

    def __init__(
        self,
        name: str,
        turn: Callable[[], bool],
        upkeep: Callable[[], object],
        *,
        upkeep_seconds: float,
        idle_seconds: float,
        backoff_seconds: float,
    ) -> None:
        self.name = name
        self._turn = turn
        self._upkeep = upkeep
        self.upkeep_seconds = upkeep_seconds
        self.idle_seconds = idle_seconds
        self.backoff_seconds = backoff_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_upkeep = 0.0

    def wake(self) -> None:
        """End an idle wait now (new work was handed to this process)."""
        self._wake.set()

    def work(self, stop: threading.Event) -> None:
        """Run turns and upkeep in this thread until ``stop`` is set."""
        log.info("%s loop started", self.name)
        while not stop.is_set():
            try:
                if time.monotonic() >= self._next_upkeep:
                    self._next_upkeep = time.monotonic() + self.upkeep_seconds
                    self._upkeep()
                if not self._turn() and self.idle_seconds > 0:
                    self._wake.wait(self.idle_seconds)
                    self._wake.clear()
            except Exception:
                log.exception("%s loop error; retrying in %.0fs", self.name, self.backoff_seconds)
                stop.wait(self.backoff_seconds)
        log.info("%s loop stopped", self.name)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Run the loop in a daemon thread of this process; a second start is a no-op."""
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self.work, args=(self._stop,), name=f"openfeeder-{self.name}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float) -> bool:
        """Ask the thread to stop after the turn in hand; True once it has (or never ran).

        A thread still busy after ``timeout`` is left to finish: it is a daemon, and the work
        it holds is safe to lose (the owners say how it is redone)."""
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is None:
            return True
        thread.join(timeout)
        if thread.is_alive():
            log.warning(
                "%s thread still busy after %.0fs; leaving it to finish", self.name, timeout
            )
            return False
        return True


def run_until_signalled(loops: Mapping[str, Loop]) -> None:
    """Run each loop until SIGINT or SIGTERM: the first in this thread (signals arrive
    here), the others in threads of their own, all watching one stop event.

    The first signal asks every loop to stop once the work in hand is done; a second one
    stops at once."""
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
