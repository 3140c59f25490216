"""Why a tracker hit becomes no visit: the one ``DropReason`` type, shared by identification
and the pipeline."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class DropReason(StrEnum):
    """Why a hit made no visit; stored in ``hits.drop_reason`` and counted by value.

    The one list of reasons: the identify package answers with its own (own traffic,
    excluded countries and host names, ISP, mobile and hosting networks), the pipeline's
    steps with the rest. ``docs/pipeline.md`` lists each with the step that drops it."""

    # bots step
    BOT = "bot"  # a crawler, script or empty user agent
    HEADLESS = "headless"  # a headless or automated browser
    PREFETCH = "prefetch"  # sent by a prefetched or prerendered page nobody looked at
    # visitor step
    INVALID_EVENT = "invalid_event"  # the stored payload is not a valid tracker event
    # sessions step
    NO_VISIT = "no_visit"  # a non-pageview event (form, download…) outside any visit
    # identification step: the identify package's reasons, then ours for "nobody we know"
    OWN_TRAFFIC = "own_traffic"
    EXCLUDED_COUNTRY = "excluded_country"
    EXCLUDED_HOSTNAME = "excluded_hostname"
    ISP = "isp"
    MOBILE = "mobile"
    HOSTING = "hosting"
    UNIDENTIFIED = "unidentified"
    # the runner: a hit that made a step fail on its own, set aside so the shard moves on
    ERROR = "error"


# Networks whose visitors are never leads, whatever else is known about the address.
NEVER_LEADS: Final = frozenset({DropReason.ISP, DropReason.MOBILE, DropReason.HOSTING})
