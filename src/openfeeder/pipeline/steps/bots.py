"""Bots step: drops hits that no person caused: prefetched or prerendered pages, headless and
automated browsers, and crawlers by the maintained user-agent rules of ``crawlerdetect``."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from openfeeder.domain.drops import DropReason
from openfeeder.pipeline.model import Batch, Event
from openfeeder.pipeline.steps.base import Step

if TYPE_CHECKING:
    from crawlerdetect import CrawlerDetect

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
        verdict = agent_verdict(batch.tools.crawlers, agent, brands)
        return event if verdict is None else verdict


@functools.lru_cache(maxsize=4096)
def agent_verdict(crawlers: CrawlerDetect, agent: str, brands: str) -> DropReason | None:
    """Why a user agent (and its client hints' brands) is no visitor, if it is not; the
    last few thousand agents are remembered, as a site's hits come from far fewer."""
    if not agent:
        return DropReason.BOT  # every browser sends one; scripts often do not
    if HEADLESS.search(agent) or HEADLESS.search(brands):  # client hints name it too
        return DropReason.HEADLESS
    if crawlers.is_crawler(agent):
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
