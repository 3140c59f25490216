"""Device step: the device type of a new visit (desktop, smartphone or tablet) from its user
agent, parsed by ua-parser (the maintained uap-core rules), and the ``Sec-CH-UA-Mobile``
client hint where browsers send a reduced user agent."""

from __future__ import annotations

import functools
from collections.abc import Mapping

import ua_parser

from openfeeder.domain.drops import DropReason
from openfeeder.pipeline.model import Batch, Event
from openfeeder.pipeline.steps.base import Step

MOBILE_SYSTEMS = frozenset(
    ("iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Symbian OS", "Firefox OS")
)


class DeviceStep(Step):
    name = "device"

    def run(self, batch: Batch, event: Event) -> Event | DropReason:
        if event.starts_visit:
            hit = event.hit
            mobile = str((hit.request_meta or {}).get("sec-ch-ua-mobile", ""))
            event.visit.device_type = _device_type(hit.user_agent or "", mobile)
        return event


@functools.lru_cache(maxsize=4096)
def _device_type(user_agent: str, mobile_hint: str) -> str:
    """``device_type`` remembered for the last few thousand agents (parsing one takes a
    hundred regular expressions; a site's visits come from far fewer agents)."""
    return device_type(user_agent, {"sec-ch-ua-mobile": mobile_hint})


def load_parser() -> None:
    """Load ua-parser's rules now (about half a second) rather than inside the first batch,
    which would hold its write transaction open meanwhile."""
    ua_parser.parse("")


def device_type(user_agent: str, hints: Mapping[str, str] | None = None) -> str:
    result = ua_parser.parse(user_agent).with_defaults()
    family = result.device.family.lower()
    brand = (result.device.brand or "").lower()
    system = result.os.family
    agent = user_agent.lower()
    if family == "ipad" or "kindle" in family or "tablet" in f"{family} {brand} {agent}":
        return "tablet"
    if system == "Android" and "mobile" not in agent:
        return "tablet"  # Android phones say "Mobile"; tablets leave it out
    if family in ("iphone", "ipod") or system in MOBILE_SYSTEMS or "mobile" in agent:
        return "smartphone"
    if (hints or {}).get("sec-ch-ua-mobile") == "?1":
        return "smartphone"  # a reduced user agent hides the phone; the hint does not
    return "desktop"
