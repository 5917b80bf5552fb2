"""Dynamic QR codes on both engines: one sale's amount, paid once, through the payment rules.

The race at the end runs real parallel clients on PostgreSQL (SQLite serializes writers at
BEGIN IMMEDIATE, so the race only exists there), as ``test_concurrency`` does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from dongne.adapters.db.tables import payments
from dongne.adapters.secrets import Secrets
from dongne.config import Settings
from dongne.domain.access import Principal, UserKind
from dongne.domain.emvco import build_payload, parse_data_objects, parse_payload
from dongne.domain.errors import (
    DynamicQrExpired,
    DynamicQrNotFound,
    DynamicQrPaid,
    IdempotencyKeyReused,
    InvalidInput,
    PaymentLimitExceeded,
    QrInvalid,
)
from dongne.services import accounts, authentication, counter_payments, purchases, registry
from dongne.services.dynamic_qr import (
    DynamicQrView,
    create_dynamic_qr,
    dynamic_qr,
    pay_dynamic_qr,
)
from dongne.services.results import PaymentResult
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, business_number, unique_key
from tests.helpers import assert_ledger_sound, balance_won, payable_won, world_with
from tests.integration.test_concurrency import race, unexpected

SECRETS = Secrets.from_settings(Settings())
PASSWORD = "a long enough password"  # noqa: S105 - a test password
PIN = "482916"
LIFETIME = timedelta(minutes=5)


@dataclass(frozen=True)
class Payer:
    wallet_id: int
    token: str


def new_payer(uow: UnitOfWork, world: World) -> Payer:
    phone = f"010{uuid.uuid4().int % 10**8:08d}"
    signed_up = accounts.sign_up_citizen(
        uow,
        SECRETS,
        phone=phone,
        password=PASSWORD,
        name="시민",
        region_id=world.region_id,
        identity_number=None,
        idempotency_key=unique_key("sign-up"),
        now=NOW,
    )
    accounts.set_pin(uow, SECRETS, user_id=signed_up.user_id, password=PASSWORD, pin=PIN)
    purchases.purchase_vouchers(
        uow,
        wallet_id=signed_up.wallet_id,
        face_won=100_000,
        idempotency_key=unique_key("buy"),
        now=NOW,
    )
    token = authentication.log_in(
        uow,
        SECRETS,
        login=phone,
        password=PASSWORD,
        totp_code=None,
        lifetime=timedelta(days=1),
        now=NOW,
    ).token
    return Payer(signed_up.wallet_id, token)


def cashier(merchant_id: int) -> Principal:
    return Principal(
        kind=UserKind.MERCHANT, user_id=merchant_id, merchant_id=merchant_id, role="staff"
    )


def pay(
    uow: UnitOfWork,
    payer: Payer,
    payload: str,
    *,
    key: str | None = None,
    after: timedelta = timedelta(),
) -> PaymentResult:
    return pay_dynamic_qr(
        uow,
        SECRETS,
        token=payer.token,
        payload=payload,
        pin=PIN,
        wallet_id=None,
        attempts_max=5,
        idempotency_key=key or unique_key("pay"),
        now=NOW + after,
    )


def payment_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(payments)).scalar_one())


@pytest.fixture
def shop(world: World) -> int:
    world.fund(10_000_000)
    return world.merchant()


def sell(uow: UnitOfWork, shop: int, amount_won: int) -> DynamicQrView:
    """The shop's cashier shows a new dynamic QR for one sale of ``amount_won``, at ``NOW``."""
    return create_dynamic_qr(
        uow,
        caller=cashier(shop),
        amount_won=amount_won,
        lifetime=LIFETIME,
        idempotency_key=unique_key(),
        now=NOW,
    )


def test_a_citizen_pays_the_sales_amount_once_through_the_payment_rules(
    uow: UnitOfWork, engine: Engine, world: World, shop: int
) -> None:
    payer = new_payer(uow, world)
    sale = create_dynamic_qr(
        uow,
        caller=cashier(shop),
        amount_won=12_000,
        lifetime=LIFETIME,
        idempotency_key="sale-1",
        now=NOW,
    )
    assert (sale.status, sale.amount_won, sale.expires_at) == ("pending", 12_000, NOW + LIFETIME)
    scanned = parse_payload(sale.payload)
    assert (scanned.merchant_id, scanned.amount_won) == (shop, 12_000)
    before = balance_won(uow, payer.wallet_id)
    paid = pay(uow, payer, sale.payload, key="pay-1")
    assert (paid.amount_won, paid.merchant_id, paid.wallet_id) == (12_000, shop, payer.wallet_id)
    assert balance_won(uow, payer.wallet_id) == before - 12_000
    assert payable_won(engine, shop) == 12_000
    assert pay(uow, payer, sale.payload, key="pay-1") == paid  # a retry answers the same
    with pytest.raises(DynamicQrPaid):
        pay(uow, new_payer(uow, world), sale.payload)
    after = dynamic_qr(uow, caller=cashier(shop), dynamic_qr_id=sale.id, now=NOW)
    assert (after.status, after.payment_id) == ("paid", paid.payment_id)
    assert payment_count(engine) == 1
    assert_ledger_sound(uow)


def test_creating_is_idempotent_and_a_reused_key_with_another_amount_is_refused(
    uow: UnitOfWork, world: World, shop: int
) -> None:
    create = lambda amount: create_dynamic_qr(  # noqa: E731
        uow,
        caller=cashier(shop),
        amount_won=amount,
        lifetime=LIFETIME,
        idempotency_key="same",
        now=NOW,
    )
    first = create(5_000)
    assert create(5_000) == first
    with pytest.raises(IdempotencyKeyReused):
        create(6_000)


@pytest.mark.parametrize(("amount", "error"), [(0, InvalidInput), (-1, InvalidInput)])
def test_an_amount_that_is_not_positive_is_refused(
    uow: UnitOfWork, world: World, shop: int, amount: int, error: type[Exception]
) -> None:
    with pytest.raises(error):
        create_dynamic_qr(
            uow,
            caller=cashier(shop),
            amount_won=amount,
            lifetime=LIFETIME,
            idempotency_key=unique_key(),
            now=NOW,
        )


def test_an_amount_over_the_single_payment_limit_is_refused_when_the_code_is_made(
    uow: UnitOfWork,
) -> None:
    shop = world_with(uow, max_single_payment_won=50_000).merchant()
    sell(uow, shop, 50_000)
    with pytest.raises(PaymentLimitExceeded):
        sell(uow, shop, 50_001)


def test_an_expired_code_is_refused_and_nothing_moves(
    uow: UnitOfWork, engine: Engine, world: World, shop: int
) -> None:
    payer = new_payer(uow, world)
    sale = sell(uow, shop, 3_000)
    with pytest.raises(DynamicQrExpired):
        pay(uow, payer, sale.payload, after=LIFETIME)
    assert payment_count(engine) == 0
    assert (
        dynamic_qr(uow, caller=cashier(shop), dynamic_qr_id=sale.id, now=NOW + LIFETIME).status
        == "expired"
    )


def test_another_merchants_code_is_not_found_and_an_altered_one_is_refused(
    uow: UnitOfWork, engine: Engine, world: World, shop: int
) -> None:
    payer = new_payer(uow, world)
    sale = sell(uow, shop, 9_000)
    with pytest.raises(DynamicQrNotFound):
        dynamic_qr(uow, caller=cashier(world.merchant()), dynamic_qr_id=sale.id, now=NOW)
    scanned = parse_payload(sale.payload)
    cheaper = build_payload(scanned.for_sale(amount_won=1, reference=scanned.reference or ""))
    with pytest.raises(QrInvalid):
        pay(uow, payer, cheaper)
    guessed = build_payload(scanned.for_sale(amount_won=9_000, reference="A" * 20))
    with pytest.raises(DynamicQrNotFound):
        pay(uow, payer, guessed)
    static = counter_payments.merchant_qr_payload(uow, caller=cashier(shop), merchant_id=shop)
    with pytest.raises(QrInvalid):
        pay(uow, payer, static)
    with pytest.raises(QrInvalid):
        counter_payments.pay_by_qr(
            uow,
            SECRETS,
            counter_payments.QrPayment(
                token=payer.token,
                payload=sale.payload,
                amount_won=1,
                pin=PIN,
                wallet_id=None,
                idempotency_key=unique_key(),
                now=NOW,
            ),
            attempts_max=5,
        )
    assert payment_count(engine) == 0


def test_the_codes_name_the_merchant_by_its_latin_name_or_its_name_romanized(
    uow: UnitOfWork, world: World
) -> None:
    named = registry.register_merchant(
        uow,
        region_id=world.region_id,
        name="시루 베이커리",
        name_latin="Siru Bakery",
        business_number=business_number(701),
        category="bakery",
        annual_revenue_won=0,
        now=NOW,
    )
    unnamed = registry.register_merchant(
        uow,
        region_id=world.region_id,
        name="가나시 가게0",
        business_number=business_number(702),
        category="bakery",
        annual_revenue_won=0,
        now=NOW,
    )
    for merchant_id, latin in ((named, "Siru Bakery"), (unnamed, "Ganasi Gage0")):
        static = counter_payments.merchant_qr_payload(
            uow, caller=cashier(merchant_id), merchant_id=merchant_id
        )
        sale = create_dynamic_qr(
            uow,
            caller=cashier(merchant_id),
            amount_won=1_000,
            lifetime=LIFETIME,
            idempotency_key=unique_key(),
            now=NOW,
        )
        for payload in (static, sale.payload):
            objects = dict(parse_data_objects(payload))
            assert objects["59"] == latin
            assert dict(parse_data_objects(objects["64"]))["01"] in {
                "시루 베이커리",
                "가나시 가게0",
            }


def test_a_latin_name_outside_the_qr_character_set_or_too_long_is_refused(
    uow: UnitOfWork, world: World
) -> None:
    for name_latin in ("시루", "S" * 26):
        with pytest.raises(InvalidInput) as refused:
            registry.register_merchant(
                uow,
                region_id=world.region_id,
                name="시루",
                name_latin=name_latin,
                business_number=business_number(703),
                category="bakery",
                annual_revenue_won=0,
                now=NOW,
            )
        assert refused.value.details["field"] == "name_latin"


# -- two citizens racing on one code, on PostgreSQL ------------------------------------------


@pytest.mark.postgres
def test_citizens_racing_on_one_code_make_exactly_one_payment(pg_engine: Engine) -> None:
    uow = UnitOfWork(pg_engine)
    world = World(uow, NOW)
    world.fund(10_000_000)
    shop = world.merchant()
    payers = [new_payer(uow, world) for _ in range(6)]
    sale = sell(uow, shop, 4_000)
    outcomes = race(
        pg_engine,
        len(payers),
        len(payers),
        lambda client, job: pay(client, payers[job], sale.payload),
    )
    assert unexpected(outcomes, DynamicQrPaid) == []
    assert sum(outcome.error is None for outcome in outcomes) == 1
    assert payment_count(pg_engine) == 1
    assert payable_won(pg_engine, shop) == 4_000
    assert_ledger_sound(uow)
