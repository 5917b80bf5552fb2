"""Paying by the shop's QR over HTTP: the camera's frames and the photo form.

A frame of the shop's real QR opens the pay form with the code filled in and the shop's name
as registered; a frame of nothing keeps the camera looking; a QR that is not a shop's, a shop
that does not exist, or what is not a picture is refused beside the scanner; a frame from
another site's form is refused. The decoding itself has unit tests
(``tests/unit/test_web_qr_decoding.py``).
"""

from __future__ import annotations

import io
import re
from urllib.parse import parse_qs, urlsplit

import httpx
from PIL import Image

from dongne.bootstrap import App
from dongne.domain.emvco import MerchantQr, build_payload
from tests.e2e.test_api_payment_intents import TestClient
from tests.e2e.test_web_citizen import error_beside, token_of
from tests.e2e.test_web_citizen_pay import PIN, pay, shopper, usable_won
from tests.unit.test_web_qr_decoding import camera_frame


def send_frame(
    client: TestClient, picture: bytes, *, path: str = "/wallet/scan/frame", signed: str = ""
) -> httpx.Response:
    token = signed or token_of(client.get("/wallet/scan"))
    files = {"frame": ("frame.jpg", picture, "image/jpeg")}
    return client.post(path, data={"csrf_token": token}, files=files, follow_redirects=False)


def nothing_in_view() -> bytes:
    picture = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 120, 150)).save(picture, "JPEG")
    return picture.getvalue()


def test_the_scan_page_has_the_camera_for_the_script_and_a_photo_form_without_it(
    client: TestClient, application: App
) -> None:
    buyer = shopper(application, client)
    page = client.get("/wallet/scan")
    assert page.status_code == 200
    assert '<script src="/static/scan.js" defer></script>' in page.text
    assert f'data-action="/wallet/scan/frame?wallet={buyer.wallet_id}"' in page.text
    assert 'id="frame" name="frame" type="file"' in page.text
    assert 'id="type-code"' in page.text  # typing the code stays the fallback
    # The script may send frames back to this server, and only there.
    assert "connect-src 'self'" in page.headers["content-security-policy"]
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_a_frame_of_the_shops_qr_opens_the_pay_form_with_its_code_and_registered_name(
    client: TestClient, application: App
) -> None:
    buyer = shopper(application, client)
    answer = send_frame(client, camera_frame(buyer.merchant_code))
    assert answer.status_code == 200
    target = answer.json()["next"]
    assert parse_qs(urlsplit(target).query)["code"] == [buyer.merchant_code]

    pay_form = client.get(target)
    assert f'value="{buyer.merchant_code}"' in pay_form.text.replace("&#34;", '"')
    shop = re.search(r'id="paying-shop"><strong>([^<]+)<', pay_form.text)
    assert shop
    assert "가게" in shop.group(1)
    paid = pay(client, {"merchant_code": buyer.merchant_code, "amount_won": "7,000", "pin": PIN})
    assert paid.status_code == 303
    assert usable_won(application, client, buyer.wallet_id) == 100_000 - 7_000


def test_a_frame_of_nothing_keeps_the_camera_looking(client: TestClient, application: App) -> None:
    shopper(application, client)
    answer = send_frame(client, nothing_in_view())
    assert (answer.status_code, answer.json()) == (200, {})


def test_a_qr_that_is_not_a_shops_is_refused_beside_the_scanner(
    client: TestClient, application: App
) -> None:
    shopper(application, client)
    website = send_frame(client, camera_frame("https://example.com/menu"))
    assert website.status_code == 400
    assert website.json()["message"] == "이 QR 코드는 동네 가게의 결제 코드가 아닙니다."
    no_such_shop = build_payload(MerchantQr.for_merchant(2**40, name="없는 가게", city="Suwon"))
    unknown = send_frame(client, camera_frame(no_such_shop))
    assert unknown.status_code == 404
    assert unknown.json()["message"] == "이 코드의 가게를 찾을 수 없습니다."


def test_the_photo_form_answers_as_a_form_does(client: TestClient, application: App) -> None:
    buyer = shopper(application, client)
    found = send_frame(client, camera_frame(buyer.merchant_code), path="/wallet/scan")
    assert found.status_code == 303
    assert found.headers["location"].startswith(f"/wallet/pay?wallet={buyer.wallet_id}&code=")

    blank = send_frame(client, nothing_in_view(), path="/wallet/scan")
    assert blank.status_code == 400
    assert error_beside(blank, "frame").startswith("사진에서 QR 코드를 찾지 못했습니다.")
    website = send_frame(client, camera_frame("https://example.com"), path="/wallet/scan")
    assert error_beside(website, "frame") == "이 QR 코드는 동네 가게의 결제 코드가 아닙니다."
    not_a_picture = send_frame(client, b"%PDF-1.7", path="/wallet/scan")
    assert not_a_picture.status_code == 400
    assert error_beside(not_a_picture, "frame").startswith("사진을 읽을 수 없습니다.")


def test_a_frame_without_this_browsers_form_token_is_refused(
    client: TestClient, application: App
) -> None:
    buyer = shopper(application, client)
    forged = send_frame(client, camera_frame(buyer.merchant_code), signed="1.forged.token")
    assert forged.status_code == 400
    assert "next" not in forged.json()
    photo = send_frame(client, camera_frame(buyer.merchant_code), path="/wallet/scan", signed="x")
    assert photo.status_code == 400
    assert 'id="form-error"' in photo.text


def test_scanning_needs_a_citizens_session(client: TestClient) -> None:
    for answer in (client.get("/wallet/scan", follow_redirects=False), send_frame(client, b"x")):
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login?next=/wallet/scan")
