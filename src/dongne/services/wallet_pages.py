"""Read models of the citizen's wallet pages beyond the balance (``citizen_pages``): the
region wallets a citizen holds and may open, a history filtered by kind and day, what a
gift may send, where a purchase's cancellation and a balance refund stand, the walking
points, and whether a sale's line is open.

Each is scoped to the caller as ``resources`` scopes the API (another citizen's wallet or
purchase is one that does not exist) and changes nothing: a page that only shows things
never writes. Where a page says whether an action would be allowed, the domain's own rule
answers (``check_purchase_cancellable``, ``plan_refund``), so the page and the action can
never disagree.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from dongne.adapters.db.holding_rows import PurchaseRecord
from dongne.adapters.db.listing_records import RegionRow, WalletEntryRow
from dongne.adapters.db.walking_records import StepReportRow
from dongne.domain.access import Principal
from dongne.domain.calendar import SEOUL, require_aware, seoul_month
from dongne.domain.errors import InvalidInput, PurchaseNotFound, RuleViolation, WalletNotFound
from dongne.domain.ledger import TransactionKind
from dongne.domain.lots import Lot, LotKind, is_giftable, plan_refund
from dongne.domain.money import BASIS_POINTS
from dongne.domain.sale_queue import SaleQueuePolicy, sale_window_opened_at
from dongne.domain.walking import WalkingProgram, WalkingProgramNotFound
from dongne.services.resources import visible_wallet
from dongne.services.unit_of_work import UnitOfWork

WALLETS_SHOWN = 200
REGIONS_SHOWN = 200
STEP_REPORTS_SHOWN = 14
"""Two weeks of walking: what a citizen looks back on."""

HISTORY_KINDS: dict[str, frozenset[TransactionKind]] = {
    # What a citizen filters by, in their words: a purchase and its cancellation are one
    # subject, as are a payment and its cancellation.
    "purchase": frozenset({TransactionKind.PURCHASE, TransactionKind.PURCHASE_CANCELLATION}),
    "payment": frozenset({TransactionKind.PAYMENT, TransactionKind.PAYMENT_CANCELLATION}),
    "gift": frozenset({TransactionKind.GIFT}),
    "refund": frozenset({TransactionKind.REFUND}),
    "allowance": frozenset({TransactionKind.ALLOWANCE_GRANT}),
    "points": frozenset({TransactionKind.REWARD}),
    "expiry": frozenset({TransactionKind.EXPIRY}),
}


# Region wallets ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WalletChoice:
    wallet_id: int
    region_id: int
    region_name: str


def wallet_choices(uow: UnitOfWork, caller: Principal) -> list[WalletChoice]:
    """The caller's wallets, each with its region's name, oldest first."""
    citizen_id = caller.citizen()
    with uow:
        rows = uow.listings.wallets_of_citizen(citizen_id, after_id=None, fetch=WALLETS_SHOWN)
        return [
            WalletChoice(row.id, row.region_id, uow.records.region(row.region_id).name)
            for row in rows
        ]


def regions_to_open(uow: UnitOfWork, caller: Principal) -> list[RegionRow]:
    """Regions where the caller has no wallet yet."""
    citizen_id = caller.citizen()
    with uow:
        rows = uow.listings.wallets_of_citizen(citizen_id, after_id=None, fetch=WALLETS_SHOWN)
        held = {row.region_id for row in rows}
        regions = uow.listings.regions(after_id=None, fetch=REGIONS_SHOWN)
    return [region for region in regions if region.id not in held]


# History -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryFilter:
    """Which lines of a history to show: one kind of ``HISTORY_KINDS``, and Seoul days from
    ``first_day`` to ``last_day``, both included; None for no bound."""

    kind: str | None = None
    first_day: date | None = None
    last_day: date | None = None

    def kinds(self) -> Collection[str] | None:
        if self.kind is None:
            return None
        if self.kind not in HISTORY_KINDS:
            raise InvalidInput(f"no history kind {self.kind!r}", field="kind")
        return {kind.value for kind in HISTORY_KINDS[self.kind]}

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """[since, until) in UTC: Seoul's midnights around the chosen days."""
        first, last = self.first_day, self.last_day
        if first is not None and last is not None and last < first:
            raise InvalidInput("the last day comes before the first", field="last_day")
        since = None if first is None else _seoul_midnight(first)
        until = None if last is None else _seoul_midnight(last + timedelta(days=1))
        return since, until


def _seoul_midnight(day: date) -> datetime:
    return require_aware(datetime.combine(day, time(), tzinfo=SEOUL))


def filtered_history(
    uow: UnitOfWork,
    caller: Principal,
    wallet_id: int,
    chosen: HistoryFilter,
    *,
    before_id: int | None,
    fetch: int,
) -> list[WalletEntryRow]:
    """A page of the wallet's history, newest first, filtered by the store's query."""
    kinds = chosen.kinds()
    since, until = chosen.bounds()
    with uow:
        wallet = visible_wallet(uow, caller, wallet_id, acting=False)
        return uow.listings.wallet_entries(
            wallet.account_id,
            before_id=before_id,
            fetch=fetch,
            kinds=kinds,
            since=since,
            until=until,
        )


# Gifts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GiftOutlook:
    giftable_won: int
    """Purchased value a gift may send (gifts received, allowances and points may not)."""
    sent_this_month_won: int
    monthly_send_limit_won: int

    @property
    def left_to_send_won(self) -> int:
        limit_left = max(0, self.monthly_send_limit_won - self.sent_this_month_won)
        return min(self.giftable_won, limit_left)


def gift_outlook(
    uow: UnitOfWork, caller: Principal, *, wallet_id: int, now: datetime
) -> GiftOutlook:
    now = require_aware(now)
    with uow:
        wallet = visible_wallet(uow, caller, wallet_id, acting=True)
        program = uow.records.program(wallet.region_id, at=now)
        lots = uow.records.wallet_lots(wallet_id)
        sent = uow.records.gifted_won(wallet_id, seoul_month(now), sent=True)
    giftable = sum(lot.remaining_won for lot in lots if is_giftable(lot, now))
    return GiftOutlook(giftable, sent, program.gift_monthly_send_limit_won)


# Cancelling a purchase ---------------------------------------------------------------------


@dataclass(frozen=True)
class PurchaseStanding:
    """A purchase, and whether it may be cancelled now: ``refusal`` is the rule's own error
    (its code and figures) when it may not."""

    purchase: PurchaseRecord
    cancel_by: datetime
    refusal: RuleViolation | None


def purchase_standing(
    uow: UnitOfWork, caller: Principal, purchase_id: int, *, now: datetime
) -> PurchaseStanding:
    now = require_aware(now)
    with uow:
        purchase = uow.records.purchase(purchase_id)
        try:
            wallet = visible_wallet(uow, caller, purchase.wallet_id, acting=True)
        except WalletNotFound:
            raise PurchaseNotFound(f"no purchase {purchase_id}", purchase_id=purchase_id) from None
        program = uow.records.program(wallet.region_id, at=purchase.purchased_at)
        lot = uow.records.lots_by_id([purchase.lot_id])[purchase.lot_id]
    refusal = None
    try:
        program.check_purchase_cancellable(
            purchased_at=purchase.purchased_at,
            already_cancelled=purchase.cancelled_at is not None,
            lot=lot,
            now=now,
        )
    except RuleViolation as refused:
        refusal = refused
    cancel_by = purchase.purchased_at + timedelta(days=program.cancellation_window_days)
    return PurchaseStanding(purchase, cancel_by, refusal)


# Balance refunds ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RefundableLot:
    """A purchase (or gift received) still in the wallet, and how much of it was spent."""

    acquired_at: datetime
    face_won: int
    remaining_won: int
    reached: bool
    """Spent at least the threshold: its rest would be refunded now."""

    @property
    def spent_bp(self) -> int:
        return (self.face_won - self.remaining_won) * BASIS_POINTS // self.face_won


@dataclass(frozen=True)
class RefundOutlook:
    threshold_bp: int
    lots: tuple[RefundableLot, ...]
    refund_won: int
    """Paid back to the bank if the refund were asked for now (0: nothing would be)."""
    refusal: RuleViolation | None


def refund_outlook(
    uow: UnitOfWork, caller: Principal, *, wallet_id: int, now: datetime
) -> RefundOutlook:
    now = require_aware(now)
    with uow:
        wallet = visible_wallet(uow, caller, wallet_id, acting=True)
        threshold_bp = uow.records.program(wallet.region_id, at=now).refund_threshold_bp
        wallet_lots = uow.records.wallet_lots(wallet_id)
    held = [lot for lot in wallet_lots if lot.is_purchased_value and lot.is_live(now)]
    refund_won, refusal = 0, None
    try:
        refund_won = sum(
            part.to_citizen_won for part in plan_refund(wallet_lots, threshold_bp, now)
        )
    except RuleViolation as refused:
        refusal = refused
    lots = tuple(
        RefundableLot(
            lot.acquired_at,
            lot.face_won,
            lot.remaining_won,
            lot.spent_enough_to_refund(threshold_bp),
        )
        for lot in sorted(held, key=lambda lot: lot.acquired_at)
    )
    return RefundOutlook(threshold_bp, lots, refund_won, refusal)


# Walking points ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WalkingPage:
    points_won: int
    """Walking points still to spend."""
    next_expiry: datetime | None
    """When the soonest of them lapses."""
    program: WalkingProgram | None
    """None where the region has no walking rewards."""
    reports: tuple[StepReportRow, ...]
    """Recent days' steps and the points they earned, newest first."""


def walking_page(
    uow: UnitOfWork, caller: Principal, *, wallet_id: int, now: datetime
) -> WalkingPage:
    now = require_aware(now)
    with uow:
        wallet = visible_wallet(uow, caller, wallet_id, acting=False)
        points = [lot for lot in uow.records.wallet_lots(wallet_id) if _is_walking_points(lot, now)]
        try:
            program: WalkingProgram | None = uow.walking.program(wallet.region_id)
        except WalkingProgramNotFound:
            program = None
        reports = uow.walking.step_reports_of(wallet_id, STEP_REPORTS_SHOWN)
    return WalkingPage(
        points_won=sum(lot.remaining_won for lot in points),
        next_expiry=min((lot.expires_at for lot in points), default=None),
        program=program,
        reports=tuple(reports),
    )


def _is_walking_points(lot: Lot, now: datetime) -> bool:
    return lot.kind is LotKind.REWARD and lot.is_live(now)


# The sale queue ----------------------------------------------------------------------------


def sale_is_on(
    uow: UnitOfWork, caller: Principal, *, wallet_id: int, now: datetime, policy: SaleQueuePolicy
) -> bool:
    """Whether the wallet's region is in a sale window, when buyers wait in line."""
    now = require_aware(now)
    with uow:
        wallet = visible_wallet(uow, caller, wallet_id, acting=True)
        timeline = uow.records.program_timeline(wallet.region_id)
    opened = sale_window_opened_at(
        timeline.at(now), now, policy, promotion_started_at=timeline.promotion_started_at(now)
    )
    return opened is not None
