"""Attribution step: the source, medium, campaign and keyword of each pageview, from UTM
parameters, ad click ids and the referrer: search engines (with the search keyword when
the referrer carries it), social networks, webmail, AI assistants, other sites, or direct.

The referrer classification is the maintained referer-parser dataset (Snowplow's
``referers.json``) with our own rules in front of it for what it lacks (AI assistants, newer
networks, mobile apps). A referrer on the site's own registrable domain is no source.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit

import tldextract
from referer_parser import REFERERS, Referer

from openfeeder.domain.drops import DropReason
from openfeeder.pipeline.model import DIRECT, Attribution, Batch, Event
from openfeeder.pipeline.steps.base import Step

SEARCH, SOCIAL, EMAIL, AI, REFERRAL = "organic", "social", "email", "ai", "referral"
NOT_SET = "(not set)"
# The widths of the visit's columns (store/schema.py): the visitor writes these values, so
# a longer one is cut to fit rather than failing the visit's insert.
WIDTHS: Mapping[str, int] = {
    "source": 200,
    "medium": 100,
    "campaign": 300,
    "keyword": 500,
    "query_term": 500,
}

# Ad and email click ids → (source, medium); UTM parameters, when present, win.
CLICK_IDS: Mapping[str, tuple[str, str]] = {
    "gclid": ("Google", "cpc"),
    "gbraid": ("Google", "cpc"),
    "wbraid": ("Google", "cpc"),
    "dclid": ("Google", "display"),
    "msclkid": ("Bing", "cpc"),
    "li_fat_id": ("LinkedIn", "cpc"),
    "fbclid": ("Facebook", SOCIAL),  # Facebook tags every outbound click, paid or not
    "ttclid": ("TikTok", "cpc"),
    "twclid": ("Twitter", "cpc"),
    "rdt_cid": ("Reddit", "cpc"),
    "epik": ("Pinterest", "cpc"),
    "sccid": ("Snapchat", "cpc"),
    "yclid": ("Yandex", "cpc"),
    "mc_cid": ("Mailchimp", EMAIL),
    "_hsenc": ("HubSpot", EMAIL),
    "mkt_tok": ("Marketo", EMAIL),
}
# Our rules, matched on the host and its parent domains before the dataset.
OWN_HOSTS: Mapping[str, tuple[str, str]] = {
    "chatgpt.com": ("ChatGPT", AI),
    "chat.openai.com": ("ChatGPT", AI),
    "perplexity.ai": ("Perplexity", AI),
    "claude.ai": ("Claude", AI),
    "gemini.google.com": ("Gemini", AI),
    "bard.google.com": ("Gemini", AI),
    "copilot.microsoft.com": ("Copilot", AI),
    "chat.deepseek.com": ("DeepSeek", AI),
    "chat.mistral.ai": ("Mistral", AI),
    "meta.ai": ("Meta AI", AI),
    "grok.com": ("Grok", AI),
    "you.com": ("You.com", AI),
    "phind.com": ("Phind", AI),
    "poe.com": ("Poe", AI),
    "x.com": ("Twitter", SOCIAL),
    "bsky.app": ("Bluesky", SOCIAL),
    "threads.net": ("Threads", SOCIAL),
    "threads.com": ("Threads", SOCIAL),
    "mastodon.social": ("Mastodon", SOCIAL),
    "app.slack.com": ("Slack", SOCIAL),
    "teams.microsoft.com": ("Microsoft Teams", SOCIAL),
    "web.whatsapp.com": ("WhatsApp", SOCIAL),
    "web.telegram.org": ("Telegram", SOCIAL),
    "t.me": ("Telegram", SOCIAL),
    "search.brave.com": ("Brave", SEARCH),
    "kagi.com": ("Kagi", SEARCH),
    "startpage.com": ("Startpage", SEARCH),
    "outlook.office.com": ("Outlook.com", EMAIL),
    "outlook.office365.com": ("Outlook.com", EMAIL),
    "outlook.live.com": ("Outlook.com", EMAIL),
}
# android-app://<package>/ referrers from apps → (source, medium).
APPS: Mapping[str, tuple[str, str]] = {
    "com.google.android.googlequicksearchbox": ("Google", SEARCH),
    "com.google.android.gm": ("Gmail", EMAIL),
    "com.linkedin.android": ("LinkedIn", SOCIAL),
    "com.facebook.katana": ("Facebook", SOCIAL),
    "com.twitter.android": ("Twitter", SOCIAL),
    "com.reddit.frontpage": ("Reddit", SOCIAL),
    "com.Slack": ("Slack", SOCIAL),
    "org.telegram.messenger": ("Telegram", SOCIAL),
    "com.openai.chatgpt": ("ChatGPT", AI),
}
_DATASET_MEDIUMS = {"search": SEARCH, "social": SOCIAL, "email": EMAIL}
# utm_source=google → "Google": the names the dataset and our rules use, by lower case.
_NAMES = {str(entry["name"]).lower(): str(entry["name"]) for entry in REFERERS.values()} | {
    name.lower(): name for name, _ in [*OWN_HOSTS.values(), *CLICK_IDS.values()]
}
# The public suffix list bundled with tldextract; never fetched at run time.
_DOMAINS = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


class AttributionStep(Step):
    name = "attribution"

    def run(self, batch: Batch, event: Event) -> Event | DropReason:
        if event.is_pageview:
            event.attribution = attribute(event.event.page_url, event.event.referrer)
        return event


@functools.lru_cache(maxsize=4096)
def attribute(page_url: str, referrer: str) -> Attribution:
    """Where the visitor on ``page_url`` came from (remembered for the last few thousand
    page and referrer pairs: most hits repeat one), each value cut to its column's width."""
    found = _attribute(page_url, referrer)
    long = {
        name: value[:width]
        for name, width in WIDTHS.items()
        if (value := getattr(found, name)) is not None and len(value) > width
    }
    return dataclasses.replace(found, **long) if long else found


def _attribute(page_url: str, referrer: str) -> Attribution:
    params = {key.lower(): value for key, value in parse_qsl(urlsplit(page_url).query) if value}
    external = bool(referrer) and not same_site(urlsplit(page_url).hostname or "", referrer)
    by_referrer = classify_referrer(referrer) if external else None
    search_term = by_referrer.keyword if by_referrer is not None else None
    referring_url = referrer if external else None
    if any(f"utm_{name}" in params for name in ("source", "medium", "campaign")):
        source, implied = _utm_source(params.get("utm_source", ""))
        term = params.get("utm_term")
        return Attribution(
            source=source or (by_referrer.source if by_referrer else None) or NOT_SET,
            medium=params.get("utm_medium") or implied or NOT_SET,
            campaign=params.get("utm_campaign"),
            # Paid search: utm_term is the keyword bought, the referrer's the query typed.
            keyword=term or search_term,
            query_term=search_term if term else None,
            referring_url=referring_url,
            explicit=True,
        )
    for click_id, (source, medium) in CLICK_IDS.items():
        if click_id in params:
            return Attribution(
                source, medium, query_term=search_term, referring_url=referring_url, explicit=True
            )
    return by_referrer or DIRECT


def classify_referrer(referrer: str) -> Attribution:
    """An external referrer's source and medium (and search keyword, if it has one)."""
    try:
        parts = urlsplit(referrer)
        host = (parts.hostname or "").lower()
    except ValueError:  # e.g. an unbalanced "[" in the host
        return Attribution(NOT_SET, REFERRAL, referring_url=referrer)
    if parts.scheme == "android-app":
        source, medium = APPS.get(parts.netloc, (parts.netloc or NOT_SET, REFERRAL))
        return Attribution(source, medium, referring_url=referrer)
    if not host or parts.scheme not in ("http", "https"):
        return Attribution(NOT_SET, REFERRAL, referring_url=referrer)
    own = _own_rule(host)
    if own is not None:
        return Attribution(own[0], own[1], referring_url=referrer)
    known = Referer(referrer)
    if known.referer:
        medium = _DATASET_MEDIUMS.get(known.medium, REFERRAL)
        keyword = (known.search_term or None) if medium == SEARCH else None
        return Attribution(known.referer, medium, keyword=keyword, referring_url=referrer)
    return Attribution(host.removeprefix("www."), REFERRAL, referring_url=referrer)


def same_site(page_host: str, referrer: str) -> bool:
    """Whether the referrer is on the page's registrable domain (www.x.com and blog.x.com)."""
    try:
        referrer_host = (urlsplit(referrer).hostname or "").lower()
    except ValueError:
        return False
    page_host = page_host.lower()
    if not referrer_host:
        return False
    if referrer_host == page_host:
        return True
    page_domain = _DOMAINS(page_host).top_domain_under_public_suffix
    return (
        bool(page_domain) and page_domain == _DOMAINS(referrer_host).top_domain_under_public_suffix
    )


def _own_rule(host: str) -> tuple[str, str] | None:
    labels = host.split(".")
    for start in range(len(labels) - 1):
        rule = OWN_HOSTS.get(".".join(labels[start:]))
        if rule is not None:
            return rule
    return None


def _utm_source(value: str) -> tuple[str | None, str | None]:
    """utm_source as people read it (a known name or site gets its proper name), and the
    medium a known site implies (utm_source=chatgpt.com → ai)."""
    text = value.strip()
    if not text:
        return None, None
    if "." in text:
        host = text.lower().removeprefix("https://").removeprefix("http://").split("/")[0]
        named = classify_referrer(f"https://{host}/")
        if named.medium != REFERRAL:
            return named.source, named.medium
    return _NAMES.get(text.lower(), text), None
