"""A QR payment reads its parties (the token's user, the merchant, the wallet) in one join
(``adapters/db/payment_parties.py``) and falls back to reading them one by one when any is
missing: each refusal is still the one the step-by-step reads give, in their order, and
changes nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from dongne.domain.access import Unauthenticated
from dongne.domain.emvco import build_payload
from dongne.domain.errors import (
    DongneError,
    InvalidInput,
    MerchantNotEligible,
    MerchantNotFound,
    QrInvalid,
    WalletNotFound,
)
from dongne.services import counter_payments
from dongne.services.counter_payments import QrPayment
from dongne.services.results import PaymentResult
from tests.conftest import NOW
from tests.factories import World
from tests.integration.test_payment_batches import ATTEMPTS_MAX, Counter, _open_counter


@pytest.fixture
def counter(database_url: str) -> Iterator[Counter]:
    opened = _open_counter(database_url, citizens=2, merchants=1)
    yield opened
    opened.app.engine.dispose()


def _pay(counter: Counter, payment: QrPayment) -> PaymentResult:
    return counter_payments.pay_by_qr(
        counter.app.unit_of_work(), counter.app.secrets, payment, attempts_max=ATTEMPTS_MAX
    )


def _payload_of_unknown_merchant(counter: Counter) -> str:
    with counter.app.uow:
        qr = counter_payments.merchant_qr_within(counter.app.uow, counter.merchants[0])
    return build_payload(replace(qr, merchant_id=qr.merchant_id + 10**6))


def _payload_in_another_region(counter: Counter) -> str:
    elsewhere = World(counter.app.uow, NOW).merchant()
    with counter.app.uow:
        return build_payload(counter_payments.merchant_qr_within(counter.app.uow, elsewhere))


Change = Callable[[Counter], dict[str, object]]
REFUSALS: list[tuple[str, Change, type[DongneError]]] = [
    ("unknown token", lambda c: {"token": "not-a-token"}, Unauthenticated),
    (
        "unknown token before a bad QR",
        lambda c: {"token": "not-a-token", "payload": "garbage"},
        Unauthenticated,
    ),
    ("a bad QR", lambda c: {"payload": "garbage"}, QrInvalid),
    (
        "a bad amount before an unknown merchant",
        lambda c: {"amount_won": 0, "payload": _payload_of_unknown_merchant(c)},
        InvalidInput,
    ),
    (
        "an unknown merchant",
        lambda c: {"payload": _payload_of_unknown_merchant(c)},
        MerchantNotFound,
    ),
    (
        "no wallet in the merchant's region",
        lambda c: {"payload": _payload_in_another_region(c)},
        MerchantNotEligible,
    ),
    ("another citizen's wallet", lambda c: {"wallet_id": c.wallets[1]}, WalletNotFound),
]


@pytest.mark.parametrize(
    ("change", "refusal"),
    [(change, refusal) for _, change, refusal in REFUSALS],
    ids=[name for name, _, _ in REFUSALS],
)
def test_a_missing_party_is_refused_as_before_and_changes_nothing(
    counter: Counter, change: Change, refusal: type[DongneError]
) -> None:
    before = (counter.payment_count(), counter.balance(counter.wallets[0]))
    payment = counter.payment(0, **change(counter))
    with pytest.raises(refusal):
        _pay(counter, payment)
    assert (counter.payment_count(), counter.balance(counter.wallets[0])) == before


@pytest.mark.parametrize("named", [False, True], ids=["wallet in the region", "wallet by id"])
def test_the_parties_found_at_once_pay_from_the_callers_wallet(
    counter: Counter, named: bool
) -> None:
    wallet_id = counter.wallets[0]
    before = counter.balance(wallet_id), counter.payable(0)
    paid = _pay(counter, counter.payment(0, wallet_id=wallet_id if named else None))
    assert paid.amount_won == 1_000
    assert counter.balance(wallet_id) == before[0] - 1_000
    assert counter.payable(0) == before[1] + 1_000
    assert counter.balance(counter.wallets[1]) == 100_000
