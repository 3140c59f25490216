"""The tracker script as served: ``tracker.js`` with its comments and optional blanks
dropped (not a build step: the file runs as it stands, this only trims bytes) and the
account's settings — the script id, the ``/tr`` URL, consent and Adobe flags — written into
its configuration slot."""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SOURCE = Path(__file__).with_name("tracker.js")
CONFIG_SLOT = "/*CONFIG*/{}"


@dataclass(frozen=True)
class TrackerConfig:
    """What one account's script is told; the names are those the JavaScript reads."""

    script_id: str
    endpoint: str  # absolute URL of /tr
    consent_management: bool = False  # no cookie until ldfdr.acceptCookie()
    adobe_cookies: bool = False  # send Adobe AMCV visitor ids

    def as_js(self) -> dict[str, Any]:
        settings: dict[str, Any] = {"scriptId": self.script_id, "endpoint": self.endpoint}
        # Flags that are off are left out: the script reads a missing one as false.
        if self.consent_management:
            settings["consentManagementEnabled"] = True
        if self.adobe_cookies:
            settings["adobeCookies"] = True
        return settings


@dataclass(frozen=True)
class Rendered:
    body: bytes
    gzipped: bytes
    etag: str


# A single-quoted string literal (the tracker uses no other quotes), and blanks beside
# punctuation that can never merge two tokens into one (so not + - / or .).
_STRING = re.compile(r"('(?:[^'\\\n]|\\.)*')")
_BLANKS = re.compile(r" *([=,:;{}()?|&<>!*\[\]]) *")


def compact(text: str) -> str:
    """Drop whole-line ``//`` comments, indentation, blank lines and the blanks beside
    punctuation outside string literals. Line breaks stay, so automatic semicolons cannot
    change, and the tracker keeps no blanks inside its regular expressions."""
    lines = (line.strip() for line in text.splitlines())
    kept = "\n".join(line for line in lines if line and not line.startswith("//")) + "\n"
    pieces = _STRING.split(kept)
    return "".join(p if i % 2 else _BLANKS.sub(r"\1", p) for i, p in enumerate(pieces))


@functools.cache
def template() -> str:
    text = compact(SOURCE.read_text(encoding="utf-8"))
    if text.count(CONFIG_SLOT) != 1:
        raise RuntimeError(f"{SOURCE} must contain {CONFIG_SLOT} exactly once")
    return text


def _js_literal(value: Any) -> str:
    # JSON is a JavaScript literal once "<" cannot close a script element and U+2028/2029
    # cannot end a line; ensure_ascii takes care of the latter.
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"), sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@functools.lru_cache(maxsize=4096)
def render(config: TrackerConfig) -> Rendered:
    body = template().replace(CONFIG_SLOT, _js_literal(config.as_js())).encode()
    # mtime=0: the same script always compresses to the same bytes.
    gzipped = gzip.compress(body, compresslevel=9, mtime=0)
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    return Rendered(body, gzipped, etag)
