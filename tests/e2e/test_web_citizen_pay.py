"""The citizen's paying pages over HTTP: the payment PIN, paying a shop by its code, and the
one-time payment code, each with good and bad input.

The pages call the services the API calls, so these pin what a page adds: each refusal is
beside its field with what was typed kept (never a PIN or password), a wrong PIN says how many
tries are left while a malformed one costs none, a double tap pays once, and the code shown
is one a shop's counter can really charge.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from dongne.bootstrap import App
from dongne.domain.emvco import build_payload
from dongne.services import accounts, counter_payments, purchases
from dongne.services.idempotency import scoped_key
from tests.e2e.test_api_payment_intents import TestClient
from tests.e2e.test_web_citizen import PASSWORD, error_beside, log_in, token_of
from tests.factories import World, unique_key

PIN = "482916"


@dataclass(frozen=True)
class Shopper:
    """A signed-in citizen holding ₩100,000 of vouchers, and a shop of their region."""

    user_id: int
    wallet_id: int
    merchant_id: int
    merchant_code: str


def shopper(app: App, client: TestClient, *, pin: str | None = PIN) -> Shopper:
    now = datetime.now(UTC)
    world = World(app.uow, now)
    world.fund(1_000_000)
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
    if pin is not None:
        accounts.set_pin(
            app.uow, app.secrets, user_id=signed_up.user_id, password=PASSWORD, pin=pin
        )
    purchases.purchase_vouchers(
        app.uow,
        wallet_id=signed_up.wallet_id,
        face_won=100_000,
        idempotency_key=unique_key("purchase"),
        now=now,
    )
    merchant_id = world.merchant()
    with app.uow:
        code = build_payload(counter_payments.merchant_qr_within(app.uow, merchant_id))
    assert log_in(client, phone).status_code == 303
    return Shopper(signed_up.user_id, signed_up.wallet_id, merchant_id, code)


def usable_won(app: App, client: TestClient, wallet_id: int) -> int:
    page = client.get(f"/wallet?wallet={wallet_id}")
    found = re.search(r'id="usable">₩([\d,]+)<', page.text)
    assert found, page.text
    return int(found.group(1).replace(",", ""))


def pay(client: TestClient, form: dict[str, str], token: str | None = None) -> httpx.Response:
    token = token or token_of(client.get("/wallet/pay"))
    return client.post("/wallet/pay", data=form | {"csrf_token": token}, follow_redirects=False)


# The payment PIN -------------------------------------------------------------------------


def set_pin(client: TestClient, password: str, pin: str, pin_again: str) -> httpx.Response:
    form = {
        "csrf_token": token_of(client.get("/wallet/pin")),
        "current_password": password,
        "pin": pin,
        "pin_again": pin_again,
    }
    return client.post("/wallet/pin", data=form, follow_redirects=False)


def test_a_citizen_sets_the_pin_with_the_password_and_then_pays_with_it(
    client: TestClient, application: App
) -> None:
    buyer = shopper(application, client, pin=None)
    no_pin = pay(client, {"merchant_code": buyer.merchant_code, "amount_won": "5000", "pin": PIN})
    assert no_pin.status_code == 409
    assert error_beside(no_pin, "pin") == "결제 비밀번호를 먼저 설정하세요."

    saved = set_pin(client, PASSWORD, "135790", "135790")
    assert saved.status_code == 303
    assert saved.headers["location"] == "/wallet/pin?saved=1"
    assert 'id="pin-saved"' in client.get(saved.headers["location"]).text
    paid = pay(
        client, {"merchant_code": buyer.merchant_code, "amount_won": "5000", "pin": "135790"}
    )
    assert paid.status_code == 303


def test_setting_the_pin_refuses_a_wrong_password_two_different_pins_and_an_easy_pin(
    client: TestClient, application: App
) -> None:
    shopper(application, client)
    wrong_password = set_pin(client, "not the password", "135790", "135790")
    assert wrong_password.status_code == 403
    assert error_beside(wrong_password, "current_password") == "비밀번호가 맞지 않습니다."
    differ = set_pin(client, PASSWORD, "135790", "135791")
    assert differ.status_code == 400
    assert (
        error_beside(differ, "pin_again") == "두 비밀번호가 다릅니다. 같은 번호를 다시 입력하세요."
    )
    easy = set_pin(client, PASSWORD, "777777", "777777")
    assert easy.status_code == 400
    assert error_beside(easy, "pin").startswith("결제 비밀번호는 숫자 6자리이며")
    assert "777777" not in easy.text  # a PIN is never written back into the page


# Paying a shop by its code ----------------------------------------------------------------


def test_a_citizen_pays_a_shop_by_its_code_once_however_often_the_form_is_sent(
    client: TestClient, application: App
) -> None:
    buyer = shopper(application, client)
    token = token_of(client.get("/wallet/pay"))
    form = {"merchant_code": buyer.merchant_code, "amount_won": "12,300", "pin": PIN}
    first = pay(client, form, token)
    again = pay(client, form, token)  # a double tap sends the same form twice
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert first.headers["location"].startswith("/wallet/paid?payment=")

    result = client.get(first.headers["location"])
    assert result.status_code == 200
    assert re.search(r'id="paid-amount">₩12,300<', result.text)
    assert "가게" in re.search(r'id="paid-merchant">([^<]+)<', result.text).group(1)  # type: ignore[union-attr]
    assert usable_won(application, client, buyer.wallet_id) == 100_000 - 12_300


def test_a_wrong_pin_says_how_many_tries_are_left_and_a_malformed_one_costs_none(
    client: TestClient, application: App
) -> None:
    buyer = shopper(application, client)
    typed = {"merchant_code": buyer.merchant_code, "amount_won": "5,000"}
    malformed = pay(client, typed | {"pin": "12ab"})
    assert malformed.status_code == 400
    assert error_beside(malformed, "pin").startswith("결제 비밀번호는 숫자 6자리")
    wrong = pay(client, typed | {"pin": "111112"})
    assert wrong.status_code == 403
    assert error_beside(wrong, "pin") == "결제 비밀번호가 맞지 않습니다. 남은 횟수 4회."
    assert 'value="5,000"' in wrong.text  # what was typed stays...
    assert f'value="{buyer.merchant_code}"' in wrong.text
    assert "111112" not in wrong.text  # ...but never the PIN
    assert usable_won(application, client, buyer.wallet_id) == 100_000


def test_a_bad_shop_code_or_amount_is_refused_beside_its_field_and_nothing_is_paid(
    client: TestClient, application: App
) -> None:
    buyer = shopper(application, client)
    not_a_code = pay(client, {"merchant_code": "hello", "amount_won": "5000", "pin": PIN})
    assert not_a_code.status_code == 400
    assert error_beside(not_a_code, "merchant_code").startswith("가게 코드가 올바르지 않습니다")
    mistyped = buyer.merchant_code[:-1] + ("0" if buyer.merchant_code[-1] != "0" else "1")
    misread = pay(client, {"merchant_code": mistyped, "amount_won": "5000", "pin": PIN})
    assert error_beside(misread, "merchant_code").startswith("가게 코드의 끝자리가")
    letters = pay(client, {"merchant_code": buyer.merchant_code, "amount_won": "five", "pin": PIN})
    assert letters.status_code == 400
    assert error_beside(letters, "amount_won") == (
        "금액은 100000처럼 원 단위 숫자로 입력해 주세요."
    )
    too_much = pay(
        client, {"merchant_code": buyer.merchant_code, "amount_won": "100001", "pin": PIN}
    )
    assert too_much.status_code == 422
    assert error_beside(too_much, "amount_won") == (
        "잔액이 부족합니다. 이 가게에서 쓸 수 있는 금액은 ₩100,000입니다."
    )
    assert usable_won(application, client, buyer.wallet_id) == 100_000


def test_another_citizens_payment_is_a_page_not_found(client: TestClient, application: App) -> None:
    buyer = shopper(application, client)
    paid = pay(client, {"merchant_code": buyer.merchant_code, "amount_won": "5000", "pin": PIN})
    shopper(application, client)  # someone else logs in on this browser
    response = client.get(paid.headers["location"])
    assert response.status_code == 404
    assert 'data-status="404"' in response.text


# My one-time payment code ----------------------------------------------------------------


def test_my_payment_code_shows_its_number_qr_and_expiry_and_a_shop_can_charge_it(
    client: TestClient, application: App
) -> None:
    buyer = shopper(application, client)
    form_page = client.get("/wallet/code")
    assert 'id="pin"' in form_page.text
    form = {"csrf_token": token_of(form_page), "pin": PIN}
    shown = client.post(f"/wallet/code?wallet={buyer.wallet_id}", data=form)
    assert shown.status_code == 200
    number = re.search(r'id="code-number">([\d ]+)<', shown.text)
    assert number, shown.text
    code = number.group(1).replace(" ", "")
    assert re.fullmatch(r"92\d{16}", code)
    assert "<svg" in shown.text
    assert "까지 유효" in shown.text  # without the script, the page says until when
    assert '<script src="/static/countdown.js" defer></script>' in shown.text
    seconds = re.search(r'data-seconds-left="(\d+)"', shown.text)
    assert seconds
    assert 170 <= int(seconds.group(1)) <= 180
    assert client.get("/static/countdown.js").status_code == 200

    charged = counter_payments.pay_by_code(
        application.uow,
        application.secrets,
        merchant_id=buyer.merchant_id,
        code=code,
        amount_won=7_000,
        idempotency_key=scoped_key("pay-code", None, unique_key()),
        now=datetime.now(UTC),
    )
    assert charged.wallet_id == buyer.wallet_id
    assert usable_won(application, client, buyer.wallet_id) == 93_000


def test_my_payment_code_is_shown_after_a_redirect_and_reloading_shows_it_again(
    client: TestClient, application: App
) -> None:
    buyer = shopper(application, client)
    form = {"csrf_token": token_of(client.get("/wallet/code")), "pin": PIN}
    issued = client.post(
        f"/wallet/code?wallet={buyer.wallet_id}", data=form, follow_redirects=False
    )
    assert issued.status_code == 303
    assert issued.headers["location"] == f"/wallet/code?wallet={buyer.wallet_id}"  # no code
    cookie = issued.headers["set-cookie"]
    assert "Path=/wallet/code" in cookie
    assert "HttpOnly" in cookie
    lifetime = re.search(r"Max-Age=(\d+)", cookie)
    assert lifetime
    assert 170 <= int(lifetime.group(1)) <= 180  # the code's own lifetime
    shown = client.get(issued.headers["location"])
    code = re.search(r'id="code-number">([\d ]+)<', shown.text)
    assert code
    assert code.group(1).replace(" ", "") not in cookie  # sealed, not readable
    reloaded = client.get(issued.headers["location"])
    assert re.search(r'id="code-number">([\d ]+)<', reloaded.text).group(1) == code.group(1)  # type: ignore[union-attr]
    assert 'id="pin"' in client.get(f"/wallet/code?wallet={buyer.wallet_id}&new=1").text

    shopper(application, client)  # someone else logs in on this browser
    assert 'id="code-number"' not in client.get("/wallet/code").text
    assert client.get(f"/wallet/code?wallet={buyer.wallet_id}").status_code == 404


def test_my_payment_code_needs_the_right_pin(client: TestClient, application: App) -> None:
    buyer = shopper(application, client)
    form = {"csrf_token": token_of(client.get("/wallet/code")), "pin": "111112"}
    refused = client.post(f"/wallet/code?wallet={buyer.wallet_id}", data=form)
    assert refused.status_code == 403
    assert error_beside(refused, "pin") == "결제 비밀번호가 맞지 않습니다. 남은 횟수 4회."
    assert 'id="code-number"' not in refused.text
    expired = client.post(f"/wallet/code?wallet={buyer.wallet_id}", data={"pin": PIN})
    assert expired.status_code == 400
    assert error_beside(expired, "form") == "입력 화면이 만료되었습니다. 다시 입력해 주세요."


def test_the_paying_pages_need_a_session_and_speak_english_by_the_switch(
    client: TestClient, application: App
) -> None:
    for path in ("/wallet/pin", "/wallet/pay", "/wallet/code", "/wallet/paid?payment=1"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=/wallet/")
    buyer = shopper(application, client)
    client.get("/language?to=en")
    wrong = pay(
        client, {"merchant_code": buyer.merchant_code, "amount_won": "5000", "pin": "111112"}
    )
    assert error_beside(wrong, "pin") == "The PIN is wrong. 4 tries left."
    assert "Pay a shop" in wrong.text
