"""The console's cards and paper pages: the region's cards by status and an operator's
block, unblock and lost buttons (each press once); the paper stock by state and denomination,
which sums to the print runs, a run ordered from the page (a double click orders one) and its
printer's files. Both engines, in process."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from dongne.bootstrap import App
from dongne.domain.cards import CardForm, CardStatus
from dongne.domain.paper import PaperVoucherState, SerialRange, parse_serial
from dongne.entrypoints.web import i18n
from dongne.services import cards, paper_printing, paper_reports, paper_stock
from tests.e2e.console_setup import official, token_of
from tests.e2e.test_api_payment_intents import TestClient
from tests.e2e.test_web_citizen import error_beside
from tests.e2e.test_web_console import log_in_official, post_form
from tests.factories import World


def region_with_cards(app: App) -> tuple[World, int, int]:
    """A region with one physical and one virtual card; their ids."""
    now = datetime.now(UTC)
    world = World(app.uow, now)
    wallet = world.citizen()

    def link(pan: str | None) -> int:
        key = uuid.uuid4().hex
        linked = cards.link_card(
            app.uow, app.secrets, caller=None, wallet_id=wallet, pan=pan, idempotency_key=key,
            now=now,
        )  # fmt: skip
        return linked.id

    return world, link(_card_number(world.region_id)), link(None)


def _card_number(seed: int) -> str:
    """A card number of its own (Luhn-valid) ending in 1111, one a region."""
    body = f"9{seed % 10**8:08d}111111"  # 15 digits; the check digit makes 16
    total = 0
    for place, digit in enumerate(reversed(body)):
        value = int(digit) * (2 if place % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return body + str((10 - total % 10) % 10)


def test_an_operator_blocks_unblocks_and_reports_a_card_lost_once_per_press(
    client: TestClient, application: App
) -> None:
    world, physical, virtual = region_with_cards(application)
    theirs, other_card, _ = region_with_cards(application)
    log_in_official(client, official(application, world.region_id))
    listing = client.get("/console/cards")
    assert listing.status_code == 200
    assert 'aria-current="page"' in listing.text
    assert f">{_card_number(world.region_id)[-4:]}<" in listing.text
    assert f'id="card-{virtual}-status">사용 중<' in listing.text
    assert f"card-{other_card}-status" not in listing.text
    assert (
        post_form(client, "/console/cards", f"/console/cards/{other_card}/block").status_code == 404
    )

    token = token_of(client.get("/console/cards"))
    for _ in range(2):  # a double click blocks once and answers the same both times
        blocked = client.post(
            f"/console/cards/{physical}/block", data={"csrf_token": token}, follow_redirects=False
        )
        assert blocked.headers["location"] == "/console/cards?done=blocked"
    shown = client.get("/console/cards?status=blocked&done=blocked")
    assert "카드를 정지했습니다." in shown.text
    assert f"card-{physical}-status" in shown.text
    assert f"card-{virtual}-status" not in shown.text
    assert f'id="unblock-{physical}"' in shown.text

    unblocked = post_form(client, "/console/cards", f"/console/cards/{physical}/unblock")
    assert unblocked.headers["location"] == "/console/cards?done=unblocked"
    lost = post_form(client, "/console/cards", f"/console/cards/{virtual}/lost")
    assert lost.headers["location"] == "/console/cards?done=reported-lost"
    refused = post_form(client, "/console/cards", f"/console/cards/{virtual}/unblock")
    assert (refused.status_code, error_beside(refused, "form")) == (
        409,
        "카드의 지금 상태에서는 할 수 없습니다.",
    )
    forged = client.post(f"/console/cards/{physical}/block", data={"csrf_token": "1.x.y"})
    assert forged.status_code == 400
    states = {
        view.id: view.status
        for view in cards.cards(
            application.reader(), application.secrets, caller=None, region_id=world.region_id
        )
    }
    assert states == {physical: CardStatus.ACTIVE.value, virtual: CardStatus.LOST.value}
    assert theirs.region_id != world.region_id


def test_a_viewer_reads_the_cards_but_gets_no_buttons_and_a_press_is_refused(
    client: TestClient, application: App
) -> None:
    world, physical, _ = region_with_cards(application)
    log_in_official(client, official(application, world.region_id, role="viewer"))
    listing = client.get("/console/cards")
    assert f"card-{physical}-status" in listing.text
    assert f"block-{physical}" not in listing.text
    pressed = post_form(client, "/console/cards", f"/console/cards/{physical}/block")
    assert pressed.status_code == 403
    view = cards.card(application.reader(), application.secrets, caller=None, card_id=physical)
    assert view.status == CardStatus.ACTIVE.value
    assert view.form == CardForm.PHYSICAL.value


def test_the_paper_page_orders_a_run_once_and_its_stock_sums_to_the_runs(
    client: TestClient, application: App
) -> None:
    now = datetime.now(UTC)
    world = World(application.uow, now)
    log_in_official(client, official(application, world.region_id))
    assert "아직 인쇄 주문이 없습니다." in client.get("/console/paper").text
    token = token_of(client.get("/console/paper"))
    for _ in range(2):  # a double click orders one run
        ordered = client.post(
            "/console/paper/print_orders",
            data={"csrf_token": token, "count_10000": "1,0", "count_50000": "2"},
            follow_redirects=False,
        )
        assert ordered.headers["location"] == "/console/paper?done=ordered"
    [order] = paper_reports.print_orders(application.reader(), region_id=world.region_id)
    assert (order.voucher_count, order.face_won) == (12, 200_000)
    first = parse_serial(order_first_serial(application, order.id))
    paper_stock.destroy(
        application.uow, region_id=world.region_id, serials=SerialRange(first, first),
        idempotency_key=uuid.uuid4().hex, now=now,
    )  # fmt: skip
    page = client.get("/console/paper?done=ordered")
    assert "인쇄를 주문했습니다." in page.text
    assert "상태별 합계가 인쇄 주문과 맞습니다." in page.text
    states = [state.value for state in PaperVoucherState]
    row_10000 = _cells(page.text, "stock-10000")
    assert row_10000[states.index("unissued")] == "9"
    assert row_10000[states.index("destroyed")] == "1"
    assert row_10000[-1] == "10"
    assert _cells(page.text, "stock-count")[-1] == "12"
    assert _cells(page.text, "stock-face")[-1] == "₩200,000"

    csv_file = client.get(f"/console/paper/print_orders/{order.id}/vouchers.csv")
    assert csv_file.headers["content-type"] == "text/csv; charset=utf-8"
    assert len(csv_file.text.strip().splitlines()) == 1 + 12
    pdf = client.get(f"/console/paper/print_orders/{order.id}/vouchers.pdf")
    assert pdf.content.startswith(b"%PDF")
    other = World(application.uow, now)
    theirs = paper_printing.order_print(
        application.uow, region_id=other.region_id, counts={5_000: 1},
        idempotency_key=uuid.uuid4().hex, now=now,
    )  # fmt: skip
    csv_url = f"/console/paper/print_orders/{theirs.print_order_id}/vouchers.csv"
    assert client.get(csv_url).status_code == 404


def test_a_print_order_with_no_vouchers_or_a_word_is_refused_beside_the_counts(
    client: TestClient, application: App
) -> None:
    world = World(application.uow, datetime.now(UTC))
    log_in_official(client, official(application, world.region_id))
    for typed in ({}, {"count_5000": "many"}):
        refused = post_form(client, "/console/paper", "/console/paper/print_orders", **typed)
        assert refused.status_code == 400, refused.text
        assert error_beside(refused, "counts").startswith("권종마다")
    assert paper_reports.print_orders(application.reader(), region_id=world.region_id) == []
    client.cookies.clear()
    log_in_official(client, official(application, world.region_id, role="viewer"))
    assert 'id="print-form"' not in client.get("/console/paper").text
    pressed = post_form(client, "/console/paper", "/console/paper/print_orders", count_5000="1")
    assert pressed.status_code == 403


def test_every_card_and_paper_state_is_translated() -> None:
    named = {f"card:{status.value}" for status in CardStatus} | {"card:all"}
    named |= {f"card-form:{form.value}" for form in CardForm}
    named |= {f"paper:{state.value}" for state in PaperVoucherState}
    for language in i18n.LANGUAGES:
        assert named - set(i18n.CATALOGS[language]) == set(), language


def order_first_serial(app: App, print_order_id: int) -> str:
    sheet = paper_reports.print_sheet(app.reader(), app.secrets, print_order_id=print_order_id)
    return next(v.serial for v in sheet.vouchers if v.denomination_won == 10_000)


def _cells(page: str, row_id: str) -> list[str]:
    row = re.search(rf'<tr id="{row_id}">(.*?)</tr>', page, re.S)
    assert row, row_id
    return re.findall(r"<td>(.*?)</td>", row.group(1))
