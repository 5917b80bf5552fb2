"""The accessibility scan every browser journey runs (``Visit.shoot``) refuses what it should:
a page with an unlabelled input and an image without text fails it; the same page with the
label and the text passes."""

from __future__ import annotations

from playwright.sync_api import Browser

from tests.e2e.browser import accessibility_violations

BROKEN = """<!doctype html><html lang="ko"><head><title>t</title></head><body><main>
<h1>t</h1><input id="amount"><img src="data:," id="logo"></main></body></html>"""
FIXED = """<!doctype html><html lang="ko"><head><title>t</title></head><body><main>
<h1>t</h1><label for="amount">금액</label><input id="amount">
<img src="data:," id="logo" alt="동네"></main></body></html>"""


def test_the_scan_refuses_an_unlabelled_input_and_an_image_without_text(browser: Browser) -> None:
    page = browser.new_page()
    page.set_content(BROKEN)
    refused = accessibility_violations(page)
    assert any(line.startswith("label (critical)") for line in refused), refused
    assert any(line.startswith("image-alt (critical)") for line in refused), refused
    page.set_content(FIXED)
    assert accessibility_violations(page) == []
    page.close()
