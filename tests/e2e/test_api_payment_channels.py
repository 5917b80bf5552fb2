"""Every way to pay, over HTTP: the merchant's QR, the citizen's payment code, remote requests."""

from __future__ import annotations

import threading
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import pyotp
import pytest
from sqlalchemy import func, select
from starlette.exceptions import StarletteDeprecationWarning

from dongne.adapters.db.tables import payments
from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.domain.access import UserKind
from dongne.domain.emvco import MerchantQr, build_payload
from dongne.domain.errors import DongneError
from dongne.entrypoints.api import deps
from dongne.entrypoints.api.app import create_app
from dongne.services import accounts, counter_payments, purchases
from tests.conftest import NOW
from tests.factories import World, unique_key

with warnings.catch_warnings():
    # Starlette 1.x asks for httpx2 and warns once, on import, when it falls back to httpx.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

PROBLEM_JSON = "application/problem+json"
PASSWORD = "a long enough password"  # noqa: S105 - a test password
PIN = "482916"
WRONG_PIN = "000111"
STARTS_AT = NOW + timedelta(hours=1)


@dataclass
class Clock:
    now: datetime = STARTS_AT

    def move(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Citizen:
    phone: str
    wallet_id: int
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Setting:
    """One region with a merchant (and its owner's token) and a citizen holding 100,000 won."""

    app: App
    client: TestClient
    clock: Clock
    world: World
    merchant_id: int
    merchant_auth: dict[str, str] = field(default_factory=dict)
    citizen: Citizen = field(init=False)

    def new_citizen(self, world: World | None = None) -> Citizen:
        world = world or self.world
        phone = f"010{uuid.uuid4().int % 10**8:08d}"
        signed_up = accounts.sign_up_citizen(
            self.app.uow,
            self.app.secrets,
            phone=phone,
            password=PASSWORD,
            name="시민",
            region_id=world.region_id,
            identity_number=None,
            idempotency_key=unique_key("sign-up"),
            now=NOW,
        )
        accounts.set_pin(
            self.app.uow, self.app.secrets, user_id=signed_up.user_id, password=PASSWORD, pin=PIN
        )
        purchases.purchase_vouchers(
            self.app.uow,
            wallet_id=signed_up.wallet_id,
            face_won=100_000,
            idempotency_key=unique_key("purchase"),
            now=NOW,
        )
        return Citizen(phone, signed_up.wallet_id, self.log_in(phone))

    def new_merchant_user(self, merchant_id: int, role: str = "owner") -> dict[str, str]:
        login = unique_key("shop")
        accounts.create_staff_user(
            self.app.uow,
            self.app.secrets,
            kind=UserKind.MERCHANT,
            login=login,
            password=PASSWORD,
            role=role,
            region_id=None,
            merchant_id=merchant_id,
            now=NOW,
        )
        return {"Authorization": f"Bearer {self.log_in(login)}"}

    def log_in(self, login: str, totp: str | None = None) -> str:
        response = self.client.post(
            "/api/v1/sessions", json={"login": login, "password": PASSWORD, "totp": totp}
        )
        assert response.status_code == 201, response.text
        token: str = response.json()["token"]
        return token

    def qr_of(self, merchant_id: int | None = None) -> str:
        merchant_id = merchant_id or self.merchant_id
        response = self.client.get(
            f"/api/v1/merchants/{merchant_id}/qr", headers=self.merchant_auth
        )
        assert response.status_code == 200, response.text
        payload: str = response.json()["payload"]
        return payload

    def pay_by_qr(self, citizen: Citizen, payload: str, **body: object) -> httpx.Response:
        return self.client.post(
            "/api/v1/payments/qr",
            json={"payload": payload, "amount_won": 5_000, "pin": PIN, **body},
            headers={**citizen.auth, "Idempotency-Key": unique_key()},
        )

    def issue_code(self, citizen: Citizen, pin: str = PIN) -> httpx.Response:
        return self.client.post("/api/v1/payment_codes", json={"pin": pin}, headers=citizen.auth)

    def pay_by_code(self, code: str, amount_won: int = 3_000) -> httpx.Response:
        return self.client.post(
            "/api/v1/payments/code",
            json={"code": code, "amount_won": amount_won},
            headers={**self.merchant_auth, "Idempotency-Key": unique_key()},
        )

    def request_payment(
        self, citizen: Citizen, key: str | None = None, **body: object
    ) -> httpx.Response:
        return self.client.post(
            "/api/v1/payment_requests",
            json={"phone": citizen.phone, "amount_won": 7_000, "memo": "택배비", **body},
            headers={**self.merchant_auth, "Idempotency-Key": key or unique_key()},
        )

    def approve(self, citizen: Citizen, request_id: int, pin: str = PIN) -> httpx.Response:
        return self.client.post(
            f"/api/v1/payment_requests/{request_id}/approve",
            json={"pin": pin},
            headers={**citizen.auth, "Idempotency-Key": unique_key()},
        )

    def payment_count(self) -> int:
        with self.app.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(payments)).scalar_one())


@pytest.fixture
def setting(database_url: str) -> Iterator[Setting]:
    application = bootstrap(Settings(database_url=database_url))
    world = World(application.uow, NOW)
    world.fund(10_000_000)
    merchant_id = world.merchant()
    clock = Clock()
    api = create_app(application, publish=False)
    api.dependency_overrides[deps.clock] = lambda: clock.now
    with TestClient(api) as client:
        setting = Setting(application, client, clock, world, merchant_id)
        setting.merchant_auth = setting.new_merchant_user(merchant_id)
        setting.citizen = setting.new_citizen()
        yield setting
    application.engine.dispose()


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, object] = response.json()
    assert (body["status"], body["code"]) == (status, code)
    return body


# -- the merchant's QR ----------------------------------------------------------------------


def test_the_merchant_qr_is_an_emvco_payload_with_an_svg_and_a_png(setting: Setting) -> None:
    response = setting.client.get(
        f"/api/v1/merchants/{setting.merchant_id}/qr", headers=setting.merchant_auth
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["payload"].startswith("000201010211")
    assert (
        f"0009kr.dongne01{len(str(setting.merchant_id)):02d}{setting.merchant_id}"
        in (body["payload"])
    )
    assert "5303410" in body["payload"]
    assert "5802KR" in body["payload"]
    assert body["svg"].startswith("<svg")
    png = setting.client.get(
        f"/api/v1/merchants/{setting.merchant_id}/qr.png", headers=setting.merchant_auth
    )
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")


def test_the_merchant_qr_is_for_its_staff_its_officials_and_the_operator(setting: Setting) -> None:
    path = f"/api/v1/merchants/{setting.merchant_id}/qr"
    staff = setting.new_merchant_user(setting.merchant_id, role="staff")
    assert setting.client.get(path, headers=staff).status_code == 200
    other_merchant = setting.new_merchant_user(setting.world.merchant())
    # Another merchant's QR answers as a merchant that does not exist.
    assert_problem(setting.client.get(path, headers=other_merchant), 404, "MERCHANT_NOT_FOUND")
    assert_problem(
        setting.client.get(path, headers=setting.citizen.auth), 404, "MERCHANT_NOT_FOUND"
    )
    assert_problem(setting.client.get(path), 401, "AUTHENTICATION_REQUIRED")
    for kind, region_id in (
        (UserKind.OFFICIAL, setting.world.region_id),
        (UserKind.OPERATOR, None),
    ):
        login = unique_key(kind.value)
        created = accounts.create_staff_user(
            setting.app.uow,
            setting.app.secrets,
            kind=kind,
            login=login,
            password=PASSWORD,
            role="viewer" if kind is UserKind.OFFICIAL else None,
            region_id=region_id,
            merchant_id=None,
            now=NOW,
        )
        totp = pyotp.TOTP(created.secret).now() if created.secret else None
        auth = {"Authorization": f"Bearer {setting.log_in(login, totp)}"}
        assert setting.client.get(path, headers=auth).status_code == 200
    unknown = setting.client.get("/api/v1/merchants/999999/qr", headers=setting.merchant_auth)
    assert_problem(unknown, 404, "MERCHANT_NOT_FOUND")


def test_a_citizen_pays_by_scanning_the_merchant_qr(setting: Setting) -> None:
    payload = setting.qr_of()
    headers = {**setting.citizen.auth, "Idempotency-Key": "scan-1"}
    body = {"payload": payload, "amount_won": 5_000, "pin": PIN}
    paid = setting.client.post("/api/v1/payments/qr", json=body, headers=headers)
    assert paid.status_code == 201, paid.text
    assert paid.json()["merchant_id"] == setting.merchant_id
    assert paid.json()["wallet_id"] == setting.citizen.wallet_id
    assert paid.json()["amount_won"] == 5_000
    again = setting.client.post("/api/v1/payments/qr", json=body, headers=headers)
    assert again.json() == paid.json()
    assert setting.payment_count() == 1


def test_a_qr_payment_refuses_every_bad_input(setting: Setting) -> None:
    citizen = setting.citizen
    payload = setting.qr_of()
    bad_crc = payload[:-4] + ("0000" if payload[-4:] != "0000" else "0001")
    assert_problem(setting.pay_by_qr(citizen, bad_crc), 400, "QR_CRC_MISMATCH")
    assert_problem(setting.pay_by_qr(citizen, "hello"), 400, "QR_INVALID")
    unknown = build_payload(MerchantQr.for_merchant(999_999, name="Nowhere", city="X"))
    assert_problem(setting.pay_by_qr(citizen, unknown), 404, "MERCHANT_NOT_FOUND")
    elsewhere = World(setting.app.uow, NOW)
    far_merchant_id = elsewhere.merchant()
    far_qr = setting.client.get(
        f"/api/v1/merchants/{far_merchant_id}/qr",
        headers=setting.new_merchant_user(far_merchant_id),
    ).json()["payload"]
    assert_problem(setting.pay_by_qr(citizen, far_qr), 422, "MERCHANT_NOT_ELIGIBLE")
    own_wallet = setting.pay_by_qr(citizen, far_qr, wallet_id=citizen.wallet_id)
    assert_problem(own_wallet, 422, "MERCHANT_NOT_ELIGIBLE")
    someone_else = setting.new_citizen()
    not_mine = setting.pay_by_qr(citizen, payload, wallet_id=someone_else.wallet_id)
    assert_problem(not_mine, 404, "WALLET_NOT_FOUND")
    no_key = setting.client.post(
        "/api/v1/payments/qr",
        json={"payload": payload, "amount_won": 5_000, "pin": PIN},
        headers=citizen.auth,
    )
    assert_problem(no_key, 400, "IDEMPOTENCY_KEY_REQUIRED")
    as_merchant = setting.client.post(
        "/api/v1/payments/qr",
        json={"payload": payload, "amount_won": 5_000, "pin": PIN},
        headers={**setting.merchant_auth, "Idempotency-Key": unique_key()},
    )
    assert_problem(as_merchant, 403, "FORBIDDEN")
    assert_problem(setting.pay_by_qr(citizen, payload, amount_won=0), 422, "INVALID_REQUEST")
    too_much = setting.pay_by_qr(citizen, payload, amount_won=900_000)
    assert too_much.status_code == 422, too_much.text
    assert setting.payment_count() == 0


def test_five_wrong_pins_lock_payments_until_the_pin_is_reset(setting: Setting) -> None:
    citizen, payload = setting.citizen, setting.qr_of()
    for attempts_left in (4, 3, 2, 1):
        wrong = setting.pay_by_qr(citizen, payload, pin=WRONG_PIN)
        assert assert_problem(wrong, 403, "PIN_INCORRECT")["attempts_left"] == attempts_left
    assert_problem(setting.pay_by_qr(citizen, payload, pin=WRONG_PIN), 423, "PIN_LOCKED")
    assert_problem(setting.pay_by_qr(citizen, payload), 423, "PIN_LOCKED")
    assert_problem(setting.issue_code(citizen), 423, "PIN_LOCKED")
    reset = setting.client.put(
        "/api/v1/me/pin", json={"password": PASSWORD, "pin": "135792"}, headers=citizen.auth
    )
    assert reset.status_code == 204, reset.text
    assert setting.pay_by_qr(citizen, payload, pin="135792").status_code == 201
    assert setting.payment_count() == 1


# -- one-time payment codes -----------------------------------------------------------------


def test_a_merchant_charges_a_citizens_payment_code_once(setting: Setting) -> None:
    issued = setting.issue_code(setting.citizen)
    assert issued.status_code == 201, issued.text
    code = issued.json()["code"]
    assert len(code) == 18
    assert code.startswith("92")
    assert issued.json()["svg"].startswith("<svg")
    assert issued.json()["wallet_id"] == setting.citizen.wallet_id
    expires_at = datetime.fromisoformat(issued.json()["expires_at"])
    assert expires_at == setting.clock.now + timedelta(seconds=180)
    paid = setting.pay_by_code(code)
    assert paid.status_code == 201, paid.text
    assert paid.json()["wallet_id"] == setting.citizen.wallet_id
    assert paid.json()["merchant_id"] == setting.merchant_id
    assert_problem(setting.pay_by_code(code), 409, "PAYMENT_CODE_USED")
    assert setting.payment_count() == 1


def test_a_payment_code_refuses_every_bad_input(setting: Setting) -> None:
    assert_problem(setting.issue_code(setting.citizen, pin=WRONG_PIN), 403, "PIN_INCORRECT")
    assert_problem(setting.pay_by_code("92" + "0" * 16), 404, "PAYMENT_CODE_NOT_FOUND")
    assert_problem(setting.pay_by_code("1234"), 400, "INVALID_INPUT")
    code = setting.issue_code(setting.citizen).json()["code"]
    as_citizen = setting.client.post(
        "/api/v1/payments/code",
        json={"code": code, "amount_won": 1_000},
        headers={**setting.citizen.auth, "Idempotency-Key": unique_key()},
    )
    assert_problem(as_citizen, 403, "FORBIDDEN")
    issued_as_merchant = setting.client.post(
        "/api/v1/payment_codes", json={"pin": PIN}, headers=setting.merchant_auth
    )
    assert_problem(issued_as_merchant, 403, "FORBIDDEN")
    far = setting.new_merchant_user(World(setting.app.uow, NOW).merchant())
    far_charge = setting.client.post(
        "/api/v1/payments/code",
        json={"code": code, "amount_won": 1_000},
        headers={**far, "Idempotency-Key": unique_key()},
    )
    assert_problem(far_charge, 422, "MERCHANT_NOT_ELIGIBLE")
    setting.clock.move(seconds=180)
    assert_problem(setting.pay_by_code(code), 422, "PAYMENT_CODE_EXPIRED")
    assert setting.payment_count() == 0


def test_two_counters_racing_on_one_code_make_exactly_one_payment(setting: Setting) -> None:
    code = setting.issue_code(setting.citizen).json()["code"]
    merchant_ids = [setting.merchant_id, setting.merchant_id]
    barrier = threading.Barrier(len(merchant_ids))
    outcomes: list[str] = []

    def charge(merchant_id: int) -> None:
        barrier.wait()
        try:
            counter_payments.pay_by_code(
                setting.app.unit_of_work(),
                setting.app.secrets,
                merchant_id=merchant_id,
                code=code,
                amount_won=2_000,
                idempotency_key=unique_key("race"),
                now=setting.clock.now,
            )
            outcomes.append("paid")
        except DongneError as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=charge, args=(m,)) for m in merchant_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["PAYMENT_CODE_USED", "paid"]
    assert setting.payment_count() == 1


# -- remote payment requests ----------------------------------------------------------------


def test_a_retried_payment_request_is_one_request_and_is_paid_once(setting: Setting) -> None:
    key = unique_key("request")
    first = setting.request_payment(setting.citizen, key)
    assert first.status_code == 201, first.text
    retried = setting.request_payment(setting.citizen, key)
    assert (retried.status_code, retried.json()) == (201, first.json())
    listed = setting.client.get("/api/v1/payment_requests", headers=setting.citizen.auth)
    assert [request["id"] for request in listed.json()["data"]] == [first.json()["id"]]
    for request_id in {first.json()["id"], retried.json()["id"]}:
        assert setting.approve(setting.citizen, request_id).status_code == 201
    assert setting.payment_count() == 1
    other = setting.request_payment(setting.citizen, key, amount_won=8_000)
    assert_problem(other, 409, "IDEMPOTENCY_KEY_REUSED")
    keyless = setting.client.post(
        "/api/v1/payment_requests",
        json={"phone": setting.citizen.phone, "amount_won": 7_000},
        headers=setting.merchant_auth,
    )
    assert_problem(keyless, 400, "IDEMPOTENCY_KEY_REQUIRED")


def test_a_citizen_approves_a_merchants_payment_request(setting: Setting) -> None:
    created = setting.request_payment(setting.citizen)
    assert created.status_code == 201, created.text
    request = created.json()
    assert request["status"] == "pending"
    assert request["wallet_id"] == setting.citizen.wallet_id
    assert request["memo"] == "택배비"
    path = f"/api/v1/payment_requests/{request['id']}"
    assert setting.client.get(path, headers=setting.citizen.auth).json() == request
    assert setting.client.get(path, headers=setting.merchant_auth).json() == request
    approved = setting.approve(setting.citizen, request["id"])
    assert approved.status_code == 201, approved.text
    assert approved.json()["amount_won"] == 7_000
    seen = setting.client.get(path, headers=setting.citizen.auth).json()
    assert seen["status"] == "paid"
    assert seen["payment_id"] == approved.json()["payment_id"]
    assert_problem(setting.approve(setting.citizen, request["id"]), 409, "PAYMENT_REQUEST_CLOSED")
    declined = setting.client.post(f"{path}/decline", headers=setting.citizen.auth)
    assert_problem(declined, 409, "PAYMENT_REQUEST_CLOSED")
    assert setting.payment_count() == 1


def test_a_citizen_declines_a_request_and_others_cannot_see_it(setting: Setting) -> None:
    request_id = setting.request_payment(setting.citizen).json()["id"]
    path = f"/api/v1/payment_requests/{request_id}"
    stranger = setting.new_citizen()
    other_shop = setting.new_merchant_user(setting.world.merchant())
    for auth in (stranger.auth, other_shop):
        assert_problem(setting.client.get(path, headers=auth), 404, "PAYMENT_REQUEST_NOT_FOUND")
    assert_problem(setting.approve(stranger, request_id), 404, "PAYMENT_REQUEST_NOT_FOUND")
    stranger_decline = setting.client.post(f"{path}/decline", headers=stranger.auth)
    assert_problem(stranger_decline, 404, "PAYMENT_REQUEST_NOT_FOUND")
    merchant_decline = setting.client.post(f"{path}/decline", headers=setting.merchant_auth)
    assert_problem(merchant_decline, 403, "FORBIDDEN")
    declined = setting.client.post(f"{path}/decline", headers=setting.citizen.auth)
    assert declined.status_code == 200, declined.text
    assert declined.json()["status"] == "declined"
    assert_problem(setting.approve(setting.citizen, request_id), 409, "PAYMENT_REQUEST_CLOSED")
    assert setting.payment_count() == 0


def test_an_expired_request_cannot_be_approved(setting: Setting) -> None:
    request_id = setting.request_payment(setting.citizen, expires_in_seconds=60).json()["id"]
    setting.clock.move(seconds=60)
    assert_problem(setting.approve(setting.citizen, request_id), 422, "PAYMENT_REQUEST_EXPIRED")
    path = f"/api/v1/payment_requests/{request_id}"
    assert setting.client.get(path, headers=setting.citizen.auth).json()["status"] == "expired"
    declined = setting.client.post(f"{path}/decline", headers=setting.citizen.auth)
    assert_problem(declined, 422, "PAYMENT_REQUEST_EXPIRED")
    assert setting.payment_count() == 0


def test_a_payment_request_refuses_every_bad_input(setting: Setting) -> None:
    unknown = setting.request_payment(Citizen("010-9999-0000", 0, ""))
    assert_problem(unknown, 404, "WALLET_NOT_FOUND")
    elsewhere = setting.new_citizen(World(setting.app.uow, NOW))
    assert_problem(setting.request_payment(elsewhere), 404, "WALLET_NOT_FOUND")
    assert_problem(setting.request_payment(setting.citizen, phone="12345"), 400, "INVALID_INPUT")
    too_short = setting.request_payment(setting.citizen, expires_in_seconds=59)
    assert_problem(too_short, 422, "INVALID_REQUEST")
    too_long = setting.request_payment(setting.citizen, expires_in_seconds=86_401)
    assert_problem(too_long, 422, "INVALID_REQUEST")
    assert_problem(setting.request_payment(setting.citizen, amount_won=-1), 422, "INVALID_REQUEST")
    as_citizen = setting.client.post(
        "/api/v1/payment_requests",
        json={"phone": setting.citizen.phone, "amount_won": 1_000},
        headers={**setting.citizen.auth, "Idempotency-Key": unique_key()},
    )
    assert_problem(as_citizen, 403, "FORBIDDEN")
    assert_problem(setting.approve(setting.citizen, 999_999), 404, "PAYMENT_REQUEST_NOT_FOUND")
    wrong_pin = setting.approve(
        setting.citizen, setting.request_payment(setting.citizen).json()["id"], pin=WRONG_PIN
    )
    assert_problem(wrong_pin, 403, "PIN_INCORRECT")


def test_payment_requests_are_listed_newest_first_a_page_at_a_time(setting: Setting) -> None:
    ids = [setting.request_payment(setting.citizen).json()["id"] for _ in range(3)]
    setting.request_payment(setting.new_citizen())  # someone else's: never in the list below
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = setting.client.get(
            "/api/v1/payment_requests", params=params, headers=setting.citizen.auth
        )
        assert page.status_code == 200, page.text
        seen += [item["id"] for item in page.json()["data"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)
    merchant_view = setting.client.get(
        "/api/v1/payment_requests", params={"limit": 100}, headers=setting.merchant_auth
    )
    assert len(merchant_view.json()["data"]) == 4
    bad_cursor = setting.client.get(
        "/api/v1/payment_requests", params={"cursor": "!!!"}, headers=setting.citizen.auth
    )
    assert bad_cursor.status_code == 400
    bad_limit = setting.client.get(
        "/api/v1/payment_requests", params={"limit": 101}, headers=setting.citizen.auth
    )
    assert_problem(bad_limit, 422, "INVALID_REQUEST")


def test_a_payment_names_the_staff_member_who_made_it_at_the_counter(setting: Setting) -> None:
    login = unique_key("staff")
    staff = accounts.create_staff_user(
        setting.app.uow,
        setting.app.secrets,
        kind=UserKind.MERCHANT,
        login=login,
        password=PASSWORD,
        role="staff",
        region_id=None,
        merchant_id=setting.merchant_id,
        now=NOW,
    )
    code = setting.issue_code(setting.citizen).json()["code"]
    paid = setting.client.post(
        "/api/v1/payments/code",
        json={"code": code, "amount_won": 2_000},
        headers={"Authorization": f"Bearer {setting.log_in(login)}", "Idempotency-Key": "k-1"},
    )
    assert paid.status_code == 201, paid.text
    assert paid.json()["made_by_user_id"] == staff.id
    scanned = setting.pay_by_qr(setting.citizen, setting.qr_of())
    assert scanned.json()["made_by_user_id"] is None  # the citizen paid with nobody at the till
