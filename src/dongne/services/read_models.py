"""Read models: balances, histories, region summaries, the ledger's own health check and what
the approval page shows about a payment intent. Their SQL lives in ``adapters/db`` behind the
unit of work's query objects; nothing here changes state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from dongne.domain.calendar import require_aware
from dongne.domain.lots import LotKind
from dongne.domain.payment_intents import status_at
from dongne.services.paper_reports import paper_problems
from dongne.services.ports import HistoryLine
from dongne.services.unit_of_work import UnitOfWork

__all__ = [
    "HistoryLine",
    "IntentPage",
    "WalletBalance",
    "account_totals",
    "intent_page",
    "ledger_problems",
    "region_counts",
    "wallet_balance",
    "wallet_history",
]


@dataclass(frozen=True)
class WalletBalance:
    wallet_id: int
    region_id: int
    balance_won: int
    """The wallet account's balance: one indexed read."""
    usable_won: int
    """Value in lots that have not expired yet (expired lots wait for the expiry job)."""
    by_kind_won: dict[str, int] = field(default_factory=dict)


def wallet_balance(uow: UnitOfWork, *, wallet_id: int, now: datetime) -> WalletBalance:
    now = require_aware(now)
    with uow:
        wallet = uow.records.wallet(wallet_id)
        balance = uow.ledger.balance(wallet.account_id)
        by_kind = {kind.value: 0 for kind in LotKind}
        usable = 0
        for lot in uow.records.wallet_lots(wallet_id):
            by_kind[lot.kind.value] += lot.remaining_won
            usable += lot.remaining_won if lot.is_live(now) else 0
        return WalletBalance(wallet_id, wallet.region_id, balance, usable, by_kind)


def wallet_history(uow: UnitOfWork, *, wallet_id: int, limit: int = 50) -> list[HistoryLine]:
    """The wallet's ledger entries, newest first."""
    with uow:
        wallet = uow.records.wallet(wallet_id)
        return uow.ledger_queries.history(wallet.account_id, limit=limit)


def account_totals(uow: UnitOfWork, *, region_id: int) -> dict[str, int]:
    """Balance per account type in a region; they sum to zero."""
    with uow:
        return uow.ledger_queries.account_totals(region_id)


def region_counts(uow: UnitOfWork, *, region_id: int) -> dict[str, int]:
    with uow:
        return uow.ledger_queries.region_counts(region_id)


def ledger_problems(uow: UnitOfWork, *, region_id: int | None = None) -> list[str]:
    """Every way the stored ledger breaks its invariants; empty when it is sound.

    Checks: each transaction sums to zero; all balances sum to zero; each stored balance equals
    the sum of its account's entries; no non-negative account, lot or balance row is negative;
    each lot's remaining value equals the sum of its movements; each wallet's balance equals
    the value of its lots; paper vouchers' stock by state equals what was printed and what
    the paper accounts hold (``paper_reports.paper_problems``).
    """
    with uow:
        return uow.ledger_queries.problems(region_id) + paper_problems(uow, region_id)


@dataclass(frozen=True)
class IntentPage:
    """What the approval page shows about a payment intent."""

    id: int
    merchant_name: str
    amount_won: int
    order_reference: str
    return_url: str
    status: str


def intent_page(uow: UnitOfWork, intent_id: int, now: datetime) -> IntentPage:
    """Raises ``PaymentIntentNotFound`` for an unknown id. The status is as of ``now``."""
    with uow:
        intent = uow.intents.intent(intent_id)
        merchant = uow.records.merchant(intent.merchant_id).merchant
    return IntentPage(
        intent.id,
        merchant.name,
        intent.amount_won,
        intent.order_reference,
        intent.return_url,
        status_at(intent.status, intent.expires_at, now),
    )
