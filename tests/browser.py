"""A real browser for the dashboard's tests: Debian's chromium, driven by Playwright.

Playwright's own browser download is not available here, so it launches ``/usr/bin/chromium``
(``.ci/run`` installs it with apt-get when it is missing). Where there is no browser the
tests that need one skip, saying why. Each page records what the browser said (console
messages, page errors) and every request it tried, so a test can require none of either.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("ENTERPRISE_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
# Where the screenshots go, for a person to look at (not committed: .gitignore).
SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "dashboard"


@dataclass
class OpenedPage:
    page: Any
    url: str
    messages: list[tuple[str, str]] = field(default_factory=list)  # (type, text), errors included
    requests: list[str] = field(default_factory=list)  # every URL asked for but the page itself

    @property
    def errors(self) -> list[tuple[str, str]]:
        return [(kind, text) for kind, text in self.messages if kind in ("error", "pageerror")]

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def launch() -> Iterator[Any]:
    """A headless chromium for a test session, or a skip that says what is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed (pip install -e '.[test]')")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no browser at {CHROMIUM}: apt-get install chromium (.ci/run does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser: Any, path: Path, *, color_scheme: str = "light", width: int = 1280) -> OpenedPage:
    """``path`` opened from ``file://``, its table of tests ready (or a timeout)."""
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=color_scheme)
    page = context.new_page()
    url = path.resolve().as_uri()
    opened = OpenedPage(page, url)
    page.on("console", lambda message: opened.messages.append((message.type, message.text)))
    page.on("pageerror", lambda error: opened.messages.append(("pageerror", str(error))))
    page.on("request", lambda request: request.url != url and opened.requests.append(request.url))
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    return opened
