"""Double-entry bookkeeping: accounts, postings and balanced transactions.

Amounts are signed: a posting adds ``amount_won`` to its account's balance, and a transaction's
postings sum to zero, so the sum over all accounts is always zero. Accounts that hold value for
someone (wallets, merchant payables, budgets, breakage) may never go negative; accounts that
stand for the world outside (money from the city, from and to citizens' bank accounts) may.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from dongne.domain.errors import LedgerUnbalanced


class AccountType(StrEnum):
    WALLET = "wallet"
    """Voucher value a citizen holds in one region (sum of the wallet's lots)."""
    MERCHANT_PAYABLE = "merchant_payable"
    """What the region owes a merchant until settlement. A citizen may cancel a payment after
    the merchant was settled for it: when that is more than the merchant has taken since, the
    payable goes negative (the merchant owes it back) and the next settlements deduct it."""
    DISCOUNT_BUDGET = "discount_budget"
    """A month's bonus money: purchases' discounts and cashback are drawn from it."""
    BREAKAGE = "breakage"
    """Paid value of expired lots, kept by the city (낙전)."""
    CITY_FUNDING = "city_funding"
    """Money the city put into its budgets (external, goes negative)."""
    CITIZEN_BANK = "citizen_bank"
    """Citizens' linked bank accounts: purchases come from it, refunds go to it (external)."""
    ALLOWANCE_BUDGET = "allowance_budget"
    """One policy allowance program's money (owner: the program id): grants are drawn from
    it and unspent value comes back to it at expiry."""
    REWARDS_BUDGET = "rewards_budget"
    """The region's walking-reward money: points are drawn from it and expire back into it."""
    MERCHANT_BANK = "merchant_bank"
    """Merchants' bank accounts: settlement transfers go to it (external)."""
    SETTLEMENT_FEES = "settlement_fees"
    """Fees withheld from merchants' settlements by revenue tier (0% unless configured)."""
    PAPER_PRINTED = "paper_printed"
    """The face value of every paper voucher the region printed (a memo account, negative):
    the other paper memo accounts and the float sum with it to zero (domain.paper)."""
    PAPER_UNISSUED = "paper_unissued"
    """Printed paper vouchers in the city's vault, at face value (memo)."""
    PAPER_WITH_AGENTS = "paper_with_agents"
    """Paper vouchers issued to one sale agent (owner: the agent's partner id), unsold (memo)."""
    PAPER_SOLD = "paper_sold"
    """The face value of every paper voucher sold, spent or not (memo)."""
    PAPER_DESTROYED = "paper_destroyed"
    """Unsold or returned paper vouchers destroyed (memo)."""
    PAPER_CIRCULATION = "paper_circulation"
    """The float: face value of sold paper vouchers not yet redeemed or exchanged. Money the
    region owes the holders, as a wallet's balance is owed to its citizen."""

    @property
    def may_go_negative(self) -> bool:
        return self in _MAY_GO_NEGATIVE


_MAY_GO_NEGATIVE = frozenset(
    {
        AccountType.CITY_FUNDING,
        AccountType.CITIZEN_BANK,
        AccountType.MERCHANT_BANK,
        AccountType.MERCHANT_PAYABLE,
        AccountType.PAPER_PRINTED,
    }
)
"""The world outside (external accounts), and merchant payables, which are settled claims in
either direction."""

MERCHANT_BALANCE_SHARDS = 8
"""A popular merchant's payable is spread over this many balance rows, so parallel payments
to it don't queue on one row lock."""


def credited_shard(transaction_id: int, shard_count: int) -> int:
    """The balance row of a sharded account that a transaction's credit to it lands on (and
    that a payment's running takings follow: ``adapters/db/day_takings.py``)."""
    return transaction_id % shard_count


class TransactionKind(StrEnum):
    BUDGET_FUNDING = "budget_funding"
    PURCHASE = "purchase"
    PURCHASE_CANCELLATION = "purchase_cancellation"
    PAYMENT = "payment"
    PAYMENT_CANCELLATION = "payment_cancellation"
    GIFT = "gift"
    REFUND = "refund"
    EXPIRY = "expiry"
    ALLOWANCE_FUNDING = "allowance_funding"
    ALLOWANCE_GRANT = "allowance_grant"
    REWARDS_FUNDING = "rewards_funding"
    REWARD = "reward"
    SETTLEMENT = "settlement"
    PAPER_PRINTING = "paper_printing"
    PAPER_ISSUE = "paper_issue"
    PAPER_SALE = "paper_sale"
    PAPER_REDEMPTION = "paper_redemption"
    PAPER_EXCHANGE = "paper_exchange"
    PAPER_DESTRUCTION = "paper_destruction"


@dataclass(frozen=True)
class Posting:
    account_id: int
    amount_won: int


def balanced(postings: Iterable[Posting]) -> list[Posting]:
    """Merge postings per account, drop zeros, and refuse a set that does not sum to zero."""
    per_account: dict[int, int] = defaultdict(int)
    for posting in postings:
        per_account[posting.account_id] += posting.amount_won
    merged = [Posting(account, amount) for account, amount in per_account.items() if amount]
    total = sum(p.amount_won for p in merged)
    if total != 0:
        raise LedgerUnbalanced(f"postings sum to {total}, not zero", total_won=total)
    if not merged:
        raise LedgerUnbalanced("a transaction needs at least one non-zero posting", total_won=0)
    return merged
