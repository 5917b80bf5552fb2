"""The citizen's wallet pages over HTTP: region wallets, gifts, cancelling a purchase, the
balance refund, the filtered history, walking points and the sale queue.

The browser journey (``test_web_wallet_browser.py``) walks them once; these pin each rule a
page adds to its service: another citizen's things are pages not found, a form without this
server's token changes nothing, a double tap gifts once, a refusal stays beside its field
with what was typed, and a page that only shows things changes nothing.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.domain.calendar import seoul_day
from dongne.domain.program import RateWindow, VoucherProgram
from dongne.domain.walking import WalkingProgram
from dongne.entrypoints.api.app import create_app
from dongne.entrypoints.web import citizen_transfers, citizen_wallets, i18n
from dongne.services import accounts, purchases, read_models, walking, wallet_pages
from tests.e2e.test_api_payment_intents import TestClient
from tests.e2e.test_web_citizen import PASSWORD, error_beside, log_in, token_of
from tests.factories import World, unique_key


@dataclass(frozen=True)
class Holder:
    """A signed-in citizen of a new region, with the region's world to add people to."""

    world: World
    phone: str
    wallet_id: int


def holder(app: App, client: TestClient, *, fund_won: int = 0) -> Holder:
    now = datetime.now(UTC)
    world = World(app.uow, now)
    if fund_won:
        world.fund(fund_won)
    phone = f"010{uuid.uuid4().int % 10**8:08d}"
    signed_up = accounts.sign_up_citizen(
        app.uow,
        app.secrets,
        phone=phone,
        password=PASSWORD,
        name="김시민",
        region_id=world.region_id,
        identity_number=None,
        idempotency_key=unique_key("sign-up"),
        now=now,
    )
    log_in(client, phone)
    return Holder(world, phone, signed_up.wallet_id)


def test_opening_the_buy_page_changes_nothing(client: TestClient, application: App) -> None:
    citizen = holder(application, client)  # no budget was ever funded this month
    page = client.get(f"/wallet/buy?wallet={citizen.wallet_id}")
    assert page.status_code == 200
    assert 'id="budget-open"' in page.text
    totals = read_models.account_totals(application.uow, region_id=citizen.world.region_id)
    assert "discount_budget" not in totals  # a GET made no budget account


def buy(app: App, wallet_id: int, face_won: int = 100_000, *, now: datetime | None = None) -> int:
    """Vouchers bought straight through the service (now, unless told when); the purchase's id."""
    bought = purchases.purchase_vouchers(
        app.uow,
        wallet_id=wallet_id,
        face_won=face_won,
        idempotency_key=unique_key("purchase"),
        now=now or datetime.now(UTC),
    )
    return bought.purchase_id


def figure(response: httpx.Response, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', response.text)
    assert found, response.text
    return found.group(1).strip()


def post(
    client: TestClient, path: str, form: dict[str, str], *, token_from: str = ""
) -> httpx.Response:
    token = token_of(client.get(token_from or path))
    return client.post(path, data=form | {"csrf_token": token}, follow_redirects=False)


def test_another_citizens_wallet_and_purchase_are_pages_not_found(
    client: TestClient, application: App
) -> None:
    citizen = holder(application, client)
    other_wallet = citizen.world.citizen()
    for path in ("/wallet/gift", "/wallet/refund", "/wallet/walking", "/wallet/history"):
        response = client.get(f"{path}?wallet={other_wallet}")
        assert response.status_code == 404, path
        assert 'data-status="404"' in response.text
    citizen.world.fund(100_000)
    other_purchase = buy(application, other_wallet, 10_000)
    assert client.get(f"/wallet/purchases/{other_purchase}").status_code == 404
    token = token_of(client.get("/wallet"))
    cancel = client.post(f"/wallet/purchases/{other_purchase}/cancel", data={"csrf_token": token})
    assert cancel.status_code == 404
    gift = client.post(
        f"/wallet/gift?wallet={other_wallet}",
        data={"csrf_token": token, "to_phone": citizen.phone, "gift_won": "1000"},
    )
    assert gift.status_code == 404


def test_a_gift_without_this_servers_token_sends_nothing(
    client: TestClient, application: App
) -> None:
    citizen = holder(application, client, fund_won=1_000_000)
    buy(application, citizen.wallet_id)
    friend = friend_of(application, citizen)
    form = {"to_phone": friend.phone, "gift_won": "30000", "csrf_token": "1.forged.token"}
    response = client.post(f"/wallet/gift?wallet={citizen.wallet_id}", data=form)
    assert response.status_code == 400
    assert error_beside(response, "form") == "입력 화면이 만료되었습니다. 다시 입력해 주세요."
    assert f'value="{friend.phone}"' in response.text
    assert balance_of(application, friend.wallet_id) == 0


@dataclass(frozen=True)
class Friend:
    phone: str
    wallet_id: int


def friend_of(app: App, citizen: Holder) -> Friend:
    """Another citizen of the holder's region, with an account (a gift finds them by phone)."""
    phone = f"010{uuid.uuid4().int % 10**8:08d}"
    signed_up = accounts.sign_up_citizen(
        app.uow,
        app.secrets,
        phone=phone,
        password=PASSWORD,
        name="이친구",
        region_id=citizen.world.region_id,
        identity_number=None,
        idempotency_key=unique_key("sign-up"),
        now=datetime.now(UTC),
    )
    return Friend(phone, signed_up.wallet_id)


def balance_of(app: App, wallet_id: int) -> int:
    return read_models.wallet_balance(
        app.uow, wallet_id=wallet_id, now=datetime.now(UTC)
    ).usable_won


def test_a_double_tap_sends_a_gift_once(client: TestClient, application: App) -> None:
    citizen = holder(application, client, fund_won=1_000_000)
    buy(application, citizen.wallet_id)
    friend = friend_of(application, citizen)
    path = f"/wallet/gift?wallet={citizen.wallet_id}"
    token = token_of(client.get(path))
    form = {"to_phone": friend.phone, "gift_won": "30,000", "csrf_token": token}
    first = client.post(path, data=form, follow_redirects=False)
    second = client.post(path, data=form, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert balance_of(application, friend.wallet_id) == 30_000
    assert balance_of(application, citizen.wallet_id) == 70_000
    sent = client.get(first.headers["location"])
    assert 'id="gift-sent"' in sent.text
    assert figure(sent, "sent-this-month") == "₩30,000"


def test_a_refused_gift_says_why_beside_its_field_and_keeps_what_was_typed(
    client: TestClient, application: App
) -> None:
    citizen = holder(application, client, fund_won=1_000_000)
    buy(application, citizen.wallet_id, 50_000)
    friend = friend_of(application, citizen)
    path = f"/wallet/gift?wallet={citizen.wallet_id}"

    unknown = post(client, path, {"to_phone": "010-9999-0000", "gift_won": "10000"})
    assert error_beside(unknown, "to_phone") == "이 번호로 이 지역 지갑을 가진 분이 없습니다."
    assert 'value="010-9999-0000"' in unknown.text
    assert 'value="10000"' in unknown.text

    too_much = post(client, path, {"to_phone": friend.phone, "gift_won": "60000"})
    assert too_much.status_code == 422
    assert error_beside(too_much, "gift_won") == (
        "선물할 수 있는 금액은 ₩50,000입니다. 직접 구매한 상품권만 선물할 수 있습니다."
    )
    not_a_number = post(client, path, {"to_phone": friend.phone, "gift_won": "lots"})
    assert not_a_number.status_code == 400
    assert "gift_won-error" in not_a_number.text
    assert 'value="lots"' in not_a_number.text
    to_myself = post(client, path, {"to_phone": citizen.phone, "gift_won": "1000"})
    assert error_beside(to_myself, "to_phone") == "자신에게는 선물할 수 없습니다."
    assert balance_of(application, friend.wallet_id) == 0


def test_a_citizen_opens_a_wallet_in_another_region_and_switches_to_it(
    client: TestClient, application: App
) -> None:
    citizen = holder(application, client)
    elsewhere = World(application.uow, datetime.now(UTC))
    with application.reader() as reader:
        code = reader.records.region(elsewhere.region_id).code
        name = reader.records.region(elsewhere.region_id).name
    missing = post(client, "/wallet/regions", {"region_code": ""})
    assert error_beside(missing, "region_code") == "지역을 골라 주세요."
    opened = post(client, "/wallet/regions", {"region_code": code})
    assert opened.status_code == 303
    wallet = client.get(opened.headers["location"])
    assert f">{name}</a>" in wallet.text
    assert 'aria-current="page"' in wallet.text
    # The region is no longer offered: a second wallet there cannot be asked for.
    again = post(client, "/wallet/regions", {"region_code": code})
    assert again.status_code == 404
    assert error_beside(again, "region_code") == "지역을 골라 주세요."
    assert citizen.wallet_id != int(opened.headers["location"].split("=")[1])


def test_a_purchase_cancels_once_and_then_says_why_not(
    client: TestClient, application: App
) -> None:
    citizen = holder(application, client, fund_won=1_000_000)
    purchase_id = buy(application, citizen.wallet_id)
    page = client.get(f"/wallet/purchases/{purchase_id}")
    assert 'id="cancel-purchase"' in page.text
    form = {"csrf_token": token_of(page)}
    cancelled = client.post(
        f"/wallet/purchases/{purchase_id}/cancel", data=form, follow_redirects=False
    )
    assert cancelled.status_code == 303
    assert balance_of(application, citizen.wallet_id) == 0
    history = client.get(f"/wallet/history?wallet={citizen.wallet_id}")
    assert history.text.count(f'href="/wallet/purchases/{purchase_id}"') == 2  # bought, cancelled
    after = client.get(cancelled.headers["location"])
    assert 'id="purchase-cancelled"' in after.text
    assert figure(after, "cancel-refused") == "이미 취소한 구매입니다."
    again = client.post(
        f"/wallet/purchases/{purchase_id}/cancel", data={"csrf_token": token_of(after)}
    )
    assert again.status_code == 422
    assert error_beside(again, "form") == "이미 취소한 구매입니다."


def test_a_refund_before_the_threshold_is_refused_with_its_figures(
    client: TestClient, application: App
) -> None:
    citizen = holder(application, client, fund_won=1_000_000)
    buy(application, citizen.wallet_id)
    page = client.get(f"/wallet/refund?wallet={citizen.wallet_id}")
    reason = (
        "아직 환불할 수 없습니다. 한 번 구매한 금액의 60% 이상을 써야 하는데,"
        " 지금까지 가장 많이 쓴 구매도 0%만 썼습니다."
    )
    assert figure(page, "refund-not-yet") == reason
    refused = client.post(
        f"/wallet/refund?wallet={citizen.wallet_id}", data={"csrf_token": token_of(page)}
    )
    assert refused.status_code == 422
    assert error_beside(refused, "form") == reason
    assert balance_of(application, citizen.wallet_id) == 100_000


def test_the_history_filters_by_kind_and_day_in_the_query_and_pages_with_its_filter(
    client: TestClient, application: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    citizen = holder(application, client, fund_won=1_000_000)
    # The purchase and the gifts on one day, the one the filters ask for: the real clock might
    # pass midnight in Seoul between them.
    moment = datetime.now(UTC)
    buy(application, citizen.wallet_id, now=moment)
    monkeypatch.setattr(citizen_transfers, "now", lambda: moment)
    friend = friend_of(application, citizen)
    path = f"/wallet/gift?wallet={citizen.wallet_id}"
    for _ in range(3):
        assert post(client, path, {"to_phone": friend.phone, "gift_won": "1000"}).status_code == 303
    monkeypatch.setattr(citizen_wallets, "HISTORY_PAGE_SIZE", 2)
    base = f"/wallet/history?wallet={citizen.wallet_id}"
    gifts_only = client.get(f"{base}&kind=gift")
    assert gifts_only.text.count('data-kind="gift"') == 2
    assert 'data-kind="purchase"' not in gifts_only.text
    older = re.search(r'id="older" href="([^"]+)"', gifts_only.text)
    assert older
    next_page = client.get(older.group(1).replace("&amp;", "&"))
    assert next_page.text.count('data-kind="gift"') == 1
    today = seoul_day(moment)
    tomorrow = today + timedelta(days=1)
    none_yet = client.get(f"{base}&first_day={tomorrow}")
    assert 'id="no-history"' in none_yet.text
    purchases_today = client.get(f"{base}&kind=purchase&first_day={today}&last_day={today}")
    assert purchases_today.text.count('data-kind="purchase"') == 1
    bad_day = client.get(f"{base}&first_day=31/12/2025")
    assert bad_day.status_code == 400
    assert error_beside(bad_day, "first_day") == "날짜는 2025-01-31 형식으로 입력해 주세요."
    assert 'value="31/12/2025"' in bad_day.text
    backwards = client.get(f"{base}&first_day={tomorrow}&last_day={today}")
    assert "last_day-error" in backwards.text


def test_walking_points_show_with_the_days_that_earned_them(
    client: TestClient, application: App
) -> None:
    citizen = holder(application, client)
    region_id, now = citizen.world.region_id, datetime.now(UTC)
    walking.configure_walking_program(
        application.uow, region_id=region_id, program=WalkingProgram(), now=now
    )
    walking.fund_rewards_budget(
        application.uow,
        region_id=region_id,
        amount_won=10_000,
        idempotency_key=unique_key("rewards"),
        now=now,
    )
    walking.report_steps(
        application.uow,
        region_id=region_id,
        day=seoul_day(now),
        steps=12_345,
        wallet_id=citizen.wallet_id,
        idempotency_key=unique_key("steps"),
        now=now,
    )
    page = client.get(f"/wallet/walking?wallet={citizen.wallet_id}")
    assert figure(page, "walking-points") == "₩100"
    assert page.text.count('class="walking-day"') == 1
    assert "12,345걸음" in page.text
    assert figure(client.get("/wallet"), "points") == "₩100"


def test_the_catalogs_name_every_history_filter() -> None:
    for language in i18n.LANGUAGES:
        for kind in wallet_pages.HISTORY_KINDS:
            assert f"filter:{kind}" in i18n.CATALOGS[language]


def test_in_a_sale_the_second_buyer_waits_in_line_and_the_page_asks_again_on_time(
    database_url: str,
) -> None:
    settings = Settings(
        database_url=database_url,
        log_witnesses=[],
        sale_queue_admissions_per_second=0.001,  # nobody more within the test
        sale_queue_burst=1,
    )
    app = bootstrap(settings)
    today = seoul_day(datetime.now(UTC))
    promotion = RateWindow(today - timedelta(days=1), today + timedelta(days=1), 1_500)
    program = VoucherProgram(brand_name="시루", rate_windows=(promotion,))
    world = World(app.uow, datetime.now(UTC), program=program)
    try:
        with (
            TestClient(create_app(app, publish=False)) as first,
            TestClient(create_app(app, publish=False)) as second,
        ):
            first_wallet = signed_in_citizen(app, first, world)
            second_wallet = signed_in_citizen(app, second, world)
            assert 'id="sale-on"' in first.get(f"/wallet/buy?wallet={first_wallet}").text
            turn = post(first, f"/wallet/queue?wallet={first_wallet}", {})
            assert turn.status_code == 200
            assert 'id="queue-turn"' in turn.text
            waiting = post(second, f"/wallet/queue?wallet={second_wallet}", {})
            assert figure(waiting, "queue-position") == "대기 1번"
            assert re.search(r'data-poll-after="\d+"', waiting.text)
            assert '<script src="/static/wallet_queue.js" defer>' in waiting.text
            forged = second.post(
                f"/wallet/queue?wallet={second_wallet}", data={"csrf_token": "1.forged.token"}
            )
            assert forged.status_code == 400
            assert second.get(f"/wallet/queue?wallet={first_wallet}").status_code == 404
    finally:
        app.engine.dispose()


def signed_in_citizen(app: App, client: TestClient, world: World) -> int:
    phone = f"010{uuid.uuid4().int % 10**8:08d}"
    signed_up = accounts.sign_up_citizen(
        app.uow,
        app.secrets,
        phone=phone,
        password=PASSWORD,
        name="줄선이",
        region_id=world.region_id,
        identity_number=None,
        idempotency_key=unique_key("sign-up"),
        now=datetime.now(UTC),
    )
    assert log_in(client, phone).status_code == 303
    return signed_up.wallet_id


def test_a_refund_past_the_threshold_pays_back_and_shows_in_the_history(
    client: TestClient, application: App
) -> None:
    citizen = holder(application, client, fund_won=1_000_000)
    buy(application, citizen.wallet_id)
    friend = friend_of(application, citizen)
    gift = {"to_phone": friend.phone, "gift_won": "60000"}
    assert post(client, f"/wallet/gift?wallet={citizen.wallet_id}", gift).status_code == 303
    page = client.get(f"/wallet/refund?wallet={citizen.wallet_id}")
    assert figure(page, "refund-estimate") == "지금 신청하면 ₩36,000을 돌려받습니다."
    form = {"csrf_token": token_of(page)}
    path = f"/wallet/refund?wallet={citizen.wallet_id}"
    refunded = client.post(path, data=form, follow_redirects=False)
    assert client.post(path, data=form, follow_redirects=False).status_code == 303  # once
    history = client.get(refunded.headers["location"])
    assert 'id="refund-done"' in history.text
    assert history.text.count('data-kind="refund"') == 1
    assert balance_of(application, citizen.wallet_id) == 0
