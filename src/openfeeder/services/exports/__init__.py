"""Feed exports, in three parts: an export request's life and its job (``lifecycle``), the
report the job writes (``report``), and where finished files live (``files``)."""

from openfeeder.services.exports.files import (
    ORPHAN_AFTER,
    Draft,
    ExportFiles,
    LocalExportFiles,
    make_export_files,
)
from openfeeder.services.exports.lifecycle import (
    HEARTBEAT_SECONDS,
    MAX_ATTEMPTS,
    PICKUP_DEADLINE,
    STALE_AFTER,
    ExportQueue,
    Heartbeat,
    Superseded,
    create_export,
    download_file,
    get_export,
    mark_failed,
    purge_files,
    reap_stale,
    run_export,
)
from openfeeder.services.exports.report import write_report

__all__ = [
    "HEARTBEAT_SECONDS",
    "MAX_ATTEMPTS",
    "ORPHAN_AFTER",
    "PICKUP_DEADLINE",
    "STALE_AFTER",
    "Draft",
    "ExportFiles",
    "ExportQueue",
    "Heartbeat",
    "LocalExportFiles",
    "Superseded",
    "create_export",
    "download_file",
    "get_export",
    "make_export_files",
    "mark_failed",
    "purge_files",
    "reap_stale",
    "run_export",
    "write_report",
]
