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
from dongne.domain.calendar import require_aware
from dongne.domain.errors import DongneError, InvalidInput, PaymentNotFound
from dongne.domain.fraud import (
    AlertKey,
    AlertStatus,
    FraudAlertResolved,
    FraudSettings,
    Hit,
)
from dongne.domain.merchants import MerchantStatus
from dongne.services.approval_gate import refuse_without_second_approver
from dongne.services.fraud_evidence import Evidence, gather, hits_of
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
        evidence = gather(uow.fraud, [payment_id], settings).get(payment_id)
        if evidence is None:
            raise PaymentNotFound(f"no payment {payment_id}", payment_id=payment_id)
        at = require_aware(now) if now is not None else evidence.checked.fact.paid_at
        opened = _open_alerts(uow.fraud, evidence, hits_of(evidence, settings), settings, at=at)
        uow.commit()
        return opened


def check_payments(
    uow: UnitOfWork,
    payment_ids: Sequence[int],
    settings: FraudSettings,
    stored: AlertsStored | None = None,
) -> list[list[int] | BaseException]:
    """Check committed payments in one transaction (the server's online check, batched); return
    the alerts each one opened, or the error that stopped its check (the others go ahead).

    ``stored`` (the server keeps one per process) remembers the alerts earlier checks found or
    opened: a hit whose alert is there already asks the database nothing."""
    outcomes: list[list[int] | BaseException] = []
    with uow:
        evidence = gather(
            uow.fraud, payment_ids, settings, frozenset() if stored is None else stored
        )
        tried = _AlertsTried(stored)
        for payment_id in payment_ids:
            found = evidence.get(payment_id)
            if found is None:
                outcomes.append(PaymentNotFound(f"no payment {payment_id}", payment_id=payment_id))
                continue
            hits = tried.new(found, hits_of(found, settings))
            if not hits:
                outcomes.append([])
                continue
            try:
                with uow.savepoint():
                    at = found.checked.fact.paid_at
                    outcomes.append(_open_alerts(uow.fraud, found, hits, settings, at=at))
                tried.add(found, hits)
            except DongneError as error:
                outcomes.append(error)
        uow.commit()
    if stored is not None:
        stored.remember(tried.keys)
    return outcomes


class AlertsStored:
    """Alerts known to be in the database, by key. An alert is never deleted, so a key stored
    once stays stored, and a check that finds it here needs no savepoint and no insert that
    would do nothing. Kept only after the check's commit; bounded (emptied when full). One
    fraud-check thread uses it: not shared between threads."""

    def __init__(self, limit: int = 100_000):
        self._keys: set[AlertKey] = set()
        self._limit = limit

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def remember(self, keys: set[AlertKey]) -> None:
        if len(self._keys) + len(keys) > self._limit:
            self._keys.clear()
        self._keys.update(keys)


class _AlertsTried:
    """The alerts a check has already opened or found open. Under load one citizen's payments
    at one shop break the same rule in the same window many times over; past the first, each
    would only find its alert there already (``add_alert``), so it is not asked again."""

    def __init__(self, stored: AlertsStored | None = None) -> None:
        self.keys: set[AlertKey] = set()
        self._stored = stored

    def new(self, evidence: Evidence, hits: list[Hit]) -> list[Hit]:
        return [hit for hit in hits if not self._known(self._key(evidence, hit))]

    def add(self, evidence: Evidence, hits: list[Hit]) -> None:
        self.keys.update(self._key(evidence, hit) for hit in hits)

    def _known(self, key: AlertKey) -> bool:
        return key in self.keys or (self._stored is not None and key in self._stored)

    @staticmethod
    def _key(evidence: Evidence, hit: Hit) -> AlertKey:
        return hit.key(evidence.checked.region_id)


def _open_alerts(
    records: FraudStore,
    evidence: Evidence,
    hits: list[Hit],
    settings: FraudSettings,
    *,
    at: datetime,
) -> list[int]:
    """An alert for each hit, unless one of that rule, subject and window is open already."""
    opened = []
    for hit in hits:
        alert_id = records.add_alert(
            hit,
            region_id=evidence.checked.region_id,
            payment_id=evidence.checked.fact.payment_id,
            at=at,
        )
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
        evidence = gather(records, ids, settings)
        tried = _AlertsTried()
        for payment_id in ids:
            found = evidence[payment_id]
            hits = tried.new(found, hits_of(found, settings))
            opened += _open_alerts(records, found, hits, settings, at=now)
            tried.add(found, hits)
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
