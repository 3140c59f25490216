"""The dashboard in a real browser, for its browser tests (``serve_dashboard`` in
``tests/support/browser.py`` starts the server): a page that watches for script errors,
Content-Security-Policy reports and dialogs, signing in through the form, screenshots at a
desktop and a phone width (each checked for horizontal scrolling), axe-core's accessibility
rules run in the page, and the hostile text the XSS tests send.

Screenshots go to ``test-artifacts/dashboard/`` (or ``$OPENFEEDER_TEST_ARTIFACTS/dashboard``).
axe-core is vendored in ``tests/support/vendor/axe-core/`` (its README says which version)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.browser import watch

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("OPENFEEDER_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "dashboard"
SIZES = {"desktop": (1440, 900), "phone": (375, 812)}
AXE = Path(__file__).with_name("vendor") / "axe-core" / "axe.min.js"
# What a page must not have: axe's two worst impacts. The others are printed.
BLOCKING = ("serious", "critical")


def payload_parts(field: str) -> tuple[str, ...]:
    """Pieces of hostile markup for ``field``, each short enough for a tag, each of which
    would set ``window.__xss`` to the field's name or open a dialog if a page ran it."""
    return (
        f"<script>window.__xss='{field}'</script>",
        f"<svg/onload=window.__xss='{field}'>",
        f"<img/src/onerror=alert('{field}')>\"'>",
    )


def payload(field: str) -> str:
    """All of ``field``'s hostile pieces in one text; no blanks of its own, so it fits in a
    URL as it is."""
    return "".join(payload_parts(field))


@dataclass
class Tab:
    """A page of a fresh browser context on ``base`` (the server's URL), recording what went
    wrong in it: uncaught script errors, CSP reports, dialogs (none of ours opens one)."""

    page: Any
    base: str
    errors: list[str] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def watch(self) -> Tab:
        self.csp, self.errors = watch(self.page)

        def dismiss(dialog: Any) -> None:
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        self.page.on("dialog", dismiss)
        return self

    def goto(self, path: str) -> None:
        self.page.goto(self.base + path)

    def sign_in(self, email: str, password: str) -> None:
        """Fill in the sign-in form (the page shows it) and wait to leave it."""
        self.page.fill("#email", email)
        self.page.fill("#password", password)
        self.page.click("main button[type=submit]")
        self.page.wait_for_url(lambda url: "/app/login" not in url)

    def shoot(self, name: str) -> None:
        """Screenshots of the page at each size, each asserted to need no horizontal scroll."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for size, (width, height) in SIZES.items():
            self.page.set_viewport_size({"width": width, "height": height})
            self.page.screenshot(path=str(ARTIFACTS / f"{name}-{size}.png"), full_page=True)
            assert self.overflow() <= 0, f"{name} is wider than a {width} px screen"
        self.page.set_viewport_size({"width": SIZES["desktop"][0], "height": SIZES["desktop"][1]})

    def overflow(self) -> int:
        """How many pixels the page is wider than the window."""
        return int(
            self.page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
        )

    def axe(self) -> list[dict[str, Any]]:
        """axe-core's violations on the page as it is now (injected through the debugging
        protocol, so the page's own Content-Security-Policy stays as it is)."""
        if not self.page.evaluate("typeof window.axe === 'object'"):
            self.page.evaluate(AXE.read_text(encoding="utf-8"))
        result: dict[str, Any] = self.page.evaluate(
            "async () => { const r = await axe.run(document);"
            " return {violations: r.violations, passed: r.passes.length}; }"
        )
        assert result["passed"] > 0, f"axe-core checked nothing on {self.page.url}"
        violations: list[dict[str, Any]] = result["violations"]
        return violations

    def script_ran(self) -> bool:
        """Whether a payload ran: each sets ``window.__xss``."""
        return bool(self.page.evaluate("window.__xss !== undefined"))


def describe(violation: dict[str, Any]) -> str:
    """One line per violation: impact, rule, how many elements, and the first of them."""
    nodes = violation["nodes"]
    first = nodes[0]["target"] if nodes else []
    return (
        f"{violation['impact']}: {violation['id']} ({len(nodes)}×, e.g. {first}) "
        f"— {violation['help']}"
    )


def new_tab(browser: Any, base: str) -> Tab:
    """A page in a fresh context of ``browser`` (its own cookies), at the desktop size,
    taking downloads, watched."""
    width, height = SIZES["desktop"]
    context = browser.new_context(
        viewport={"width": width, "height": height}, accept_downloads=True
    )
    return Tab(context.new_page(), base).watch()
