"""The pages work by keyboard alone: a citizen reaches the log-in form's fields and its button
with Tab, logs in with Enter, and moves through the wallet's menu to buy vouchers, never
touching a mouse. Focus is visible on each stop (the stylesheet's outline)."""

from __future__ import annotations

from playwright.sync_api import Page

from dongne.bootstrap import App
from tests.e2e.browser import Visit, text_of
from tests.e2e.test_web_browser import PASSWORD, citizen_with_vouchers_and_a_shop

TAB_STOPS_MAX = 30


def tab_to(page: Page, element_id: str) -> None:
    """Press Tab until the element with ``element_id`` has the focus (or fail)."""
    for _ in range(TAB_STOPS_MAX):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none", f"#{element_id} has the focus but does not show it"
            return
    raise AssertionError(f"#{element_id} is not reached by Tab on {page.url}")


def test_a_citizen_logs_in_and_buys_by_keyboard_alone(application: App, visit: Visit) -> None:
    phone = "010-9753-1864"
    citizen_with_vouchers_and_a_shop(application, phone)
    page = visit.page
    page.goto("/login")
    tab_to(page, "phone")
    page.keyboard.type(phone)
    tab_to(page, "password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/wallet")
    assert text_of(page, "#usable") == "₩100,000"

    tab_to(page, "nav-buy")
    page.keyboard.press("Enter")
    page.wait_for_url("**/wallet/buy**")
    tab_to(page, "face_won")
    page.keyboard.type("50,000")
    page.keyboard.press("Enter")
    page.wait_for_selector("#bought-face")
    assert text_of(page, "#bought-face") == "₩50,000"
    visit.shoot("bought-by-keyboard")
    assert visit.console_errors == []
