"""Reading a company's home page: schema.org Organization JSON-LD (subtypes, @graph, URL-form
types), OpenGraph and icons; hostile pages give plain, bounded text and nothing else."""

from __future__ import annotations

import json
from typing import Any

from openfeeder.identify.webpage import LIMITS, read_page

BASE = "https://acme.fi/"


def _page(*nodes: Any, head: str = "") -> str:
    # "</" escaped as sites do (and must), so a value cannot end the script element.
    scripts = "".join(
        f'<script type="application/ld+json">{_json(node)}</script>' for node in nodes
    )
    return f"<!doctype html><html><head>{head}{scripts}</head><body>hi</body></html>"


def _json(node: Any) -> str:
    return node if isinstance(node, str) else json.dumps(node).replace("</", "<\\/")


def test_an_organization_gives_its_firmographics_and_profile() -> None:
    page = _page(
        {
            "@context": "https://schema.org",
            "@type": "Corporation",
            "name": "Acme Oy",
            "url": "https://www.acme.fi/",
            "logo": {"@type": "ImageObject", "url": "/static/logo.svg"},
            "telephone": "+358 9 1234",
            "description": "Widgets since 1923.",
            "sameAs": [
                "https://www.linkedin.com/company/acme-oy/",
                "https://x.com/acme_fi",
                "https://www.facebook.com/acmeoy",
                "https://www.instagram.com/acme",
            ],
            "address": {
                "@type": "PostalAddress",
                "streetAddress": "Tehtaankatu 1",
                "postalCode": "00100",
                "addressLocality": "Helsinki",
                "addressCountry": {"@type": "Country", "name": "FI"},
            },
        }
    )
    assert read_page(page, BASE) == {
        "name": "Acme Oy",
        "website_url": "https://www.acme.fi/",
        "logo_url": "https://acme.fi/static/logo.svg",
        "phone": "+358 9 1234",
        "description": "Widgets since 1923.",
        "linkedin_url": "https://www.linkedin.com/company/acme-oy/",
        "twitter_handle": "acme_fi",
        "facebook_url": "https://www.facebook.com/acmeoy",
        "address": "Tehtaankatu 1, 00100, Helsinki",
        "country": "FI",
    }


def test_graph_members_and_url_form_types_are_found() -> None:
    page = _page(
        {"@type": "WebPage", "name": "Home"},
        {
            "@graph": [
                {"@type": "WebSite", "name": "the site"},
                {"@type": ["Thing", "http://schema.org/GovernmentOrganization"], "name": "City"},
            ]
        },
    )
    assert read_page(page, BASE)["name"] == "City"


def test_opengraph_and_icons_when_there_is_no_json_ld() -> None:
    head = (
        '<meta property="og:site_name" content="Acme">'
        '<meta name="description" content="We make widgets.">'
        '<meta name="twitter:site" content="@acme">'
        '<link rel="shortcut icon" href="/favicon.ico">'
    )
    assert read_page(_page(head=head), BASE) == {
        "name": "Acme",
        "description": "We make widgets.",
        "logo_url": "https://acme.fi/favicon.ico",
        "twitter_handle": "acme",
        "website_url": BASE,
    }


def test_a_page_with_nothing_to_say_gives_nothing() -> None:
    assert read_page("<html><body><h1>Welcome</h1></body></html>", BASE) == {}
    assert read_page("", BASE) == {}
    assert read_page("\x00\xff<<<>>>&&&;<script", BASE) == {}


def test_markup_in_values_is_kept_as_plain_text_never_parsed() -> None:
    payload = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    page = _page({"@type": "Organization", "name": payload, "description": payload})
    found = read_page(page, BASE)
    assert found["name"] == payload  # text, as written; the renderer escapes it
    assert set(found) == {"name", "description", "website_url"}


def test_a_script_breaking_out_of_json_ld_is_only_broken_json() -> None:
    page = (
        '<html><head><script type="application/ld+json">{"@type": "Organization", '
        '"name": "</script><script>document.write(1)</script><meta property=og:site_name '
        'content=Evil>"}</script></head></html>'
    )
    found = read_page(page, BASE)
    # The JSON-LD block ends at the first </script> and is invalid: no organisation. The meta
    # tag after it is a real tag of the page, and is read as such (plain text).
    assert found == {"name": "Evil", "website_url": BASE}


def test_dangerous_and_relative_urls() -> None:
    page = _page(
        {
            "@type": "Organization",
            "name": "Acme",
            "logo": "javascript:alert(1)",
            "url": "data:text/html,hi",
            "sameAs": ["javascript://linkedin.com/company/x", "//twitter.com/acme"],
        }
    )
    found = read_page(page, BASE)
    assert "logo_url" not in found
    assert found["website_url"] == BASE  # the page itself, not the data: URL
    assert found["twitter_handle"] == "acme"  # scheme-relative, resolved against the page
    assert "linkedin_url" not in found


def test_overlong_values_are_bounded_and_control_characters_removed() -> None:
    page = _page(
        {
            "@type": "Organization",
            "name": "A\u202ecme\x00 \n\t Oy" + "x" * 10_000,
            "description": "d" * 50_000,
            "telephone": "1" * 500,
            "sameAs": ["https://example.com/"] * 1000 + ["https://x.com/late"],
            "logo": "https://acme.fi/" + "l" * 2000,
        }
    )
    found = read_page(page, BASE)
    assert found["name"].startswith("A cme Oy")
    assert len(found["name"]) == LIMITS["name"]
    assert len(found["description"]) == LIMITS["description"]
    assert len(found["phone"]) == LIMITS["phone"]
    assert "twitter_handle" not in found  # beyond the 50 links read
    assert "logo_url" not in found  # longer than a URL column holds


def test_huge_and_numerous_blocks_are_not_all_read() -> None:
    huge = {"@type": "Organization", "name": "Huge", "padding": "p" * 300_000}
    assert "name" not in read_page(_page(huge), BASE)
    many = [{"@type": "Thing"}] * 25 + [{"@type": "Organization", "name": "Late"}]
    assert read_page(_page(*many), BASE) == {}
    deep = '{"@graph": [' * 10_000 + '{"@type": "Organization", "name": "Deep"}' + "]}" * 10_000
    assert read_page(_page(deep), BASE) == {}
    wide = {"@graph": [{"@type": "Thing"}] * 1000 + [{"@type": "Organization", "name": "Far"}]}
    assert read_page(_page(wide), BASE) == {}
