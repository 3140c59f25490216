"""Bots step: drops hits that no person caused: prefetched or prerendered pages, headless and
automated browsers, and crawlers by the maintained user-agent rules of ``crawlerdetect``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from openfeeder.domain.drops import DropReason
from openfeeder.pipeline.model import Batch, Event
from openfeeder.pipeline.steps.base import Step

# Browsers driven by software. crawlerdetect knows most crawlers (and "headless" in general);
# these get their own reason so operators can tell site tests and scrapers from crawlers.
HEADLESS = re.compile(
    r"Headless|PhantomJS|SlimerJS|Puppeteer|Playwright|Selenium|WebDriver"
    r"|Cypress|Chrome-Lighthouse|Lighthouse|PTST/|GTmetrix",
    re.IGNORECASE,
)
# Request headers browsers send for speculative loads: Sec-Purpose (Chrome's prefetch and
# prerender), Purpose and X-Purpose (older Chrome, Safari), X-Moz (Firefox).
PURPOSE_HEADERS = ("sec-purpose", "purpose", "x-purpose", "x-moz")
PURPOSES = ("prefetch", "prerender", "preview")


class BotsStep(Step):
    name = "bots"
    drops = frozenset({DropReason.PREFETCH, DropReason.HEADLESS, DropReason.BOT})

    def run(self, batch: Batch, event: Event) -> Event | DropReason:
        if is_prefetch(event.hit.request_meta):
            return DropReason.PREFETCH
        agent = (event.hit.user_agent or "").strip()
        brands = str((event.hit.request_meta or {}).get("sec-ch-ua", ""))
        key = ("bots", agent, brands)
        if key not in batch.agents:
            batch.agents[key] = self._verdict(batch, agent, brands)
        verdict: DropReason | None = batch.agents[key]
        return event if verdict is None else verdict

    @staticmethod
    def _verdict(batch: Batch, agent: str, brands: str) -> DropReason | None:
        if not agent:
            return DropReason.BOT  # every browser sends one; scripts often do not
        if HEADLESS.search(agent) or HEADLESS.search(brands):  # client hints name it too
            return DropReason.HEADLESS
        if batch.tools.crawlers.is_crawler(agent):
            return DropReason.BOT
        return None


def is_prefetch(request_meta: Mapping[str, Any] | None) -> bool:
    """Whether the request's headers mark it as speculative (names in any case)."""
    if not request_meta:
        return False
    headers = {str(name).lower(): str(value).lower() for name, value in request_meta.items()}
    return any(
        purpose in headers.get(header, "") for header in PURPOSE_HEADERS for purpose in PURPOSES
    )
