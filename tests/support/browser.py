"""The real browser of the tracker tests: Debian's headless Chromium driven by Playwright
(never a downloaded one), and the desktop user agent it presents, since headless Chromium's
own says so and the pipeline drops it as a bot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import IN_CI, ServeProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Headless Chromium says so in its user agent; a page visit by a person does not.
DESKTOP_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/140.0.0.0 Safari/537.36"
)


def launch_chromium(playwright: Any) -> Any:
    """Debian's Chromium with a fresh temporary profile; Playwright never downloads one."""
    if not CHROMIUM.exists():
        message = f"Chromium is not installed at {CHROMIUM} (scripts/ensure-chromium installs it)"
        if IN_CI:
            pytest.fail(f"{message}; CI requires it")
        pytest.skip(message)
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def serve_dashboard(database_url: str, tmp_path: Path) -> ServeProcess:
    """``openfeeder serve`` on the test's store for a dashboard browser test, started: its
    public URL is its own, and it runs no jobs, no pipeline and no reverse DNS."""
    server = ServeProcess(
        {
            "OPENFEEDER_DATABASE_URL": database_url,
            "OPENFEEDER_DATA_DIR": str(tmp_path / "data"),
            "OPENFEEDER_REVERSE_DNS": "false",
            "OPENFEEDER_RUN_JOBS_IN_PROCESS": "false",
            "OPENFEEDER_PIPELINE_IN_PROCESS": "false",
        },
        tmp_path / "serve.log",
    )
    server.env["OPENFEEDER_PUBLIC_URL"] = server.url
    return server.start()


def watch(page: Any) -> tuple[list[str], list[str]]:
    """Lists that fill as the page runs: its Content-Security-Policy violations (console
    lines about the policy) and its script errors."""
    violations: list[str] = []
    errors: list[str] = []
    page.on(
        "console",
        lambda m: (
            violations.append(m.text)
            if "Content-Security-Policy" in m.text or "Refused" in m.text
            else None
        ),
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    return violations, errors
