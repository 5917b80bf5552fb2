"""Read models of the citizen's pages: a wallet's balance in its three parts, and what a
purchase would be today. Scoped to the caller like ``resources``: another citizen's wallet
is a wallet that does not exist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dongne.domain.access import Principal
from dongne.domain.calendar import require_aware, seoul_day, seoul_month
from dongne.domain.ledger import AccountType
from dongne.domain.lots import PURCHASED_VALUE, Lot, LotKind
from dongne.domain.program import BonusMode
from dongne.services.resources import visible_wallet
from dongne.services.unit_of_work import UnitOfWork

POINT_KINDS = frozenset({LotKind.REWARD, LotKind.CASHBACK})
"""Value the citizen earned rather than bought: walking rewards and cashback."""


@dataclass(frozen=True)
class AllowanceHolding:
    """What is left of one allowance grant, and until when and where it can be spent."""

    program_name: str
    remaining_won: int
    expires_at: datetime
    allowed_categories: tuple[str, ...] | None
    """``None``: wherever the region's vouchers are taken."""


@dataclass(frozen=True)
class WalletOverview:
    wallet_id: int
    region_name: str
    purchased_won: int
    """Bought (or received as a gift) and not yet expired."""
    points_won: int
    allowances: tuple[AllowanceHolding, ...]

    @property
    def allowance_won(self) -> int:
        return sum(holding.remaining_won for holding in self.allowances)

    @property
    def usable_won(self) -> int:
        return self.purchased_won + self.points_won + self.allowance_won


def wallet_overview(
    uow: UnitOfWork, caller: Principal, *, wallet_id: int, now: datetime
) -> WalletOverview:
    now = require_aware(now)
    with uow:
        wallet = visible_wallet(uow, caller, wallet_id, acting=False)
        region = uow.records.region(wallet.region_id)
        live = [lot for lot in uow.records.wallet_lots(wallet_id) if lot.is_live(now)]
        allowances = tuple(
            _allowance_holding(uow, lot)
            for lot in sorted(live, key=lambda lot: lot.expires_at)
            if lot.kind is LotKind.ALLOWANCE
        )
    return WalletOverview(
        wallet_id=wallet_id,
        region_name=region.name,
        purchased_won=sum(lot.remaining_won for lot in live if lot.kind in PURCHASED_VALUE),
        points_won=sum(lot.remaining_won for lot in live if lot.kind in POINT_KINDS),
        allowances=allowances,
    )


def _allowance_holding(uow: UnitOfWork, lot: Lot) -> AllowanceHolding:
    restriction = lot.restriction
    name = ""
    allowed: tuple[str, ...] | None = None
    if restriction is not None:
        name = uow.allowances.program(restriction.program_id).terms.name
        if restriction.allowed_categories is not None:
            allowed = tuple(sorted(restriction.allowed_categories))
    return AllowanceHolding(name, lot.remaining_won, lot.expires_at, allowed)


@dataclass(frozen=True)
class PurchaseOutlook:
    """What the purchase form shows before the citizen buys."""

    brand_name: str
    discount_rate_bp: int
    """Today's discount in basis points (0 in cashback mode)."""
    purchase_unit_won: int
    monthly_limit_won: int
    purchased_this_month_won: int
    discount_budget_open: bool
    """Whether this month's budget still covers the discount on one unit."""

    @property
    def remaining_this_month_won(self) -> int:
        return max(0, self.monthly_limit_won - self.purchased_this_month_won)


def purchase_outlook(
    uow: UnitOfWork, caller: Principal, *, wallet_id: int, now: datetime
) -> PurchaseOutlook:
    """A read: a month whose budget account does not exist yet (nobody funded or bought
    this month) has no budget open, and opening the page creates nothing."""
    now = require_aware(now)
    caller.citizen()
    day, month = seoul_day(now), seoul_month(now)
    with uow:
        wallet = visible_wallet(uow, caller, wallet_id, acting=True)
        program = uow.records.program(wallet.region_id, at=now)
        purchased = uow.records.purchased_face_won(wallet_id, months=[month])
        budget = uow.ledger.existing_account(wallet.region_id, AccountType.DISCOUNT_BUDGET, month)
        unit_bonus = program.discount_bonus_won(program.purchase_unit_won, day)
        budget_won = 0 if budget is None else uow.ledger.balance(budget.id)
        budget_open = budget_won >= unit_bonus > 0
    rate = 0 if program.bonus_mode is BonusMode.CASHBACK else program.rate_bp_on(day)
    return PurchaseOutlook(
        brand_name=program.brand_name,
        discount_rate_bp=rate,
        purchase_unit_won=program.purchase_unit_won,
        monthly_limit_won=program.monthly_purchase_limit_won,
        purchased_this_month_won=purchased,
        discount_budget_open=budget_open,
    )
