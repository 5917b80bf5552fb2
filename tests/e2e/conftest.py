"""Fixtures the browser tests share: one Chromium for the whole session, the app served on a
local port, and a ``Visit`` of it (``browser.py``).

Playwright's sync API runs one instance per thread, so every browser test module must use
these fixtures rather than start Playwright again: ``browser`` for the usual Chromium, and
``playwright_instance`` to launch another with flags of its own (the camera test's fake
camera), from the same Playwright.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.entrypoints.api.app import create_app
from tests.e2e.browser import ARTIFACTS, PHONE, Visit, keep_console_errors, serving
from tests.e2e.test_api_payment_intents import TestClient

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    """The session's one Playwright, once the system's Chromium is known to be there."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: install it with `apt-get install chromium`"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        yield playwright


def launch_chromium(playwright: Playwright, *flags: str) -> Browser:
    """The system's Chromium, headless, with ``flags`` besides the ones every test needs."""
    # --no-sandbox: CI and containers run as root, where Chromium's sandbox will not start.
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", *flags]
    )


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    """One Chromium for the whole session (each test gets a context of its own)."""
    chromium = launch_chromium(playwright_instance)
    yield chromium
    chromium.close()


@pytest.fixture
def application(database_url: str) -> Iterator[App]:
    """The app the browser tests serve; a module overrides this fixture for another one."""
    app = bootstrap(Settings(database_url=database_url, log_witnesses=[]))
    yield app
    app.engine.dispose()


@pytest.fixture
def client(application: App) -> Iterator[TestClient]:
    """The app in process, for the fast tests of pages and routes (no browser, no port)."""
    with TestClient(create_app(application, publish=False)) as client:
        yield client


@pytest.fixture
def server(application: App) -> Iterator[str]:
    """The app as ``dongne serve`` runs it, on a free local port; its base URL."""
    with serving(application) as base_url:
        yield base_url


@pytest.fixture
def visit(
    browser: Browser, server: str, database_url: str, request: pytest.FixtureRequest
) -> Iterator[Visit]:
    """A fresh browser context on the server, in Korean and Seoul's time, at phone size."""
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(
        base_url=server, viewport=PHONE, locale="ko-KR", timezone_id="Asia/Seoul"
    )
    # Generous: six processes may share two cores; a journey that works waits for nothing.
    context.set_default_timeout(30_000)
    page = context.new_page()
    journey = Visit(page, folder, records=database_url.startswith("sqlite"))
    # A Content-Security-Policy violation (an inline script or style) is a console error.
    page.on("console", lambda message: keep_console_errors(journey, message))
    yield journey
    context.close()
