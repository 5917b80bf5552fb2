"""Fraud detection (FDS): rules over the payment stream that flag cash-out patterns (상품권 깡).

Each rule is a function over plain data with its thresholds from ``FraudSettings``; it returns
a ``Hit`` or None. A hit names its subject (a merchant, or a citizen and a merchant) and its
window; the alert store keeps one alert per rule, subject and window, so a rule that keeps
firing does not flood the officials' queue. docs/fraud-rules.md explains each rule.

- ``repeated_payments``: one citizen pays one merchant ``repeat_count`` times or more within
  ``repeat_window_minutes`` (window: the Seoul day of the payment).
- ``round_after_purchase``: a payment of at least ``round_amount_min_won`` that is a multiple
  of ``round_amount_unit_won``, made at most ``round_after_purchase_minutes`` after the same
  citizen bought vouchers (window: the Seoul day).
- ``takings_spike``: a merchant's voucher takings on a Seoul day exceed
  ``spike_ratio_percent`` % of its average day over the ``spike_baseline_days`` before, and at
  least ``spike_min_takings_won`` (window: that day).
- ``shared_phone``: the paying citizen's phone is the merchant's phone (window: forever, one
  alert per pair). Citizens' bank accounts are not stored (their linked accounts live at the
  bank), so bank-account matching is not possible; holder names are not matched either, since
  Korean full names are far from unique.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from dongne.domain.calendar import seoul_day
from dongne.domain.errors import Conflict, NotFound


class FraudAlertNotFound(NotFound):
    """No fraud alert with that id (or not one the caller may see)."""

    code = "FRAUD_ALERT_NOT_FOUND"


class FraudAlertResolved(Conflict):
    """The alert was already cleared or acted on; it cannot be resolved again."""

    code = "FRAUD_ALERT_RESOLVED"


class FraudRule(StrEnum):
    REPEATED_PAYMENTS = "repeated_payments"
    ROUND_AFTER_PURCHASE = "round_after_purchase"
    TAKINGS_SPIKE = "takings_spike"
    SHARED_PHONE = "shared_phone"


class AlertStatus(StrEnum):
    OPEN = "open"
    CLEARED = "cleared"
    """An official found nothing wrong."""
    MERCHANT_SUSPENDED = "merchant_suspended"
    """An official suspended the merchant; its settlement stays held until cleared by hand."""


FOREVER = "-"
"""The window of a rule whose alert is raised once per subject."""


@dataclass(frozen=True)
class FraudSettings:
    repeat_count: int = 3
    repeat_window_minutes: int = 60
    round_amount_unit_won: int = 10_000
    round_amount_min_won: int = 100_000
    round_after_purchase_minutes: int = 30
    spike_ratio_percent: int = 500
    spike_baseline_days: int = 28
    spike_min_takings_won: int = 1_000_000
    alert_holds_settlement: bool = False


@dataclass(frozen=True)
class PaymentFact:
    """A payment as the rules see it."""

    payment_id: int
    citizen_id: int
    merchant_id: int
    amount_won: int
    paid_at: datetime


@dataclass(frozen=True)
class Hit:
    rule: FraudRule
    merchant_id: int
    citizen_id: int | None
    period: str
    """The alert's window: a Seoul day (ISO), or ``FOREVER``."""
    details: dict[str, int | str] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        return alert_subject(self.merchant_id, self.citizen_id)

    def key(self, region_id: int) -> AlertKey:
        return alert_key(region_id, self.rule, self.merchant_id, self.citizen_id, self.period)


AlertKey = tuple[int, str, str, str]
"""An alert's region, rule, subject and window: what makes it one (the alert store keeps one
alert a key)."""


def alert_subject(merchant_id: int, citizen_id: int | None) -> str:
    citizen = "" if citizen_id is None else f"/citizen:{citizen_id}"
    return f"merchant:{merchant_id}{citizen}"


def alert_key(
    region_id: int, rule: FraudRule, merchant_id: int, citizen_id: int | None, period: str
) -> AlertKey:
    """The key of the alert ``rule`` raises (or would raise) in ``period``: a Seoul day
    (ISO), or ``FOREVER``."""
    return (region_id, rule.value, alert_subject(merchant_id, citizen_id), period)


def repeated_payments(
    payment: PaymentFact, earlier_to_same_merchant: Sequence[datetime], settings: FraudSettings
) -> Hit | None:
    """``earlier_to_same_merchant``: when the same citizen paid the same merchant before."""
    since = payment.paid_at - timedelta(minutes=settings.repeat_window_minutes)
    count = 1 + sum(since <= at <= payment.paid_at for at in earlier_to_same_merchant)
    if count < settings.repeat_count:
        return None
    return Hit(
        FraudRule.REPEATED_PAYMENTS,
        payment.merchant_id,
        payment.citizen_id,
        seoul_day(payment.paid_at).isoformat(),
        {"payments": count, "window_minutes": settings.repeat_window_minutes},
    )


def is_round(amount_won: int, settings: FraudSettings) -> bool:
    return amount_won >= settings.round_amount_min_won and (
        amount_won % settings.round_amount_unit_won == 0
    )


def round_after_purchase(
    payment: PaymentFact, last_purchase_at: datetime | None, settings: FraudSettings
) -> Hit | None:
    """``last_purchase_at``: the citizen's latest purchase at or before the payment."""
    if last_purchase_at is None or not is_round(payment.amount_won, settings):
        return None
    after = payment.paid_at - last_purchase_at
    if not timedelta(0) <= after <= timedelta(minutes=settings.round_after_purchase_minutes):
        return None
    return Hit(
        FraudRule.ROUND_AFTER_PURCHASE,
        payment.merchant_id,
        payment.citizen_id,
        seoul_day(payment.paid_at).isoformat(),
        {
            "payment_id": payment.payment_id,
            "amount_won": payment.amount_won,
            "minutes_after_purchase": int(after.total_seconds() // 60),
        },
    )


def takings_spike(
    merchant_id: int,
    day: date,
    day_takings_won: int,
    baseline_takings_won: int,
    settings: FraudSettings,
) -> Hit | None:
    """``baseline_takings_won``: the merchant's takings over the ``spike_baseline_days`` Seoul
    days before ``day``. Integers only: takings × days × 100 > ratio% × baseline."""
    if day_takings_won < settings.spike_min_takings_won:
        return None
    days = settings.spike_baseline_days
    if day_takings_won * days * 100 <= settings.spike_ratio_percent * baseline_takings_won:
        return None
    return Hit(
        FraudRule.TAKINGS_SPIKE,
        merchant_id,
        None,
        day.isoformat(),
        {
            "day_takings_won": day_takings_won,
            "usual_day_won": baseline_takings_won // days,
            "baseline_days": days,
        },
    )


def normalize_phone(phone: str | None) -> str:
    return "".join(ch for ch in phone or "" if ch.isdigit())


def shared_phone(
    payment: PaymentFact, citizen_phone: str | None, merchant_phone: str | None
) -> Hit | None:
    payer, merchant = normalize_phone(citizen_phone), normalize_phone(merchant_phone)
    if not payer or payer != merchant:
        return None
    return Hit(
        FraudRule.SHARED_PHONE,
        payment.merchant_id,
        payment.citizen_id,
        FOREVER,
        {"payment_id": payment.payment_id},
    )


def baseline_days(day: date, settings: FraudSettings) -> tuple[date, date]:
    """The first and last Seoul day of the spike rule's baseline before ``day``."""
    return day - timedelta(days=settings.spike_baseline_days), day - timedelta(days=1)
