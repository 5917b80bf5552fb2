"""Fraud detection (FDS): check payments against the rules, and the officials' actions.

``check_payment`` runs every rule of ``domain.fraud`` over one committed payment and opens an
alert per hit (one per rule, subject and window: a repeated hit opens nothing new). It is the
online check, for a caller that has just committed a payment; ``scan_payments`` is the batch:
it checks the region's payments after the last one it checked, in id order, leaving the last
``SCAN_LAG`` of payments for the next scan (a younger payment's transaction may not have
committed yet, and ids are handed out before commit).

An official (operator role) acts on an alert: ``hold_settlement`` holds the merchant's
settlement (``merchants.settlement_held``: the next settlement runs carry its due forward),
``clear_alert`` closes it as a false alarm and releases the hold once the merchant has no open
alert left, and ``suspend_merchant`` suspends the merchant (as ``setup.set_merchant_status``
does) and closes the alert; the hold stays until released by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from dongne.adapters.db.fraud_records import AlertRow
from dongne.config import Settings
from dongne.domain.approvals import ApprovalKind
from dongne.domain.calendar import require_aware, seoul_day
from dongne.domain.errors import DongneError, InvalidInput
from dongne.domain.fraud import (
    AlertStatus,
    FraudAlertResolved,
    FraudSettings,
    Hit,
    baseline_days,
    repeated_payments,
    round_after_purchase,
    shared_phone,
    takings_spike,
)
from dongne.domain.merchants import MerchantStatus
from dongne.domain.settlement import day_bounds
from dongne.services.approval_gate import refuse_without_second_approver
from dongne.services.ports import FraudStore
from dongne.services.unit_of_work import UnitOfWork

SCAN_LAG = timedelta(minutes=1)
MAX_NOTE_LENGTH = 500


@dataclass(frozen=True)
class ScanResult:
    region_id: int
    payments_checked: int
    alerts_opened: list[int]
    last_payment_id: int


def fraud_settings_from(settings: Settings) -> FraudSettings:
    return FraudSettings(
        repeat_count=settings.fraud_repeat_count,
        repeat_window_minutes=settings.fraud_repeat_window_minutes,
        round_amount_unit_won=settings.fraud_round_amount_unit_won,
        round_amount_min_won=settings.fraud_round_amount_min_won,
        round_after_purchase_minutes=settings.fraud_round_after_purchase_minutes,
        spike_ratio_percent=settings.fraud_spike_ratio_percent,
        spike_baseline_days=settings.fraud_spike_baseline_days,
        spike_min_takings_won=settings.fraud_spike_min_takings_won,
        alert_holds_settlement=settings.fraud_alert_holds_settlement,
    )


def check_payment(
    uow: UnitOfWork, payment_id: int, settings: FraudSettings, *, now: datetime | None = None
) -> list[int]:
    """Check one committed payment; return the ids of the alerts it opened."""
    with uow:
        opened = check_payment_within(uow.fraud, payment_id, settings, now)
        uow.commit()
        return opened


def check_payments(
    uow: UnitOfWork, payment_ids: Sequence[int], settings: FraudSettings
) -> list[list[int] | BaseException]:
    """Check committed payments in one transaction (the server's online check, batched); return
    the alerts each one opened, or the error that stopped its check (the others go ahead)."""
    outcomes: list[list[int] | BaseException] = []
    with uow:
        for payment_id in payment_ids:
            try:
                with uow.savepoint():
                    outcomes.append(check_payment_within(uow.fraud, payment_id, settings, None))
            except DongneError as error:
                outcomes.append(error)
        uow.commit()
    return outcomes


def check_payment_within(
    records: FraudStore, payment_id: int, settings: FraudSettings, now: datetime | None
) -> list[int]:
    checked = records.checked_payment(payment_id)
    payment = checked.fact
    at = require_aware(now) if now is not None else payment.paid_at
    day = seoul_day(payment.paid_at)
    since = payment.paid_at - timedelta(minutes=settings.repeat_window_minutes)
    first, last = baseline_days(day, settings)
    hits = [
        repeated_payments(
            payment,
            records.earlier_payment_times(
                checked.wallet_id, payment.merchant_id, since, payment_id
            ),
            settings,
        ),
        round_after_purchase(
            payment, records.last_purchase_at(checked.wallet_id, payment.paid_at), settings
        ),
        takings_spike(
            payment.merchant_id,
            day,
            records.takings_won(payment.merchant_id, *day_bounds(day)),
            records.takings_won(payment.merchant_id, day_bounds(first)[0], day_bounds(last)[1]),
            settings,
        ),
        shared_phone(payment, checked.citizen_phone, checked.merchant_phone),
    ]
    return _open_alerts(
        records,
        [h for h in hits if h],
        region_id=checked.region_id,
        payment_id=payment_id,
        at=at,
        settings=settings,
    )


def _open_alerts(
    records: FraudStore,
    hits: list[Hit],
    *,
    region_id: int,
    payment_id: int,
    at: datetime,
    settings: FraudSettings,
) -> list[int]:
    opened = []
    for hit in hits:
        alert_id = records.add_alert(hit, region_id=region_id, payment_id=payment_id, at=at)
        if alert_id is None:
            continue
        opened.append(alert_id)
        if settings.alert_holds_settlement:
            records.set_settlement_held(hit.merchant_id, True)
    return opened


def scan_payments(
    uow: UnitOfWork,
    *,
    region_id: int,
    settings: FraudSettings,
    now: datetime,
    limit: int = 10_000,
) -> ScanResult:
    """Check up to ``limit`` of the region's payments that no scan has checked yet."""
    now = require_aware(now)
    if not 1 <= limit <= 100_000:
        raise InvalidInput("a scan checks 1 to 100,000 payments", field="limit")
    with uow:
        uow.records.region(region_id)
        records = uow.fraud
        after = records.scan_cursor(region_id, now)
        ids = records.payment_ids_after(region_id, after, now - SCAN_LAG, limit)
        opened: list[int] = []
        for payment_id in ids:
            opened += check_payment_within(records, payment_id, settings, now)
        last = ids[-1] if ids else after
        records.move_scan_cursor(region_id, last, now)
        uow.commit()
        return ScanResult(region_id, len(ids), opened, last)


# -- reading ----------------------------------------------------------------------------------


def alert(uow: UnitOfWork, *, alert_id: int) -> AlertRow:
    with uow:
        return uow.fraud.alert(alert_id)


def list_alerts(
    uow: UnitOfWork,
    *,
    region_id: int,
    status: AlertStatus | None = AlertStatus.OPEN,
    after_id: int = 0,
    limit: int = 100,
) -> list[AlertRow]:
    with uow:
        uow.records.region(region_id)
        return uow.fraud.alerts(region_id, status, after_id, limit)


def alert_as_dict(row: AlertRow) -> dict[str, Any]:
    return asdict(row)


# -- what officials do ------------------------------------------------------------------------


def hold_settlement(uow: UnitOfWork, *, alert_id: int, now: datetime) -> AlertRow:
    """Hold the alerted merchant's settlement; the alert stays open."""
    require_aware(now)
    with uow:
        records = uow.fraud
        row = records.alert(alert_id, lock=True)
        if row.status != AlertStatus.OPEN:
            raise FraudAlertResolved(f"alert {alert_id} is {row.status}", alert_id=alert_id)
        records.set_settlement_held(row.merchant_id, True)
        uow.commit()
        return row


def clear_alert(
    uow: UnitOfWork, *, alert_id: int, user_id: int | None, note: str | None, now: datetime
) -> AlertRow:
    """Close the alert as a false alarm; release the merchant's settlement hold once it has no
    open alert left."""
    return _resolve(
        uow,
        alert_id,
        status=AlertStatus.CLEARED,
        user_id=user_id,
        note=note,
        now=require_aware(now),
    )


def suspend_merchant(
    uow: UnitOfWork, *, alert_id: int, user_id: int | None, note: str | None, now: datetime
) -> AlertRow:
    """Suspend the alerted merchant (it can take no payments) and close the alert."""
    return _resolve(
        uow,
        alert_id,
        status=AlertStatus.MERCHANT_SUSPENDED,
        user_id=user_id,
        note=note,
        now=require_aware(now),
    )


def _resolve(
    uow: UnitOfWork,
    alert_id: int,
    *,
    status: AlertStatus,
    user_id: int | None,
    note: str | None,
    now: datetime,
) -> AlertRow:
    if note is not None and len(note) > MAX_NOTE_LENGTH:
        raise InvalidInput(f"a note has at most {MAX_NOTE_LENGTH} characters", field="note")
    with uow:
        records = uow.fraud
        row = records.alert(alert_id, lock=True)
        if status is AlertStatus.MERCHANT_SUSPENDED:
            kind = ApprovalKind.MERCHANT_SUSPENSION
            refuse_without_second_approver(uow, row.region_id, kind)
        if not records.resolve(alert_id, status, user_id=user_id, note=note, at=now):
            raise FraudAlertResolved(f"alert {alert_id} is {row.status}", alert_id=alert_id)
        if status is AlertStatus.MERCHANT_SUSPENDED:
            uow.records.set_merchant_status(row.merchant_id, MerchantStatus.SUSPENDED, now)
        elif records.open_alert_count(row.merchant_id) == 0:
            records.set_settlement_held(row.merchant_id, False)
        resolved = records.alert(alert_id)
        uow.commit()
        return resolved
