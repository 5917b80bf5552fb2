"""The citizen's approval page: a partner sends the citizen to /pay/{id}, the PIN approves.

Every refusal re-renders the form with the message beside the field it concerns, and moves
nothing; the right submission goes back to the partner's return URL.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from dongne.bootstrap import App
from tests.e2e.test_api_payment_intents import (
    BALANCE_WON,
    PASSWORD,
    PIN,
    PRICE_WON,
    Shop,
    TestClient,
    approve,
    balance_won,
    create_intent,
    partner_headers,
    set_up_shop,
)

WRONG_PIN = "193847"
WRONG_PASSWORD = "not the password"  # noqa: S105 - a test password
FORM = "application/x-www-form-urlencoded"


class _ById(HTMLParser):
    """The text inside each element that has an id, and each element's attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.text: dict[str, str] = {}
        self.attributes: dict[str, dict[str, str | None]] = {}
        self._open: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element_id = dict(attrs).get("id")
        if element_id:
            self.attributes[element_id] = dict(attrs)
            self.text.setdefault(element_id, "")
        if tag not in {"input", "meta", "br", "link"}:  # void elements never close
            self._open.append(element_id)

    def handle_endtag(self, tag: str) -> None:
        if self._open and tag not in {"input", "meta", "br", "link"}:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for element_id in self._open:
            if element_id:
                self.text[element_id] += data


def page_of(response: httpx.Response) -> _ById:
    assert response.headers["content-type"].startswith("text/html"), response.text
    parser = _ById()
    parser.feed(response.text)
    return parser


def token_of(response: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    assert found, response.text
    return found.group(1)


@pytest.fixture
def shop(application: App) -> Shop:
    return set_up_shop(application)


def submit(client: TestClient, shop: Shop, intent_id: int, **fields: str | None) -> httpx.Response:
    """Open the page, fill it in (the right answers unless told otherwise), and send it."""
    form = {"phone": shop.phone, "password": PASSWORD, "pin": PIN}
    url = page_url(client, shop, intent_id)
    form["csrf_token"] = token_of(client.get(url))
    form |= fields
    sent = {name: value for name, value in form.items() if value is not None}
    return client.post(url, data=sent, follow_redirects=False)


def page_url(client: TestClient, shop: Shop, intent_id: int) -> str:
    """The approval URL the partner got (it carries the intent's secret)."""
    response = client.get(
        f"/api/v1/payment_intents/{intent_id}", headers=partner_headers(shop.partner_key)
    )
    url: str = response.json()["approval_url"]
    return url


def status_for_partner(client: TestClient, shop: Shop, intent_id: int) -> str:
    response = client.get(
        f"/api/v1/payment_intents/{intent_id}", headers=partner_headers(shop.partner_key)
    )
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


def assert_refused_beside(
    response: httpx.Response, status: int, field: str, *, says: str = ""
) -> _ById:
    assert response.status_code == status, response.text
    page = page_of(response)
    errors = {key for key in page.text if key.endswith("-error")}
    assert errors == {f"{field}-error"}, response.text
    assert says in page.text[f"{field}-error"]
    if field != "form":
        assert page.attributes[field]["aria-invalid"] == "true"
    assert "csrf_token" in response.text  # the form is offered again, with a fresh token
    return page


def test_the_page_shows_the_merchant_the_amount_and_the_order(
    application: App, client: TestClient, shop: Shop
) -> None:
    intent = create_intent(client, shop, order_reference="order-2026-0042")
    response = client.get(intent["approval_url"])
    assert response.status_code == 200
    page = page_of(response)
    with application.reader() as reader:
        merchant_name = reader.records.merchant(shop.merchant_id).merchant.name
    assert page.text["merchant"] == merchant_name
    assert page.text["amount"] == "30,000원"
    assert page.text["order-reference"] == "order-2026-0042"
    assert page.attributes["pin"]["inputmode"] == "numeric"
    assert {"phone", "password", "pin"} <= page.attributes.keys()
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_the_right_answers_approve_and_go_back_to_the_partner(
    application: App, client: TestClient, shop: Shop
) -> None:
    intent = create_intent(client, shop)
    response = submit(client, shop, intent["id"], phone=shop.phone[:3] + "-" + shop.phone[3:])
    assert response.status_code == 303, response.text
    location = urlsplit(response.headers["location"])
    assert (location.scheme, location.netloc, location.path) == (
        "https",
        "shop.example",
        "/orders/done",
    )
    assert parse_qs(location.query) == {
        "payment_intent": [str(intent["id"])],
        "status": ["requires_capture"],
    }
    assert status_for_partner(client, shop, intent["id"]) == "requires_capture"
    assert balance_won(application, shop) == BALANCE_WON - PRICE_WON


def test_a_double_tap_on_one_form_approves_once(
    application: App, client: TestClient, shop: Shop
) -> None:
    intent = create_intent(client, shop)
    form = {"phone": shop.phone, "password": PASSWORD, "pin": PIN}
    form["csrf_token"] = token_of(client.get(intent["approval_url"]))
    first = client.post(intent["approval_url"], data=form, follow_redirects=False)
    second = client.post(intent["approval_url"], data=form, follow_redirects=False)
    assert first.status_code == 303, first.text
    # The page is no longer open for approval; the citizen is sent back to the shop.
    assert second.status_code == 409
    assert page_of(second).attributes["closed"]["data-status"] == "requires_capture"
    assert balance_won(application, shop) == BALANCE_WON - PRICE_WON


def test_a_wrong_password_is_reported_beside_the_password(
    application: App, client: TestClient, shop: Shop
) -> None:
    intent = create_intent(client, shop)
    response = submit(client, shop, intent["id"], password=WRONG_PASSWORD)
    page = assert_refused_beside(response, 403, "password", says="password is wrong")
    # The phone is kept, so only the password is typed again.
    assert page.attributes["phone"]["value"] == shop.phone
    assert status_for_partner(client, shop, intent["id"]) == "requires_approval"
    assert balance_won(application, shop) == BALANCE_WON


def test_a_wrong_pin_is_reported_beside_the_pin_with_the_tries_left(
    application: App, client: TestClient, shop: Shop
) -> None:
    intent = create_intent(client, shop)
    response = submit(client, shop, intent["id"], pin=WRONG_PIN)
    page = assert_refused_beside(response, 403, "pin", says="PIN is wrong")
    assert "4 tries left" in page.text["attempts-left"]
    assert status_for_partner(client, shop, intent["id"]) == "requires_approval"
    assert balance_won(application, shop) == BALANCE_WON


def test_a_locked_pin_is_reported_beside_the_pin_even_when_right(
    application: App, client: TestClient, shop: Shop
) -> None:
    intent = create_intent(client, shop)
    for _ in range(application.settings.pin_attempts_max - 1):
        assert submit(client, shop, intent["id"], pin=WRONG_PIN).status_code == 403
    last = submit(client, shop, intent["id"], pin=WRONG_PIN)
    assert_refused_beside(last, 423, "pin", says="locked")
    right = submit(client, shop, intent["id"])
    assert_refused_beside(right, 423, "pin", says="locked")
    assert status_for_partner(client, shop, intent["id"]) == "requires_approval"
    assert balance_won(application, shop) == BALANCE_WON


@pytest.mark.parametrize(
    "case",
    [
        ("phone", "02-123-4567", "010-1234-5678"),
        ("phone", None, "010-1234-5678"),
        ("pin", "12345", "6 digits"),
        ("pin", "12345a", "6 digits"),
    ],
)
def test_a_malformed_field_is_reported_beside_it_and_costs_no_pin_try(
    application: App, client: TestClient, shop: Shop, case: tuple[str, str | None, str]
) -> None:
    field, value, says = case
    intent = create_intent(client, shop)
    response = submit(client, shop, intent["id"], **{field: value})
    assert_refused_beside(response, 400, field, says=says)
    # A malformed PIN is not a wrong try: the next wrong one still leaves four.
    wrong = submit(client, shop, intent["id"], pin=WRONG_PIN)
    assert "4 tries left" in page_of(wrong).text["attempts-left"]
    assert balance_won(application, shop) == BALANCE_WON


@pytest.mark.parametrize("token", [None, "", "1.2.3", "not-a-token", "9" * 40])
def test_a_form_without_a_valid_token_is_refused(
    application: App, client: TestClient, shop: Shop, token: str | None
) -> None:
    intent = create_intent(client, shop)
    response = submit(client, shop, intent["id"], csrf_token=token)
    assert_refused_beside(response, 400, "form", says="expired")
    assert status_for_partner(client, shop, intent["id"]) == "requires_approval"
    assert balance_won(application, shop) == BALANCE_WON


def test_a_token_from_another_intents_page_is_refused(
    application: App, client: TestClient, shop: Shop
) -> None:
    intent, other = create_intent(client, shop), create_intent(client, shop)
    token = token_of(client.get(other["approval_url"]))
    response = submit(client, shop, intent["id"], csrf_token=token)
    assert_refused_beside(response, 400, "form")
    assert balance_won(application, shop) == BALANCE_WON


def test_not_enough_balance_is_reported_above_the_form(
    application: App, client: TestClient, shop: Shop
) -> None:
    intent = create_intent(client, shop, amount_won=BALANCE_WON + 1)
    response = submit(client, shop, intent["id"])
    assert_refused_beside(response, 422, "form", says="잔액이 부족합니다")
    assert status_for_partner(client, shop, intent["id"]) == "requires_approval"
    assert balance_won(application, shop) == BALANCE_WON


def test_an_intent_already_approved_says_so_and_links_back_to_the_shop(
    application: App, client: TestClient, shop: Shop
) -> None:
    intent = create_intent(client, shop)
    token = token_of(client.get(intent["approval_url"]))
    approve(client, shop, intent)  # in another tab, through the API

    shown = client.get(intent["approval_url"])
    assert shown.status_code == 200
    page = page_of(shown)
    assert page.attributes["closed"]["data-status"] == "requires_capture"
    back = urlsplit(page.attributes["back"]["href"] or "")
    assert back.netloc == "shop.example"
    assert parse_qs(back.query)["status"] == ["requires_capture"]
    assert "csrf_token" not in shown.text

    form = {"phone": shop.phone, "password": PASSWORD, "pin": PIN, "csrf_token": token}
    late = client.post(intent["approval_url"], data=form, follow_redirects=False)
    assert late.status_code == 409
    assert "closed" in page_of(late).attributes
    assert balance_won(application, shop) == BALANCE_WON - PRICE_WON


@pytest.mark.parametrize("intent_id", ["999999", "abc", "-1", "99999999999999999999", "١٢"])
def test_an_unknown_intent_is_a_not_found_page(client: TestClient, intent_id: str) -> None:
    shown = client.get(f"/pay/{intent_id}")
    assert shown.status_code == 404
    assert "not-found" in page_of(shown).attributes
    posted = client.post(f"/pay/{intent_id}", data={"pin": PIN}, follow_redirects=False)
    assert posted.status_code == 404
    assert "not-found" in page_of(posted).attributes


def test_the_pages_are_not_part_of_the_api_schema(client: TestClient) -> None:
    assert not any(path.startswith("/pay") for path in client.get("/openapi.json").json()["paths"])


def test_the_page_needs_the_secret_from_the_approval_url(client: TestClient, shop: Shop) -> None:
    intent = create_intent(client, shop)
    assert client.get(intent["approval_url"]).status_code == 200
    for guessed in (f"/pay/{intent['id']}", f"/pay/{intent['id']}?secret=" + "0" * 32):
        shown = client.get(guessed)
        assert shown.status_code == 404
        assert "not-found" in page_of(shown).attributes
        assert "30,000" not in shown.text
