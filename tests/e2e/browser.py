"""What every browser test shares: the app served as ``dongne serve`` runs it, and a page
that saves each screen at phone and desktop size and scans it for accessibility.

``Visit.shoot(name)`` is the one step a journey takes at each page it reaches:

- a full-page screenshot at phone (390×844) and desktop (1280×800) size under
  ``test-artifacts/browser/<test>/`` (ignored by git), for people and for the guides;
- an axe-core scan (the copy ``axe-playwright-python`` ships; nothing downloaded) that fails
  the test on any serious or critical violation, so every page a journey reaches is checked.

Both happen in the SQLite run of a journey; its PostgreSQL run walks the same pages and
checks the same figures without saving or scanning them again.

The fixtures (``server``, ``visit``) live in ``conftest.py``; a module that needs another
app overrides the ``application`` fixture, and ``server`` serves it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import ConsoleMessage, Page
from playwright.sync_api import Error as PlaywrightError

from dongne.bootstrap import App
from dongne.entrypoints.api.app import create_app

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SERVER_START_SECONDS = 60
"""Only reached when the server never starts: a loaded machine may need far more than usual."""
# axe-core's impacts, from most to least harmful: a page may have none of the first two.
REFUSED_IMPACTS = frozenset({"critical", "serious"})

_axe = Axe()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serving(application: App) -> Iterator[str]:
    """``application`` under uvicorn on a free local port, on a thread; its base URL."""
    port = free_port()
    config = uvicorn.Config(
        create_app(application, publish=False),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_SECONDS
    while not running.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        thread.join(timeout=SERVER_START_SECONDS)


@dataclass
class Visit:
    """A page in the browser that saves and scans each page it reaches."""

    page: Page
    folder: Path
    console_errors: list[str] = field(default_factory=list)
    count: int = 0
    scanned: list[str] = field(default_factory=list)
    # The pages are the same HTML on either engine: one engine's run saves and scans them,
    # which halves the slowest part of the browser tests.
    records: bool = True

    def shoot(self, name: str) -> None:
        """Save the page at both sizes and fail on a serious accessibility violation."""
        self.count += 1
        if not self.records:
            return
        stem = self.folder / f"{self.count:02d}-{name}"
        self.page.set_viewport_size(DESKTOP)
        self._screenshot(f"{stem}-desktop.png")
        self.page.set_viewport_size(PHONE)
        self._screenshot(f"{stem}-phone.png")
        harmful = accessibility_violations(self.page)
        assert harmful == [], f"{name} ({self.page.url}): {harmful}"
        self.scanned.append(name)

    def _screenshot(self, path: str) -> None:
        """A full-page screenshot, tried once more if Chromium could not capture it: on a
        loaded machine a capture right after a resize or a click sometimes fails
        ("Unable to capture screenshot"). The picture is a record, not what is tested."""
        try:
            self.page.screenshot(path=path, full_page=True)
        except PlaywrightError as error:
            if "Unable to capture screenshot" not in error.message:
                raise
            self.page.wait_for_timeout(500)
            self.page.screenshot(path=path, full_page=True)


def accessibility_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    results = _axe.run(page)
    violations: list[dict[str, Any]] = results.response["violations"]
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']}"
        f" at {[node['target'] for node in violation['nodes']]}"
        for violation in violations
        if violation["impact"] in REFUSED_IMPACTS
    ]


def keep_console_errors(journey: Visit, message: ConsoleMessage) -> None:
    # A refused form answers 400 on purpose, which Chromium reports as a failed load.
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        journey.console_errors.append(message.text)


def text_of(page: Page, selector: str) -> str:
    return page.locator(selector).inner_text().strip()
