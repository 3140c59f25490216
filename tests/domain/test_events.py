"""The wire format: what decodes and validates, and the reason given for each refusal."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from openfeeder.domain import events
from openfeeder.domain.events import BadEvent
from tests.support.tracking import encode, event


def reason(data: str | bytes, sid: str | None = None, limit: int | None = None) -> str:
    with pytest.raises(BadEvent) as caught:
        events.parse(data, sid, limit)
    return caught.value.reason


def test_a_tracker_pageview_validates_into_its_fields() -> None:
    sent = event(
        clientEventId="0123456789ABCDEF",
        scriptId="LbMwm7E2MdOZyAVe",
        gaClientIds=["123.456"],
        foreignCookies=[
            {
                "type": "AMCV",
                "value": "-1124106680|MCIDTS|19700|MCMID|681245|MCAAMLH-1700000000|6|"
                "MCAAMB-1700000000|RKh123Vc5|MCOPTOUT-1|vVersion|5.5.0",
            },
            {"type": "other", "value": "ignored"},
        ],
    )
    parsed = events.parse(encode(sent), "LbMwm7E2MdOZyAVe")
    assert parsed.type == "tracking-event"
    assert parsed.client_event_id == "0123456789abcdef"  # the dedupe key is case-folded
    assert parsed.page_url == sent["context"]["pageUrl"]
    assert parsed.page_title == "Pricing"
    assert parsed.referrer == "https://www.google.com/"
    assert parsed.lf_client_id == sent["lfClientId"]
    assert not parsed.cookieless
    assert parsed.ga_client_ids == ("123.456",)
    assert parsed.adobe_cookies == ({"MCMID": "681245", "MCAAMLH": "6", "MCAAMB": "RKh123Vc5"},)
    assert parsed.raw == sent  # stored exactly as sent


@pytest.mark.parametrize(
    "kind", ["tracking-event", "form-submit", "file-download", "video-start", "identify"]
)
def test_every_event_type_of_the_protocol_is_accepted(kind: str) -> None:
    assert events.parse(encode(event(event=kind))).type == kind


def test_a_cookieless_id_is_marked_cookieless() -> None:
    parsed = events.parse(encode(event(lfClientId="LF1.1.0123456789abcdef.1700000000000.NC")))
    assert parsed.cookieless


def test_url_safe_unpadded_and_space_mangled_base64_decode() -> None:
    raw = json.dumps(event(properties={"q": "??>>"})).encode()
    standard = base64.b64encode(raw).decode()
    url_safe = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert "+" in standard or "/" in standard  # the variants really differ
    assert events.decode(url_safe) == events.decode(standard)
    # An unencoded "+" in a pixel's query string arrives as a blank.
    assert events.decode(standard.replace("+", " ")) == events.decode(standard)
    assert events.decode(standard.encode()) == json.loads(raw)


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"n": value}
    return value


BAD: list[tuple[str, Any]] = [
    ("missing_data", ""),
    ("bad_base64", "not base64!"),
    ("bad_json", base64.b64encode(b"{not json").decode()),
    ("bad_json", base64.b64encode(b"\xff\xfe").decode()),
    ("not_an_object", encode("[1, 2]")),
    ("bad_event", encode(event(event="page-view"))),
    ("bad_event", encode({k: v for k, v in event().items() if k != "event"})),
    ("bad_client_event_id", encode(event(clientEventId="xyz"))),
    ("bad_client_event_id", encode(event(clientEventId=12345))),
    ("bad_client_event_id", encode(event(clientEventId="0123456789abcdef0"))),
    ("bad_client_id", encode(event(lfClientId="GA1.2.3.4"))),
    ("bad_client_id", encode(event(lfClientId=None))),
    ("bad_script_id", encode(event(scriptId="../../etc"))),
    ("bad_context", encode(event(context="https://www.example.com/"))),
    ("bad_page_url", encode(event(context={"pageUrl": "javascript:alert(1)"}))),
    ("bad_page_url", encode(event(context={"pageUrl": "https://"}))),
    ("bad_page_url", encode(event(context={"pageUrl": "https://[::1/"}))),
    ("bad_page_url", encode(event(context={"pageUrl": "https://x/" + "a" * 5000}))),
    ("bad_field", encode(event(context={"pageUrl": "https://x/", "pageTitle": 5}))),
    ("bad_field", encode(event(cookiesEnabled="yes"))),
    ("bad_field", encode(event(gaClientIds="123.456"))),
    ("bad_field", encode(event(gaClientIds=["x"] * 11))),
    ("bad_field", encode(event(foreignCookies=[{"type": "AMCV"}]))),
    ("bad_field", encode(event(properties=[]))),
    ("bad_field", encode(event(clientTimestamp=1700000000))),
    # An unhashable event type once made the membership test raise (a 500).
    ("bad_event", encode(event(event=[]))),
    ("bad_event", encode(event(event={}))),
    ("bad_event", encode(event(event=None))),
    # U+0000 anywhere, and control characters in the fields visits are made of: PostgreSQL
    # could not store them, so such a hit was acknowledged and then never recorded.
    ("bad_field", encode(event(context={"pageUrl": "https://x.example/\u0000"}))),
    ("bad_field", encode(event(context={"pageUrl": "https://x.example/a\u0007b"}))),
    (
        "bad_field",
        encode(event(context={"pageUrl": "https://x/", "referrer": "https://r/\u001b"})),
    ),
    ("bad_field", encode(event(context={"pageUrl": "https://x/", "pageTitle": "a\u0000"}))),
    ("bad_field", encode(event(properties={"k": "v\u0000"}))),
    ("bad_field", encode(event(properties={"k\u0000": "v"}))),
    ("bad_field", encode(event(properties={"deep": [[{"x": ["\u0000"]}]]}))),
    ("bad_field", encode(event(gaClientIds=["1.2\u0000"]))),
    ("bad_field", encode(event(properties=_nested(40)))),
]


@pytest.mark.parametrize(
    ("expected", "data"), BAD, ids=[f"{r}-{i}" for i, (r, _) in enumerate(BAD)]
)
def test_each_bad_payload_is_refused_with_its_reason(expected: str, data: str) -> None:
    assert expected in events.REASONS
    assert reason(data) == expected


def test_brackets_and_an_escaped_backslash_in_strings_are_only_text() -> None:
    # parse skips the walk for NUL and depth when the JSON text plainly has neither; text that
    # looks like either (brackets, a backslash before "u0000") makes it walk, and pass.
    looks_deep = "{[" * 40
    looks_nul = "\\u0000"  # a backslash, then "u0000": no U+0000
    sent = event(properties={"brackets": looks_deep, "escaped": looks_nul})
    assert "\\\\u0000" in json.dumps(sent)
    parsed = events.parse(encode(sent))
    assert parsed.properties == {"brackets": looks_deep, "escaped": looks_nul}
    with pytest.raises(BadEvent, match="deeper"):
        events.parse(encode(event(properties=_nested(33))))
    events.parse(encode(event(properties=_nested(30))))  # within the limit, with the walk


def test_a_script_id_other_than_the_sid_is_refused() -> None:
    data = encode(event(scriptId="AAAAAAAAAAAAAAAA"))
    assert reason(data, sid="BBBBBBBBBBBBBBBB") == "bad_script_id"
    assert events.parse(data, sid="AAAAAAAAAAAAAAAA").script_id == "AAAAAAAAAAAAAAAA"


def test_an_event_over_the_limit_is_too_large() -> None:
    data = encode(event(properties={"blob": "x" * 2000}))
    assert reason(data, limit=1024) == "too_large"
    assert events.parse(data, limit=4096).properties["blob"] == "x" * 2000


def test_a_title_may_carry_tabs_and_line_breaks() -> None:
    title = "Pricing\t–\nPlans"
    parsed = events.parse(encode(event(context={"pageUrl": "https://x/", "pageTitle": title})))
    assert parsed.page_title == title


def test_unknown_fields_are_kept_for_later_use() -> None:
    parsed = events.parse(encode(event(consentLevel="full")))
    assert parsed.raw["consentLevel"] == "full"


def test_adobe_ids_skip_cookies_without_visitor_ids() -> None:
    cookies = [{"type": "AMCV", "value": "MCOPTOUT-1|isoptedout|vVersion|5.5.0"}]
    assert events.adobe_ids(cookies) == []
