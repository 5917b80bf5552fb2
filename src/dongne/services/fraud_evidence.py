"""What the fraud rules need of committed payments, read for many payments at once.

The online check runs for every payment the server takes, in batches (``fraud.check_payments``),
and the scan checks up to 100,000 at a time. Read payment by payment, the evidence was five
statements each, a quarter of the server's CPU under load. Here a batch of payments needs one
statement for the payments themselves, one for the times their wallets paid their merchants,
one or two per Seoul day among them for the merchants' takings, and one for the last purchases
when an amount is round (the only case that rule looks at one). What each rule is given is
exactly what the single-payment reads gave it, with one exception: given the alerts known to be
stored (the server's check keeps them, ``fraud.AlertsStored``), a rule whose alert for a
payment is among them gets no evidence read for it (no earlier payments, no purchase, no
takings), since it could open nothing new. That is not only a saving: a citizen paying one shop
over and over, the very pattern the repeat rule flags, made every later check read all of the
pair's payments within the window, a read that grew with the rate of payments.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Container, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dongne.adapters.db.fraud_records import CheckedPayment
from dongne.domain.calendar import seoul_day
from dongne.domain.fraud import (
    AlertKey,
    FraudRule,
    FraudSettings,
    Hit,
    alert_key,
    baseline_days,
    is_round,
    repeated_payments,
    round_after_purchase,
    shared_phone,
    takings_spike,
)
from dongne.services.ports import FraudStore

CHUNK = 500
"""Payments read together: the batch scan's 100,000 go in chunks, to keep each IN list short."""


@dataclass(frozen=True)
class Evidence:
    checked: CheckedPayment
    earlier_to_same_merchant: list[datetime]
    last_purchase_at: datetime | None
    day_takings_won: int
    baseline_takings_won: int
    """0 where the day's takings are under the spike rule's minimum: the rule stops there.

    Where a rule's alert for the payment is known stored, its fields are as if there were
    nothing to see: no earlier payments, no purchase, no takings."""


def gather(
    records: FraudStore,
    payment_ids: Sequence[int],
    settings: FraudSettings,
    stored: Container[AlertKey] = frozenset(),
) -> dict[int, Evidence]:
    """The evidence of each payment of ``payment_ids`` that exists, by id; none for a rule
    whose alert for the payment is in ``stored``."""
    found: dict[int, Evidence] = {}
    for start in range(0, len(payment_ids), CHUNK):
        chunk = payment_ids[start : start + CHUNK]
        found.update(_gather_chunk(records, chunk, settings, _Unread(stored)))
    return found


def hits_of(evidence: Evidence, settings: FraudSettings) -> list[Hit]:
    checked = evidence.checked
    payment = checked.fact
    hits = [
        repeated_payments(payment, evidence.earlier_to_same_merchant, settings),
        round_after_purchase(payment, evidence.last_purchase_at, settings),
        takings_spike(
            payment.merchant_id,
            seoul_day(payment.paid_at),
            evidence.day_takings_won,
            evidence.baseline_takings_won,
            settings,
        ),
        shared_phone(payment, checked.citizen_phone, checked.merchant_phone),
    ]
    return [hit for hit in hits if hit]


class _Unread:
    """Which payments a rule needs no evidence for: its alert is known to be stored."""

    def __init__(self, stored: Container[AlertKey]):
        self._stored = stored

    def __call__(self, checked: CheckedPayment, rule: FraudRule, *, per_citizen: bool) -> bool:
        fact = checked.fact
        citizen = fact.citizen_id if per_citizen else None
        day = seoul_day(fact.paid_at).isoformat()
        return alert_key(checked.region_id, rule, fact.merchant_id, citizen, day) in self._stored


def _gather_chunk(
    records: FraudStore, payment_ids: Sequence[int], settings: FraudSettings, unread: _Unread
) -> dict[int, Evidence]:
    checked = list(records.checked_payments(payment_ids).values())
    if not checked:
        return {}
    repeats = [c for c in checked if not unread(c, FraudRule.REPEATED_PAYMENTS, per_citizen=True)]
    earlier = _earlier_payment_times(records, repeats, settings) if repeats else {}
    purchases = _last_purchases(
        records,
        [
            c
            for c in checked
            if is_round(c.fact.amount_won, settings)
            and not unread(c, FraudRule.ROUND_AFTER_PURCHASE, per_citizen=True)
        ],
    )
    spikes = [c for c in checked if not unread(c, FraudRule.TAKINGS_SPIKE, per_citizen=False)]
    takings = _takings(records, spikes, settings)
    return {
        c.fact.payment_id: Evidence(
            c,
            earlier.get(c.fact.payment_id, []),
            purchases.get(c.fact.payment_id),
            *takings.get((c.fact.merchant_id, seoul_day(c.fact.paid_at)), (0, 0)),
        )
        for c in checked
    }


def _earlier_payment_times(
    records: FraudStore, checked: list[CheckedPayment], settings: FraudSettings
) -> dict[int, list[datetime]]:
    """For each payment: when its wallet paid its merchant within the repeat window before it,
    and since (itself left out), earliest first."""
    window = timedelta(minutes=settings.repeat_window_minutes)
    since = min(c.fact.paid_at for c in checked) - window
    wallets = {c.wallet_id for c in checked}
    merchants = {c.fact.merchant_id for c in checked}
    by_pair: dict[tuple[int, int], list[tuple[int, datetime]]] = defaultdict(list)
    for time in records.payment_times(wallets, merchants, since):
        by_pair[(time.wallet_id, time.merchant_id)].append((time.payment_id, time.paid_at))
    # In time order: the rows come in whatever order the plan reads them, and a read for many
    # wallets may take another plan than a read for one.
    return {
        c.fact.payment_id: sorted(
            paid_at
            for payment_id, paid_at in by_pair[(c.wallet_id, c.fact.merchant_id)]
            if payment_id != c.fact.payment_id and paid_at >= c.fact.paid_at - window
        )
        for c in checked
    }


def _last_purchases(records: FraudStore, checked: list[CheckedPayment]) -> dict[int, datetime]:
    """For each payment: its wallet's latest purchase at or before it. One read for all, as of
    the latest payment; a wallet whose latest purchase came after one of its payments is read
    again as of that payment."""
    if not checked:
        return {}
    latest = records.last_purchases_at(
        {c.wallet_id for c in checked}, max(c.fact.paid_at for c in checked)
    )
    found: dict[int, datetime] = {}
    for c in checked:
        purchased_at = latest.get(c.wallet_id)
        if purchased_at is not None and purchased_at > c.fact.paid_at:
            purchased_at = records.last_purchases_at([c.wallet_id], c.fact.paid_at).get(c.wallet_id)
        if purchased_at is not None:
            found[c.fact.payment_id] = purchased_at
    return found


def _takings(
    records: FraudStore, checked: list[CheckedPayment], settings: FraudSettings
) -> dict[tuple[int, date], tuple[int, int]]:
    """For each merchant and Seoul day among the payments: that day's takings, and the
    baseline days' where the day's reach the spike rule's minimum."""
    merchants_by_day: dict[date, set[int]] = defaultdict(set)
    for c in checked:
        merchants_by_day[seoul_day(c.fact.paid_at)].add(c.fact.merchant_id)
    takings: dict[tuple[int, date], tuple[int, int]] = {}
    for day, merchants in merchants_by_day.items():
        on_day = records.takings_by_merchant(merchants, day, day)
        busy = [m for m in merchants if on_day[m] >= settings.spike_min_takings_won]
        baseline: dict[int, int] = {}
        if busy:
            baseline = records.takings_by_merchant(busy, *baseline_days(day, settings))
        for merchant in merchants:
            takings[(merchant, day)] = (on_day[merchant], baseline.get(merchant, 0))
    return takings
