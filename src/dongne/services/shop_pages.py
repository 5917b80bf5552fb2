"""Read models and actions of the merchant's counter pages, scoped to the caller's shop.

A merchant's staff member sees only their own shop: another shop's payment, or a statement
of a day their shop was not settled, is one that does not exist (as in ``resources``). The
cancellation is ``payments.cancel_payment``, once the payment is known to be the shop's;
its idempotency key is scoped to the shop, so two shops' keys never meet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from dongne.adapters.db.holding_rows import PaymentRecord
from dongne.adapters.db.listing_records import ShopPaymentRow
from dongne.adapters.db.settlement_records import CounterLine
from dongne.adapters.settlement_files import Statement
from dongne.domain.access import Principal
from dongne.domain.calendar import SEOUL, require_aware, seoul_day
from dongne.domain.emvco import build_payload
from dongne.domain.errors import PaymentNotFound
from dongne.domain.settlement import SettlementNotFound
from dongne.services import payments, resources, settlement_reports
from dongne.services.counter_payments import merchant_qr_within
from dongne.services.idempotency import scoped_key
from dongne.services.results import PaymentCancellationResult
from dongne.services.unit_of_work import UnitOfWork

PAYMENTS_LISTED_MAX = 500
"""More than a busy counter takes in a day; the page lists the newest this many."""
STATEMENTS_LISTED = 31


@dataclass(frozen=True)
class ShopFront:
    """What the counter shows of its shop: its names, its region and its static QR's text."""

    merchant_id: int
    name: str
    name_latin: str | None
    region_name: str
    qr_payload: str


@dataclass(frozen=True)
class DayOfPayments:
    """A Seoul day's payments at the shop, newest first, and what they come to."""

    day: date
    lines: tuple[ShopPaymentRow, ...]

    @property
    def taken_won(self) -> int:
        return sum(line.remaining_won for line in self.lines)

    @property
    def count(self) -> int:
        return len(self.lines)


def shop_front(uow: UnitOfWork, caller: Principal) -> ShopFront:
    merchant_id = caller.merchant()
    with uow:
        merchant = uow.records.merchant(merchant_id).merchant
        region = uow.records.region(merchant.region_id)
        payload = build_payload(merchant_qr_within(uow, merchant_id))
    return ShopFront(merchant_id, merchant.name, merchant.name_latin, region.name, payload)


def seoul_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The instants a Seoul calendar day begins and ends (Seoul has no daylight saving)."""
    start = datetime.combine(day, time(0), tzinfo=SEOUL)
    return require_aware(start), require_aware(start + timedelta(days=1))


def payments_of_day(uow: UnitOfWork, caller: Principal, *, now: datetime) -> DayOfPayments:
    """The payments the caller's shop took today, as Seoul counts days."""
    merchant_id = caller.merchant()
    day = seoul_day(now)
    since, until = seoul_day_bounds(day)
    with uow:
        lines = uow.listings.payments_of_merchant(
            merchant_id, since=since, until=until, fetch=PAYMENTS_LISTED_MAX
        )
    return DayOfPayments(day, tuple(lines))


def payment_at_shop(uow: UnitOfWork, caller: Principal, payment_id: int) -> PaymentRecord:
    """The payment if the caller's shop took it; any other is a payment that does not exist."""
    merchant_id = caller.merchant()
    payment = resources.payment_of_caller(uow, caller, payment_id)
    if payment.merchant_id != merchant_id:  # never: a merchant sees only its own; kept explicit
        raise PaymentNotFound(f"no payment {payment_id}", payment_id=payment_id)
    return payment


def cancel_payment_at_shop(
    uow: UnitOfWork,
    caller: Principal,
    *,
    payment_id: int,
    amount_won: int | None,
    idempotency_key: str,
    now: datetime,
) -> PaymentCancellationResult:
    """Cancel ``amount_won`` of one of the shop's payments (all that is left by default)."""
    payment = payment_at_shop(uow, caller, payment_id)
    return payments.cancel_payment(
        uow,
        payment_id=payment.id,
        amount_won=amount_won,
        idempotency_key=scoped_key("cancel-payment", payment.merchant_id, idempotency_key),
        now=now,
        made_by_user_id=caller.user_id,
    )


def statements_of_shop(uow: UnitOfWork, caller: Principal) -> list[Statement]:
    """The shop's latest settlement statements, newest first."""
    return settlement_reports.merchant_statements(
        uow, merchant_id=caller.merchant(), limit=STATEMENTS_LISTED
    )


@dataclass(frozen=True)
class StatementOfDay:
    """A business day's statement and the counter's payments and cancellations it sums."""

    statement: Statement
    lines: tuple[CounterLine, ...]


def statement_of_day(uow: UnitOfWork, caller: Principal, business_day: date) -> StatementOfDay:
    for statement in statements_of_shop(uow, caller):
        if statement.business_day == business_day:
            lines = settlement_reports.merchant_counter_lines(
                uow, merchant_id=caller.merchant(), business_day=business_day
            )
            return StatementOfDay(statement, tuple(lines))
    raise SettlementNotFound(f"no statement of {business_day}", business_day=str(business_day))
