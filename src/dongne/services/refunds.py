"""Balance refunds (잔액환불) and the expiry of lots."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from dongne.domain.calendar import require_aware, seoul_month
from dongne.domain.ledger import AccountType, Posting, TransactionKind
from dongne.domain.lots import Take, plan_refund, split_return, to_funders
from dongne.services.idempotency import Once, run_in_transaction
from dongne.services.purchases import wallet_account
from dongne.services.results import ExpiryResult, RefundResult
from dongne.services.unit_of_work import UnitOfWork


def refund_balance(
    uow: UnitOfWork, *, wallet_id: int, idempotency_key: str, now: datetime
) -> RefundResult:
    """Refund every purchased lot that is spent past the threshold: remaining × paid / face,
    rounded down, to the citizen's bank; the discount part back to this month's budget."""
    now = require_aware(now)

    def action() -> RefundResult:
        wallet = uow.records.wallet(wallet_id, lock=True)
        program = uow.records.program(wallet.region_id, at=now)
        returns = plan_refund(uow.records.wallet_lots(wallet_id), program.refund_threshold_bp, now)
        value = sum(r.amount_won for r in returns)
        refund = sum(r.to_citizen_won for r in returns)
        holder = wallet_account(wallet.account_id)
        citizen_bank = uow.ledger.account(wallet.region_id, AccountType.CITIZEN_BANK)
        budget = uow.ledger.account(wallet.region_id, AccountType.DISCOUNT_BUDGET, seoul_month(now))
        transaction_id = uow.ledger.post(
            region_id=wallet.region_id,
            kind=TransactionKind.REFUND,
            postings=[
                Posting(holder.id, -value),
                Posting(citizen_bank.id, refund),
                Posting(budget.id, value - refund),
            ],
            at=now,
            idempotency_key=idempotency_key,
            accounts_by_id={a.id: a for a in (holder, citizen_bank, budget)},
        )
        uow.records.move_lots(
            wallet.region_id, transaction_id, [Take(r.lot_id, -r.amount_won) for r in returns]
        )
        refund_id = uow.records.add_refund(
            region_id=wallet.region_id,
            wallet_id=wallet_id,
            value_won=value,
            refund_won=refund,
            refunded_at=now,
            transaction_id=transaction_id,
        )
        return RefundResult(refund_id, transaction_id, wallet_id, value, refund, value - refund)

    return run_in_transaction(
        uow,
        action,
        once=Once(
            operation="refund_balance",
            key=idempotency_key,
            request={"wallet_id": wallet_id},
            now=now,
            result_type=RefundResult,
        ),
    )


def expire_lots(
    uow: UnitOfWork, *, region_id: int, idempotency_key: str, now: datetime, limit: int = 10_000
) -> ExpiryResult:
    """Empty up to ``limit`` lots of the region whose validity ended, in one transaction: the
    paid share goes to breakage (the city keeps it), the bonus share back to the budget."""
    now = require_aware(now)

    def action() -> ExpiryResult:
        expired = uow.records.expired_lots(region_id, now, limit)
        if not expired:
            return ExpiryResult(None, 0, 0, 0, 0)
        returns = [(wallet_id, split_return(lot, lot.remaining_won)) for wallet_id, lot in expired]
        per_wallet: dict[int, int] = defaultdict(int)
        for wallet_id, returned in returns:
            per_wallet[wallet_id] += returned.amount_won
        holders = {
            w: wallet_account(uow.records.wallet(w, lock=True).account_id)
            for w in sorted(per_wallet)
        }
        breakage = uow.ledger.account(region_id, AccountType.BREAKAGE)
        funders = uow.ledger.funders(region_id, seoul_month(now), to_funders(r for _, r in returns))
        to_breakage = sum(r.to_citizen_won for _, r in returns)
        to_budget = sum(amount for _, amount in funders)
        postings = [Posting(holders[w].id, -value) for w, value in per_wallet.items()]
        postings.append(Posting(breakage.id, to_breakage))
        postings += [Posting(funder.id, amount) for funder, amount in funders]
        accounts = {a.id: a for a in (*holders.values(), breakage, *(f for f, _ in funders))}
        transaction_id = uow.ledger.post(
            region_id=region_id,
            kind=TransactionKind.EXPIRY,
            postings=postings,
            at=now,
            idempotency_key=idempotency_key,
            accounts_by_id=accounts,
        )
        uow.records.move_lots(
            region_id, transaction_id, [Take(r.lot_id, -r.amount_won) for _, r in returns]
        )
        return ExpiryResult(
            transaction_id, len(returns), to_breakage + to_budget, to_breakage, to_budget
        )

    return run_in_transaction(
        uow,
        action,
        once=Once(
            operation="expire_lots",
            key=idempotency_key,
            request={"region_id": region_id, "at": now.isoformat(), "limit": limit},
            now=now,
            result_type=ExpiryResult,
        ),
    )
