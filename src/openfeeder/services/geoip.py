"""The scheduled IP database update that ``serve`` and ``worker`` run: a ``BackgroundLoop``
that looks every hour whether the installed files are older than
``OPENFEEDER_GEOIP_UPDATE_INTERVAL`` hours (or missing) and, if so, runs the same update as
``openfeeder geoip update``. The lock file in ``DATA_DIR/geoip/`` lets one process download
while the others skip; running processes then reopen the new files on their own."""

from __future__ import annotations

import logging
import os
import time

from openfeeder.background import BackgroundLoop
from openfeeder.config import Settings
from openfeeder.identify import databases

log = logging.getLogger(__name__)

CHECK_SECONDS = 3600.0
BACKOFF_SECONDS = 600.0
# The loop's idle wait: short, so a signalled ``worker`` stops within a second.
IDLE_SECONDS = 1.0


def _writable(settings: Settings) -> bool:
    directories = {databases.database_path(settings, kind).parent for kind in databases.KINDS}
    for directory in directories:
        probe = directory
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent  # the nearest existing parent is where it would be created
        if not os.access(probe, os.W_OK | os.X_OK):
            return False
    return True


def update_due(settings: Settings, now: float | None = None) -> bool:
    """Whether a file is missing or older than the update interval."""
    moment = time.time() if now is None else now
    interval = settings.geoip_update_interval * 3600
    for kind in databases.KINDS:
        try:
            modified = databases.database_path(settings, kind).stat().st_mtime
        except OSError:
            return True
        if moment - modified >= interval:
            return True
    return False


def run_due_update(settings: Settings) -> list[databases.Installed]:
    """Update when due; a failure is one warning (the old files stay), never an exception."""
    if not update_due(settings):
        return []
    try:
        installed = databases.update(settings)
    except databases.UpdateError as error:
        log.warning("IP database update failed; keeping the installed files: %s", error)
        return []
    for item in installed:
        log.info("%s", databases.describe(item))
    return installed


def make_update_loop(settings: Settings) -> BackgroundLoop | None:
    """The schedule, or None when it is off: interval 0, the provider's key missing, or the
    database directory not writable (each said once in the log)."""
    if settings.geoip_update_interval <= 0:
        return None
    try:
        databases.sources(settings)
    except databases.UpdateError as error:
        log.info("scheduled IP database updates are off: %s", error)
        return None
    if not _writable(settings):
        log.info("scheduled IP database updates are off: the database directory is read-only")
        return None
    return BackgroundLoop(
        "geoip",
        lambda: False,
        lambda: run_due_update(settings),
        upkeep_seconds=CHECK_SECONDS,
        idle_seconds=IDLE_SECONDS,
        backoff_seconds=BACKOFF_SECONDS,
    )


def attribution(settings: Settings) -> databases.Attribution:
    """The attribution the configured provider's licence requires where locations are shown
    (the dashboard footer): text, link and licence."""
    return databases.attribution(settings)
