"""The merchant's counter pages over HTTP: the rules a browser journey cannot easily show.

The browser test (``test_web_shop_browser.py``) walks the counter; these pin what each page
adds to the services it calls: only a merchant's staff opens the counter, another shop's
payment is a page not found, a form without this server's token changes nothing, a refused
cancellation or request is beside its field with what was typed, and a double tap cancels
or asks once.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from dongne.bootstrap import App
from dongne.domain.access import MerchantRole, Principal, UserKind
from dongne.domain.calendar import seoul_day
from dongne.services import (
    accounts,
    payment_requests,
    payments,
    registry,
    settlement,
    shop_pages,
)
from dongne.services.idempotency import run_in_transaction
from dongne.services.resources import payment_of_caller
from dongne.services.results import PaymentResult
from tests.e2e.test_api_payment_intents import TestClient
from tests.e2e.test_web_citizen import PASSWORD, citizen, error_beside, log_in, token_of
from tests.factories import World, business_number, unique_key
from tests.helpers import buy, pay


@dataclass(frozen=True)
class Counter:
    """A shop with a staff member's log-in, and a citizen of its region holding vouchers."""

    world: World
    merchant_id: int
    staff_login: str
    wallet_id: int
    citizen_phone: str
    staff_user_id: int


def counter(app: App, *, now: datetime | None = None) -> Counter:
    """The shop, its staff member and a citizen with ₩100,000 of vouchers, made at ``now``."""
    moment = now or datetime.now(UTC)
    world = World(app.uow, moment)
    world.fund(1_000_000)
    merchant_id = world.merchant()
    staff_login = f"staff-{uuid.uuid4().hex[:10]}"
    staff = accounts.create_staff_user(
        app.uow,
        app.secrets,
        kind=UserKind.MERCHANT,
        login=staff_login,
        password=PASSWORD,
        role="staff",
        region_id=None,
        merchant_id=merchant_id,
        now=moment,
    )
    phone = f"010{uuid.uuid4().int % 10**8:08d}"
    registered = registry.register_citizen(
        app.uow,
        name="김손님",
        phone=phone,
        home_region_id=world.region_id,
        wallet_region_id=world.region_id,
        idempotency_key=unique_key("citizen"),
        now=moment,
    )
    buy(app.uow, registered.wallet_id, 100_000, now=moment)
    return Counter(world, merchant_id, staff_login, registered.wallet_id, phone, staff.id)


def pay_at_counter(app: App, shop: Counter, amount_won: int, *, now: datetime) -> PaymentResult:
    """A payment the shop's staff member takes at the counter (as a payment code's charge)."""
    return run_in_transaction(
        app.uow,
        lambda: payments.pay_merchant_within(
            app.uow,
            wallet_id=shop.wallet_id,
            merchant_id=shop.merchant_id,
            amount_won=amount_won,
            idempotency_key=unique_key("pay"),
            now=now,
            made_by_user_id=shop.staff_user_id,
        ),
    )


def staff_of(shop: Counter) -> Principal:
    return Principal(UserKind.MERCHANT, merchant_id=shop.merchant_id, role=MerchantRole.STAFF)


def cancelled_won(app: App, shop: Counter, payment_id: int) -> int:
    return payment_of_caller(app.reader(), staff_of(shop), payment_id).cancelled_won


def test_staff_log_in_to_the_counter_and_see_the_shops_qr_and_poster(
    client: TestClient, application: App
) -> None:
    shop = counter(application)
    landed = log_in(client, shop.staff_login)
    assert (landed.status_code, landed.headers["location"]) == (303, "/shop")
    home = client.get("/shop")
    assert home.status_code == 200
    assert "<svg" in home.text
    assert 'id="shop-code">000201' in home.text  # the EMVCo payload a citizen's app reads
    assert "<script" not in home.text
    assert "style=" not in home.text
    poster = client.get("/shop/poster")
    assert "지역사랑상품권 가맹점" in poster.text
    assert "Local vouchers accepted here" in poster.text
    assert 'src="/static/shop_live.js"' in poster.text
    assert "connect-src 'self'" in poster.headers["content-security-policy"]


def test_todays_payments_are_listed_and_served_alone_for_the_live_list(
    client: TestClient, application: App
) -> None:
    shop = counter(application)
    log_in(client, shop.staff_login)
    assert 'id="no-payments"' in client.get("/shop/payments").text
    paid = pay(application.uow, shop.wallet_id, shop.merchant_id, 12_300, now=datetime.now(UTC))
    listed = client.get("/shop/payments")
    assert f'id="payment-{paid.payment_id}"' in listed.text
    assert 'data-source="/shop/payments/live"' in listed.text
    live = client.get("/shop/payments/live")
    assert live.status_code == 200
    assert f'id="payment-{paid.payment_id}-left">₩12,300<' in live.text
    assert "<html" not in live.text  # a fragment, to put in place
    assert f'id="payment-{paid.payment_id}-staff"></td>' in live.text  # the citizen's own QR
    taken = pay_at_counter(application, shop, 4_500, now=datetime.now(UTC))
    staffed = client.get("/shop/payments/live").text
    assert f'id="payment-{taken.payment_id}-staff">{shop.staff_login}</td>' in staffed
    assert "처리 직원 (staff)" in staffed


def test_a_shops_day_runs_from_midnight_to_midnight_in_seoul() -> None:
    since, until = shop_pages.seoul_day_bounds(date(2026, 12, 4))
    assert since == datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # 00:00 in Seoul (UTC+9)
    assert until == datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
    assert seoul_day(until - timedelta(microseconds=1)) == date(2026, 12, 4)
    assert seoul_day(until) == date(2026, 12, 5)


def test_yesterdays_payments_are_not_todays(client: TestClient, application: App) -> None:
    day_ago = datetime.now(UTC) - timedelta(days=1)
    shop = counter(application, now=day_ago)
    log_in(client, shop.staff_login)
    pay(application.uow, shop.wallet_id, shop.merchant_id, 5_000, now=day_ago)
    assert 'id="no-payments"' in client.get("/shop/payments/live").text


def test_another_shops_payment_is_a_page_not_found(client: TestClient, application: App) -> None:
    shop, other = counter(application), counter(application)
    theirs = pay(application.uow, other.wallet_id, other.merchant_id, 9_000, now=datetime.now(UTC))
    log_in(client, shop.staff_login)
    page = client.get(f"/shop/payments/{theirs.payment_id}")
    assert page.status_code == 404
    assert 'data-status="404"' in page.text
    form = {"csrf_token": token_of(client.get("/shop/payments")), "whole": "1"}
    refused = client.post(f"/shop/payments/{theirs.payment_id}/cancel", data=form)
    assert refused.status_code == 404
    assert cancelled_won(application, other, theirs.payment_id) == 0


def test_a_cancellation_over_what_is_left_is_refused_beside_the_amount(
    client: TestClient, application: App
) -> None:
    shop = counter(application)
    paid = pay(application.uow, shop.wallet_id, shop.merchant_id, 12_300, now=datetime.now(UTC))
    log_in(client, shop.staff_login)
    page = client.get(f"/shop/payments/{paid.payment_id}")
    form = {"csrf_token": token_of(page), "amount_won": "20,000"}
    refused = client.post(f"/shop/payments/{paid.payment_id}/cancel", data=form)
    assert refused.status_code == 422
    assert error_beside(refused, "amount_won") == "취소할 수 있는 금액은 ₩12,300입니다."
    assert 'value="20,000"' in refused.text
    form = {"csrf_token": token_of(refused), "amount_won": "열두"}
    malformed = client.post(f"/shop/payments/{paid.payment_id}/cancel", data=form)
    assert malformed.status_code == 400
    assert error_beside(malformed, "amount_won").startswith("금액은")
    assert cancelled_won(application, shop, paid.payment_id) == 0


def test_a_double_submitted_cancellation_cancels_once(client: TestClient, application: App) -> None:
    shop = counter(application)
    paid = pay(application.uow, shop.wallet_id, shop.merchant_id, 12_300, now=datetime.now(UTC))
    log_in(client, shop.staff_login)
    form = {"csrf_token": token_of(client.get(f"/shop/payments/{paid.payment_id}"))}
    form["amount_won"] = "2,300"
    for _ in range(2):
        done = client.post(
            f"/shop/payments/{paid.payment_id}/cancel", data=form, follow_redirects=False
        )
        assert done.status_code == 303
        assert done.headers["location"] == f"/shop/payments/{paid.payment_id}?cancelled=2300"
    assert cancelled_won(application, shop, paid.payment_id) == 2_300
    shown = client.get(done.headers["location"])
    assert 'id="payment-remaining">₩10,000<' in shown.text
    whole = {"csrf_token": token_of(shown), "whole": "1"}
    client.post(f"/shop/payments/{paid.payment_id}/cancel", data=whole)
    assert cancelled_won(application, shop, paid.payment_id) == 12_300
    assert 'id="fully-cancelled"' in client.get(f"/shop/payments/{paid.payment_id}").text


def test_a_form_without_this_servers_token_cancels_nothing(
    client: TestClient, application: App
) -> None:
    shop = counter(application)
    paid = pay(application.uow, shop.wallet_id, shop.merchant_id, 12_300, now=datetime.now(UTC))
    log_in(client, shop.staff_login)
    form = {"csrf_token": "1.forged.token", "whole": "1"}
    refused = client.post(f"/shop/payments/{paid.payment_id}/cancel", data=form)
    assert refused.status_code == 400
    assert error_beside(refused, "form") == "입력 화면이 만료되었습니다. 다시 입력해 주세요."
    assert cancelled_won(application, shop, paid.payment_id) == 0


def test_a_citizens_session_does_not_open_the_counter(client: TestClient, application: App) -> None:
    log_in(client, citizen(application))
    for path in ("/shop", "/shop/payments", "/shop/payments/live", "/shop/settlements"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next={path}"


def test_a_payment_request_is_sent_once_and_refusals_sit_beside_their_fields(
    client: TestClient, application: App
) -> None:
    shop = counter(application)
    log_in(client, shop.staff_login)
    page = client.get("/shop/request")
    form = {"csrf_token": token_of(page), "phone": "010-0000-0000", "amount_won": "8,000"}
    unknown = client.post("/shop/request", data=form)
    assert unknown.status_code == 404
    assert error_beside(unknown, "phone") == "이 번호로 이 지역 지갑을 가진 시민이 없습니다."
    assert 'value="8,000"' in unknown.text
    form = {"csrf_token": token_of(unknown), "phone": shop.citizen_phone, "amount_won": "8,000"}
    for _ in range(2):
        sent = client.post("/shop/request", data=form, follow_redirects=False)
        assert sent.status_code == 303
    shown = client.get(sent.headers["location"])
    assert 'id="request-sent"' in shown.text
    staff = staff_of(shop)
    asked = payment_requests.payment_requests(
        application.reader(), caller=staff, after_id=None, fetch=10, now=datetime.now(UTC)
    )
    assert [(each.amount_won, each.status) for each in asked] == [(8_000, "pending")]


def test_settlement_statements_are_listed_shown_and_downloaded(
    client: TestClient, application: App
) -> None:
    day_ago = datetime.now(UTC) - timedelta(days=1)
    shop = counter(application, now=day_ago)
    pay(application.uow, shop.wallet_id, shop.merchant_id, 30_000, now=day_ago)
    at_counter = pay_at_counter(application, shop, 7_000, now=day_ago)
    payments.cancel_payment(
        application.uow,
        payment_id=at_counter.payment_id,
        amount_won=2_000,
        idempotency_key=unique_key("cancel"),
        now=day_ago + timedelta(seconds=1),
        made_by_user_id=shop.staff_user_id,
    )
    business_day = seoul_day(day_ago)
    settlement.settle_day(
        application.uow,
        region_id=shop.world.region_id,
        business_day=business_day,
        idempotency_key=unique_key("settle"),
        now=datetime.now(UTC),
    )
    log_in(client, shop.staff_login)
    listed = client.get("/shop/settlements")
    assert f'id="statement-{business_day.isoformat()}"' in listed.text
    detail = client.get(f"/shop/settlements/{business_day.isoformat()}")
    assert 'id="statement-takings">₩37,000<' in detail.text
    assert "처리 직원 (staff)" in detail.text
    staff_cells = re.findall(r'<td class="staff">([^<]*)</td>', detail.text)
    assert staff_cells == ["", shop.staff_login, shop.staff_login]  # the citizen's own QR first
    lines = client.get(f"/shop/settlements/{business_day.isoformat()}/lines.csv")
    table = list(csv.reader(io.StringIO(lines.content.decode("utf-8-sig"))))
    assert table[0] == ["종류", "결제 번호", "결제 금액 (원)", "시각", "처리 직원 (staff)"]
    assert [(row[0], row[2], row[4]) for row in table[1:]] == [
        ("결제", "30000", ""),
        ("결제", "7000", shop.staff_login),
        ("취소", "2000", shop.staff_login),
    ]
    assert client.get("/shop/settlements/2020-01-01/lines.csv").status_code == 404
    assert client.get("/shop/settlements/2020-01-01").status_code == 404
    download = client.get("/shop/settlements.csv")
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(download.text.lstrip("\ufeff"))))
    assert [(row["business_day"], row["takings_won"]) for row in rows] == [
        (business_day.isoformat(), "37000")
    ]


def test_the_application_form_keeps_what_was_typed_and_takes_a_good_application(
    client: TestClient, application: App
) -> None:
    world = World(application.uow, datetime.now(UTC))
    with application.reader() as reader:
        region_code = reader.records.region(world.region_id).code
    typed = {
        "region_code": region_code,
        "name": "시루베이커리",
        "business_number": "123-45-67890",
        "category": "bakery",
        "annual_revenue_won": "120,000,000",
        "address": "경기도 시흥시 시청로 20",
        "phone": "",
        "bank_code": "004",
        "bank_account_number": "123-456-789012",
        "bank_account_holder": "김동네",
        "owner_login": f"owner-{uuid.uuid4().hex[:8]}",
        "owner_password": PASSWORD,
    }
    page = client.get(f"/shop/apply?region={region_code}")
    assert page.status_code == 200
    assert f'<option value="{region_code}" selected>' in page.text
    refused = client.post("/shop/apply", data={**typed, "csrf_token": token_of(page)})
    assert refused.status_code == 400
    assert error_beside(refused, "business_number").startswith("사업자등록번호 10자리")
    assert 'value="시루베이커리"' in refused.text
    assert PASSWORD not in refused.text
    fixed = {**typed, "business_number": business_number(424242), "bank_code": "4"}
    refused = client.post("/shop/apply", data={**fixed, "csrf_token": token_of(refused)})
    assert error_beside(refused, "bank_code") == "은행 코드는 숫자 3자리입니다(예: 004)."
    fixed["bank_code"] = "004"
    sent = client.post(
        "/shop/apply", data={**fixed, "csrf_token": token_of(refused)}, follow_redirects=False
    )
    assert (sent.status_code, sent.headers["location"]) == (303, "/shop/apply?sent=1")
    assert 'id="application-sent"' in client.get("/shop/apply?sent=1").text
    again = client.post("/shop/apply", data={**fixed, "csrf_token": token_of(page)})
    assert error_beside(again, "business_number") == (
        "이 사업자는 이 지역에 이미 심사 중인 신청이 있습니다."
    )
    assert re.search(r'<option value="bakery" selected>', again.text)
