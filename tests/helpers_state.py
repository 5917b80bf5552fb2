"""An independent model of one region's vouchers, and a snapshot of its rows, for the
stateful ledger test (``tests/integration/test_ledger_state_machine.py``).

The model is written from DESIGN.md section 2 and the use cases' documented order of checks,
not with the domain's planning functions, so a wrong spending order, refund amount or limit
shows up as a difference between the model and the database.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Select, func, or_, select

from dongne.adapters.db.ledger_tables import account_balances, accounts
from dongne.adapters.db.tables import (
    cashback_offsets,
    citizens,
    idempotency_keys,
    lots,
    merchants,
    metadata,
    payment_allocations,
    payments,
    purchases,
    regions,
    wallets,
)
from dongne.domain import errors
from dongne.domain.merchants import MerchantStatus
from dongne.domain.program import BonusMode, BudgetExhaustedPolicy, VoucherProgram

SEOUL = ZoneInfo("Asia/Seoul")
MAX_WON = 10**12


def seoul_month_of(moment: datetime) -> str:
    return moment.astimezone(SEOUL).strftime("%Y-%m")


def seoul_day_of(moment: datetime) -> date:
    return moment.astimezone(SEOUL).date()


def is_positive_won(amount: int) -> bool:
    return 0 < amount <= MAX_WON


class Expect(Exception):
    """The model predicts that the operation fails with ``error``."""

    def __init__(self, error: type[errors.DongneError]):
        super().__init__(error.__name__)
        self.error = error


@dataclass
class LotModel:
    id: int
    wallet_id: int
    kind: str
    face: int
    paid: int
    remaining: int
    acquired_at: datetime
    expires_at: datetime
    denied: frozenset[str] | None = None
    """An allowance lot's denied categories (None: not restricted); it takes any other."""
    above_cap: bool = False
    """An allowance lot usable at merchants above the revenue cap."""
    funder: str | None = None
    """The label of the account that gets back what expires (None: the month's budget)."""

    def live(self, now: datetime) -> bool:
        return self.remaining > 0 and now < self.expires_at

    @property
    def purchased_value(self) -> bool:
        return self.kind in {"purchased", "gifted"}

    def paid_share(self, amount: int) -> int:
        return amount * self.paid // self.face


@dataclass(frozen=True)
class NewLot:
    """A lot an operation is expected to create (its id is known once the database made it)."""

    wallet_id: int
    kind: str
    face: int
    paid: int
    expires_at: datetime


@dataclass
class WalletModel:
    id: int
    region_id: int
    resident: bool


@dataclass
class MerchantModel:
    id: int
    region_id: int
    category: str
    revenue: int
    status: MerchantStatus = MerchantStatus.ACTIVE


@dataclass
class PurchaseModel:
    id: int
    wallet_id: int
    lot_id: int
    face: int
    paid: int
    bonus: int
    month: str
    at: datetime
    cancelled: bool = False


@dataclass
class Allocation:
    lot_id: int
    amount: int
    returned: int = 0


@dataclass
class PaymentModel:
    id: int
    wallet_id: int
    merchant_id: int
    amount: int
    cashback: int
    cashback_lot_id: int | None
    month: str
    allocations: list[Allocation]
    cancelled: int = 0
    clawed: int = 0


@dataclass(frozen=True)
class PurchasePlan:
    face: int
    paid: int
    bonus: int
    month: str


@dataclass(frozen=True)
class PaymentPlan:
    takes: list[tuple[int, int]]
    purchased_part: int
    cashback: int
    month: str


@dataclass(frozen=True)
class CancellationPlan:
    amount: int
    pieces: list[tuple[int, int]]
    """(allocation index, amount returned to it)"""
    restores: list[tuple[int, int]]
    """(lot id, value put back into it), after the cashback clawback's cut"""
    from_cashback_lot: int
    to_breakage: int
    to_budget: int
    clawed: int
    settled: list[tuple[int, int]]
    """(offset id, value it got back)"""
    cuts: list[tuple[int, int]]
    """(lot id, value cut from its restore to pay the clawback): the new offsets"""
    to_others: dict[str, int] = field(default_factory=dict)
    """Expired pieces of lots with a funder of their own (allowances): label -> value"""


@dataclass
class OffsetModel:
    """``amount`` of lot ``lot_id`` paid back cashback already spent from ``cashback_lot_id``;
    ``settled`` of it came back since."""

    id: int
    cashback_lot_id: int
    lot_id: int
    amount: int
    settled: int = 0

    @property
    def outstanding(self) -> int:
        return self.amount - self.settled


@dataclass
class _Funders:
    """Where value of expired lots goes: the paid share to breakage, the rest to the budget."""

    breakage: int = 0
    budget: int = 0
    others: Counter[str] = field(default_factory=Counter)
    """What goes back to lots' own funders (an allowance program's budget), per label."""

    def add(self, lot: LotModel, amount: int) -> None:
        self.breakage += lot.paid_share(amount)
        if lot.funder is None:
            self.budget += amount - lot.paid_share(amount)
        else:
            self.others[lot.funder] += amount - lot.paid_share(amount)


@dataclass(frozen=True)
class Expiry:
    lot_ids: list[int]
    to_breakage: int
    to_budget: int
    """To the month's budget and to lots' own funders, together (as the job reports it)"""
    to_others: dict[str, int] = field(default_factory=dict)
    """The part of ``to_budget`` that goes to lots' own funders, per label"""


@dataclass
class RegionModel:
    """What one region's ledger should hold. Account labels: ``wallet:<wallet id>``,
    ``payable:<merchant id>``, ``budget:<YYYY-MM>``, ``breakage``, ``city``, ``bank``."""

    region_id: int
    program: VoucherProgram
    wallets: dict[int, WalletModel] = field(default_factory=dict)
    merchants: dict[int, MerchantModel] = field(default_factory=dict)
    lots: dict[int, LotModel] = field(default_factory=dict)
    purchases: dict[int, PurchaseModel] = field(default_factory=dict)
    payments: dict[int, PaymentModel] = field(default_factory=dict)
    gifts: list[tuple[int, int, int, str]] = field(default_factory=list)
    offsets: list[OffsetModel] = field(default_factory=list)
    balances: Counter[str] = field(default_factory=Counter)

    # -- bookkeeping ----------------------------------------------------------------------

    def move(self, deltas: dict[str, int]) -> None:
        assert sum(deltas.values()) == 0, f"the model's own posting is unbalanced: {deltas}"
        self.balances.update(deltas)

    def totals_by_type(self) -> dict[str, int]:
        types = {
            "wallet": "wallet",
            "payable": "merchant_payable",
            "budget": "discount_budget",
            "breakage": "breakage",
            "city": "city_funding",
            "bank": "citizen_bank",
            "merchant_bank": "merchant_bank",
            "fees": "settlement_fees",
            "allowance": "allowance_budget",
        }
        totals: Counter[str] = Counter()
        for label, balance in self.balances.items():
            totals[types[label.split(":")[0]]] += balance
        return {kind: total for kind, total in totals.items() if total}

    def expected_rows(self) -> dict[str, Any]:
        """What ``stored_rows`` should read for this region."""
        ordered = sorted(self.payments.values(), key=lambda p: p.id)
        return {
            "balances": {label: balance for label, balance in self.balances.items() if balance},
            "lots": {lot.id: lot.remaining for lot in self.lots.values()},
            "payments": {p.id: (p.amount, p.cancelled, p.cashback, p.clawed) for p in ordered},
            "allocations": [
                (p.id, a.lot_id, a.amount, a.returned) for p in ordered for a in p.allocations
            ],
            "cancelled purchases": {p.id for p in self.purchases.values() if p.cancelled},
            "cashback offsets": {
                o.id: (o.cashback_lot_id, o.lot_id, o.amount, o.settled) for o in self.offsets
            },
        }

    def rate_bp(self, now: datetime) -> int:
        day = seoul_day_of(now)
        covering = [w for w in self.program.rate_windows if w.starts_on <= day <= w.ends_on]
        if not covering:
            return self.program.base_rate_bp
        return max(covering, key=lambda window: window.starts_on).rate_bp

    def live_lots(self, wallet_id: int, now: datetime) -> list[LotModel]:
        return [lot for lot in self.lots.values() if lot.wallet_id == wallet_id and lot.live(now)]

    def holding(self, wallet_id: int, now: datetime) -> int:
        lots = self.live_lots(wallet_id, now)
        return sum(lot.remaining for lot in lots if lot.purchased_value)

    def wallet(self, wallet_id: int) -> WalletModel:
        if wallet_id not in self.wallets:
            raise Expect(errors.WalletNotFound)
        return self.wallets[wallet_id]

    # -- purchases ------------------------------------------------------------------------

    def predict_purchase(self, wallet_id: int, face: int, now: datetime) -> PurchasePlan:
        wallet, program = self.wallet(wallet_id), self.program
        if not is_positive_won(face):
            raise Expect(errors.InvalidAmount)
        if face % program.purchase_unit_won:
            raise Expect(errors.InvalidPurchaseUnit)
        if program.residents_only and not wallet.resident:
            raise Expect(errors.NotAResident)
        month = seoul_month_of(now)
        mine = [p for p in self.purchases.values() if p.wallet_id == wallet_id and not p.cancelled]
        if (
            sum(p.face for p in mine if p.month == month) + face
            > program.monthly_purchase_limit_won
        ):
            raise Expect(errors.MonthlyLimitExceeded)
        annual = program.annual_purchase_limit_won
        year = month[:4]
        if annual is not None and sum(p.face for p in mine if p.month[:4] == year) + face > annual:
            raise Expect(errors.AnnualLimitExceeded)
        if self.holding(wallet_id, now) + face > program.holding_limit_won:
            raise Expect(errors.HoldingLimitExceeded)
        wanted = 0
        if program.bonus_mode is BonusMode.DISCOUNT:
            wanted = face * self.rate_bp(now) // 10_000
        bonus = wanted if self.balances[f"budget:{month}"] >= wanted else 0
        if (
            wanted
            and not bonus
            and program.budget_exhausted_policy is (BudgetExhaustedPolicy.STOP_SELLING)
        ):
            raise Expect(errors.BudgetExhausted)
        return PurchasePlan(face, face - bonus, bonus, month)

    def predict_cancel_purchase(self, purchase_id: int, now: datetime) -> PurchaseModel:
        if purchase_id not in self.purchases:
            raise Expect(errors.PurchaseNotFound)
        purchase = self.purchases[purchase_id]
        if purchase.cancelled:
            raise Expect(errors.PurchaseAlreadyCancelled)
        if now > purchase.at + timedelta(days=self.program.cancellation_window_days):
            raise Expect(errors.CancellationWindowClosed)
        lot = self.lots[purchase.lot_id]
        if lot.remaining != lot.face or not lot.live(now):
            raise Expect(errors.PurchaseAlreadyUsed)
        return purchase

    # -- payments -------------------------------------------------------------------------

    def predict_payment(
        self, wallet_id: int, merchant_id: int, amount: int, now: datetime
    ) -> PaymentPlan:
        wallet, program = self.wallet(wallet_id), self.program
        if not is_positive_won(amount):
            raise Expect(errors.InvalidAmount)
        if program.max_single_payment_won is not None and amount > program.max_single_payment_won:
            raise Expect(errors.PaymentLimitExceeded)
        merchant = self.merchants.get(merchant_id)
        if merchant is None:
            raise Expect(errors.MerchantNotFound)
        if (
            merchant.region_id != wallet.region_id
            or merchant.status is not MerchantStatus.ACTIVE
            or merchant.category in program.excluded_categories
        ):
            raise Expect(errors.MerchantNotEligible)
        live = self.live_lots(wallet_id, now)
        below_cap = merchant.revenue <= program.revenue_cap_won
        usable = [
            lot
            for lot in live
            if (below_cap or lot.above_cap)
            and (lot.denied is None or merchant.category not in lot.denied)
        ]
        if live and not usable:
            raise Expect(errors.MerchantNotEligible)
        if sum(lot.remaining for lot in usable) < amount:
            raise Expect(errors.InsufficientBalance)
        restricted = sorted((lot for lot in usable if lot.denied is not None), key=_by_expiry)
        points = sorted((lot for lot in usable if lot.kind == "cashback"), key=_by_expiry)
        bought = sorted((lot for lot in usable if lot.purchased_value), key=_by_age)
        takes, left = [], amount
        for lot in restricted + points + bought:
            if not left:
                break
            taken = min(left, lot.remaining)
            takes.append((lot.id, taken))
            left -= taken
        purchased_part = sum(t for lot_id, t in takes if self.lots[lot_id].purchased_value)
        month = seoul_month_of(now)
        cashback = 0
        if program.bonus_mode is BonusMode.CASHBACK:
            earned = sum(
                p.cashback - p.clawed
                for p in self.payments.values()
                if p.wallet_id == wallet_id and p.month == month
            )
            room = max(0, program.cashback_monthly_cap_won - earned)
            cashback = min(purchased_part * self.rate_bp(now) // 10_000, room)
            if self.balances[f"budget:{month}"] < cashback:
                cashback = 0
        return PaymentPlan(takes, purchased_part, cashback, month)

    def predict_cancel_payment(
        self, payment_id: int, amount: int | None, now: datetime
    ) -> CancellationPlan:
        """Each piece goes back into the lot it came from, last piece first, or to the lot's
        funders if it expired; a piece coming back to a cashback lot whose clawback was paid
        with purchased value goes to the lots that paid (oldest offset first). The payment's
        own cashback is then taken back: from its cashback lot while live, else cut from what
        is being restored (each cut becomes an offset)."""
        if amount is not None and not is_positive_won(amount):
            raise Expect(errors.InvalidAmount)
        if payment_id not in self.payments:
            raise Expect(errors.PaymentNotFound)
        payment = self.payments[payment_id]
        left = payment.amount - payment.cancelled
        assert left == sum(a.amount - a.returned for a in payment.allocations)
        wanted = left if amount is None else amount
        if left == 0 or wanted > left:
            raise Expect(errors.CancellationExceedsPayment)
        pieces, live_pieces, expired_pieces, rest = [], [], [], wanted
        for index in reversed(range(len(payment.allocations))):
            allocation = payment.allocations[index]
            piece = min(rest, allocation.amount - allocation.returned)
            if not piece:
                continue
            rest -= piece
            pieces.append((index, piece))
            lot = self.lots[allocation.lot_id]
            (live_pieces if now < lot.expires_at else expired_pieces).append((lot, piece))
        restores, funders, settled = self._return(live_pieces, expired_pieces, now)
        owed = payment.cashback * (payment.cancelled + wanted) // payment.amount - payment.clawed
        cashback_lot = self.lots.get(payment.cashback_lot_id or 0)
        from_lot = (
            min(owed, cashback_lot.remaining) if cashback_lot and cashback_lot.live(now) else 0
        )
        short, kept, cuts = owed - from_lot, [], []
        for lot_id, value in restores.items():
            cut = min(short, value)
            short -= cut
            if cut:
                cuts.append((lot_id, cut))
            if value > cut:
                kept.append((lot_id, value - cut))
        clawed = owed - short
        return CancellationPlan(
            wanted, pieces, kept, from_lot, funders.breakage, funders.budget + clawed, clawed,
            settled, cuts, dict(funders.others),
        )  # fmt: skip

    def _return(
        self,
        live_pieces: list[tuple[LotModel, int]],
        expired_pieces: list[tuple[LotModel, int]],
        now: datetime,
    ) -> tuple[dict[int, int], _Funders, list[tuple[int, int]]]:
        """Where cancelled pieces go: ``restores`` (lot id -> value, in the order the lots are
        first restored), the funders of expired lots, and the offsets settled on the way."""
        owed_to = {o.cashback_lot_id for o in self.offsets if o.outstanding}
        funders = _Funders()
        for lot, piece in expired_pieces:
            if lot.id not in owed_to:
                funders.add(lot, piece)
        returning = [(lot, piece, True) for lot, piece in live_pieces]
        returning += [(lot, piece, False) for lot, piece in expired_pieces if lot.id in owed_to]
        restores: dict[int, int] = {}
        settled: list[tuple[int, int]] = []
        for lot, piece, live in returning:
            rest = piece
            for offset in (o for o in self.offsets if o.cashback_lot_id == lot.id):
                moved = min(rest, offset.outstanding - sum(m for i, m in settled if i == offset.id))
                if moved <= 0:
                    continue
                rest -= moved
                settled.append((offset.id, moved))
                payer = self.lots[offset.lot_id]
                if now < payer.expires_at:
                    restores[payer.id] = restores.get(payer.id, 0) + moved
                else:
                    funders.add(payer, moved)
            if rest and live:
                restores[lot.id] = restores.get(lot.id, 0) + rest
            elif rest:
                funders.add(lot, rest)
        return restores, funders, settled

    # -- gifts, refunds, expiry -----------------------------------------------------------

    def predict_gift(
        self, sender_id: int, receiver: WalletModel, amount: int, now: datetime
    ) -> list[tuple[int, int]]:
        sender, program = self.wallet(sender_id), self.program
        if sender.id == receiver.id or sender.region_id != receiver.region_id:
            raise Expect(errors.GiftNotAllowed)
        if not is_positive_won(amount):
            raise Expect(errors.InvalidAmount)
        month = seoul_month_of(now)
        sent = sum(a for s, _, a, m in self.gifts if s == sender.id and m == month)
        received = sum(a for _, r, a, m in self.gifts if r == receiver.id and m == month)
        if sent + amount > program.gift_monthly_send_limit_won:
            raise Expect(errors.GiftSendLimitExceeded)
        if received + amount > program.gift_monthly_receive_limit_won:
            raise Expect(errors.GiftReceiveLimitExceeded)
        if self.holding(receiver.id, now) + amount > program.holding_limit_won:
            raise Expect(errors.HoldingLimitExceeded)
        giftable = sorted(
            (lot for lot in self.live_lots(sender.id, now) if lot.kind == "purchased"), key=_by_age
        )
        if sum(lot.remaining for lot in giftable) < amount:
            raise Expect(errors.InsufficientBalance)
        takes, left = [], amount
        for lot in giftable:
            if not left:
                break
            taken = min(left, lot.remaining)
            takes.append((lot.id, taken))
            left -= taken
        return takes

    def predict_refund(self, wallet_id: int, now: datetime) -> list[tuple[int, int, int]]:
        """(lot id, value taken, paid back) for each refunded lot."""
        self.wallet(wallet_id)
        candidates = [lot for lot in self.live_lots(wallet_id, now) if lot.purchased_value]
        if not candidates:
            raise Expect(errors.NothingToRefund)
        threshold = self.program.refund_threshold_bp
        eligible = [
            lot for lot in candidates if (lot.face - lot.remaining) * 10_000 >= threshold * lot.face
        ]
        if not eligible:
            raise Expect(errors.RefundThresholdNotMet)
        return [(lot.id, lot.remaining, lot.paid_share(lot.remaining)) for lot in eligible]

    def predict_expiry(self, now: datetime, limit: int) -> Expiry:
        due = sorted(
            (lot for lot in self.lots.values() if lot.remaining and lot.expires_at <= now),
            key=lambda lot: (lot.expires_at, lot.id),
        )[:limit]
        funders = _Funders()
        for lot in due:
            funders.add(lot, lot.remaining)
        to_budget = funders.budget + sum(funders.others.values())
        return Expiry([lot.id for lot in due], funders.breakage, to_budget, dict(funders.others))


def _by_age(lot: LotModel) -> tuple[datetime, int]:
    return (lot.acquired_at, lot.id)


def _by_expiry(lot: LotModel) -> tuple[datetime, int]:
    return (lot.expires_at, lot.id)


def region_snapshot(
    connection: Connection, region_ids: list[int], key_prefix: str
) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the regions own, each table ordered by primary key, plus every table's row
    count (so a stray row written anywhere else shows up too).

    The counts are read first: a table with no row in the whole database has none of the
    regions' either, and most of the sixty are empty in a ledger test, so only the others
    are read row by row (a stateful test snapshots before and after every refused step)."""
    by_table, counts = _snapshot_queries(tuple(region_ids), key_prefix)
    rows_per_table = tuple(connection.execute(counts).one())
    held = {
        table.name
        for table, rows in zip(metadata.sorted_tables, rows_per_table, strict=True)
        if rows
    }
    snapshot = {
        name: [tuple(row) for row in connection.execute(query)] if name in held else []
        for name, query in by_table
    }
    snapshot["rows per table in the database"] = [rows_per_table]
    return snapshot


@functools.cache
def _snapshot_queries(
    region_ids: tuple[int, ...], key_prefix: str
) -> tuple[list[tuple[str, Select[Any]]], Select[Any]]:
    """``region_snapshot``'s statements, built once per regions and key prefix: a stateful
    test snapshots the same regions before and after every refused step, and building a
    statement per table each time cost as much as running them."""
    by_table = []
    own_citizens = select(wallets.c.citizen_id).where(wallets.c.region_id.in_(region_ids))
    for table in metadata.sorted_tables:
        query = select(table)
        if table is regions:
            query = query.where(table.c.id.in_(region_ids))
        elif table is citizens:
            query = query.where(
                or_(table.c.region_id.in_(region_ids), table.c.id.in_(own_citizens))
            )
        elif table is idempotency_keys:
            query = query.where(table.c.key.startswith(key_prefix, autoescape=True))
        elif "region_id" not in table.c:
            continue  # the log's tiles, state and checkpoints span regions; counted below
        else:
            query = query.where(table.c.region_id.in_(region_ids))
        by_table.append((table.name, query.order_by(*table.primary_key.columns)))
    counts = select(
        *(
            select(func.count()).select_from(table).scalar_subquery()
            for table in metadata.sorted_tables
        )
    )
    return by_table, counts


_LABELS = {"breakage": "breakage", "city_funding": "city", "citizen_bank": "bank"}
_LABELS |= {"merchant_bank": "merchant_bank", "settlement_fees": "fees"}


def stored_rows(connection: Connection, region_id: int) -> dict[str, Any]:
    """The region's balances (labelled as the model labels them), lots, payments, allocations
    and cancelled purchases, as stored."""
    run = connection.execute
    wallet_of = dict(
        run(
            select(wallets.c.account_id, wallets.c.id).where(wallets.c.region_id == region_id)
        ).all()
    )
    merchant_of = dict(
        run(
            select(merchants.c.account_id, merchants.c.id).where(merchants.c.region_id == region_id)
        ).all()
    )
    balances = {}
    for account_id, account_type, key, balance in run(
        select(
            accounts.c.id, accounts.c.type, accounts.c.key, func.sum(account_balances.c.balance_won)
        )
        .join(account_balances, account_balances.c.account_id == accounts.c.id)
        .where(accounts.c.region_id == region_id)
        .group_by(accounts.c.id, accounts.c.type, accounts.c.key)
    ):
        if account_type == "wallet":
            label = f"wallet:{wallet_of[account_id]}"
        elif account_type == "merchant_payable":
            label = f"payable:{merchant_of[account_id]}"
        elif account_type == "discount_budget":
            label = f"budget:{key.split(':', 1)[1]}"
        elif account_type == "allowance_budget":
            label = f"allowance:{key.split(':', 1)[1]}"
        else:
            label = _LABELS[account_type]
        if balance:
            balances[label] = int(balance)
    payment_rows = run(
        select(payments).where(payments.c.region_id == region_id).order_by(payments.c.id)
    )
    allocation_rows = run(
        select(
            payment_allocations.c.payment_id,
            payment_allocations.c.lot_id,
            payment_allocations.c.amount_won,
            payment_allocations.c.returned_won,
        )
        .where(payment_allocations.c.region_id == region_id)
        .order_by(payment_allocations.c.payment_id, payment_allocations.c.sequence)
    )
    cancelled = run(
        select(purchases.c.id).where(
            purchases.c.region_id == region_id, purchases.c.cancelled_at.is_not(None)
        )
    )
    return {
        "balances": balances,
        "lots": dict(
            run(select(lots.c.id, lots.c.remaining_won).where(lots.c.region_id == region_id)).all()
        ),
        "payments": {
            row.id: (row.amount_won, row.cancelled_won, row.cashback_won, row.cashback_clawed_won)
            for row in payment_rows
        },
        "allocations": [tuple(row) for row in allocation_rows],
        "cancelled purchases": set(cancelled.scalars()),
        "cashback offsets": {
            row.id: (row.cashback_lot_id, row.lot_id, row.amount_won, row.settled_won)
            for row in run(
                select(cashback_offsets).where(cashback_offsets.c.region_id == region_id)
            )
        },
    }
