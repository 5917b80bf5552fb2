"""The console's cards and paper pages in a real browser (``browser.py``): an operator blocks
a card, orders a print run from the paper page and reads its stock. Each page is saved at
phone and desktop size and scanned by axe-core, on SQLite and PostgreSQL."""

from __future__ import annotations

from dongne.bootstrap import App
from tests.e2e.browser import Visit, text_of
from tests.e2e.console_setup import PASSWORD, official
from tests.e2e.test_web_console_cards_paper import region_with_cards


def test_an_operator_blocks_a_card_and_orders_a_print_run(application: App, visit: Visit) -> None:
    world, physical, _ = region_with_cards(application)
    person = official(application, world.region_id)
    page = visit.page
    page.goto("/login?next=/console")
    page.fill("#phone", person.login)
    page.fill("#password", PASSWORD)
    page.fill("#totp", person.totp.now())
    page.click("#log-in")
    page.wait_for_url("**/console")

    page.click("#console-nav-cards")
    assert page.locator("#cards-table tbody tr").count() == 2
    page.click(f"#block-{physical}")
    assert text_of(page, "#notice") == "카드를 정지했습니다."
    assert text_of(page, f"#card-{physical}-status") == "정지"
    visit.shoot("console-cards")

    page.click("#console-nav-paper")
    page.fill("#count_10000", "3")
    page.click("#order-print")
    assert text_of(page, "#notice") == "인쇄를 주문했습니다."
    assert page.locator("#orders-table tbody tr").count() == 1
    assert text_of(page, "#stock-balances") == "상태별 합계가 인쇄 주문과 맞습니다."
    visit.shoot("console-paper")
    assert visit.console_errors == []
