"""A region seeded in the fake unit of work, and the ledger's invariants checked over it.

``FakeWorld`` writes what the set-up services write (a region and its program, citizens with
wallets, merchants, a funded budget) straight through the fake stores, so a test's set-up is
a line each; allowance grants go through the real allowance services, which run on the fake.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dongne.adapters.db.ledger_store import AccountRef
from dongne.domain.access import Principal, UserKind
from dongne.domain.allowances import AllowanceProgram, AllowanceTerms, RecipientRow
from dongne.domain.calendar import seoul_month
from dongne.domain.ledger import AccountType, Posting, TransactionKind
from dongne.domain.lots import Lot, LotKind
from dongne.domain.merchants import Merchant, MerchantStatus
from dongne.domain.program import VoucherProgram
from dongne.services import allowance_uploads, allowances
from dongne.services.allowance_disbursement import disburse
from tests.fakes.state import FakeState
from tests.fakes.unit_of_work import FakeUnitOfWork

_serial = itertools.count(1)
PLATFORM_OPERATOR = Principal(UserKind.OPERATOR, user_id=1)
"""Who creates, lists and disburses the allowance programs a world grants."""


@dataclass
class FakeWorld:
    """One region with its voucher program in ``uow``, and helpers to add to it."""

    now: datetime
    program: VoucherProgram = field(default_factory=lambda: VoucherProgram(brand_name="시루"))
    uow: FakeUnitOfWork = field(default_factory=FakeUnitOfWork)
    region_id: int = 0

    def __post_init__(self) -> None:
        self.region_id = self.region(self.program)

    def region(self, program: VoucherProgram) -> int:
        serial = next(_serial)
        with self.uow:
            region = self.uow.records.add_region(f"r{serial}", f"구역{serial}", self.now)
            self.uow.records.add_program(region.id, program, self.now)
            self.uow.commit()
        return region.id

    def citizen(self, *, resident: bool = True, region_id: int | None = None) -> int:
        """A citizen with a wallet (here, unless ``region_id``); returns the wallet id."""
        serial = next(_serial)
        region_id = region_id or self.region_id
        with self.uow:
            citizen_id = self.uow.records.add_citizen(
                f"시민{serial}", f"010{serial:08d}", region_id if resident else None, self.now
            )
            account = self.uow.ledger.account(
                region_id, AccountType.WALLET, f"citizen-{citizen_id}"
            )
            wallet_id = self.uow.records.add_wallet(citizen_id, region_id, account.id, self.now)
            self.uow.commit()
        return wallet_id

    def merchant(
        self,
        *,
        category: str = "bakery",
        annual_revenue_won: int = 100_000_000,
        region_id: int | None = None,
        status: MerchantStatus = MerchantStatus.ACTIVE,
    ) -> int:
        serial = next(_serial)
        region_id = region_id or self.region_id
        with self.uow:
            payable = self.uow.ledger.account(
                region_id, AccountType.MERCHANT_PAYABLE, f"{serial:010d}.0"
            )
            merchant = Merchant(
                0,
                region_id,
                f"가게{serial}",
                f"{serial:010d}",
                category,
                annual_revenue_won,
                status,
            )
            merchant_id = self.uow.records.add_merchant(merchant, payable.id, self.now)
            self.uow.commit()
        return merchant_id

    def fund(self, amount_won: int, *, month: str | None = None) -> None:
        """City money into a month's discount budget (this month by default)."""
        self._fund(self.budget(month), amount_won)

    def budget(self, month: str | None = None) -> AccountRef:
        return self._account(AccountType.DISCOUNT_BUDGET, month or seoul_month(self.now))

    def grant_allowance(
        self,
        wallet_id: int,
        amount_won: int,
        *,
        allowed_categories: frozenset[str] | None = None,
        denied_categories: frozenset[str] = frozenset(),
        valid_days: int = 90,
    ) -> AllowanceProgram:
        """A program paying ``amount_won``, funded with exactly that and disbursed to this
        wallet's citizen alone, through the real services (``create_program``,
        ``upload_recipients``, ``disburse``): the wallet gets an allowance lot restricted as
        the program says, which gives back to the program's budget whatever of it expires."""
        terms = AllowanceTerms(
            "청년 지원금",
            amount_won,
            self.now - timedelta(days=1),
            self.now + timedelta(days=valid_days),
            allowed_categories,
            denied_categories,
        )
        created = allowances.create_program(
            self.uow,
            PLATFORM_OPERATOR,
            region_id=self.region_id,
            terms=terms,
            budget_won=amount_won,
            idempotency_key=f"allowance-{next(_serial)}",
            now=self.now,
        )
        recipient = RecipientRow(1, self._identity(wallet_id), "수급자", "01000000000", None)
        listed = allowance_uploads.upload_recipients(
            self.uow,
            PLATFORM_OPERATOR,
            program_id=created.program_id,
            filename="list.csv",
            rows=[recipient],
            now=self.now,
        )
        disburse(self.uow, PLATFORM_OPERATOR, upload_id=listed.upload_id, now=self.now)
        return allowances.get_program(self.uow, PLATFORM_OPERATOR, program_id=created.program_id)

    def reward_points(self, wallet_id: int, points_won: int, *, valid_days: int = 30) -> int:
        """What a walking reward writes (``walking._grant``): the region's rewards budget,
        funded by the city, pays a REWARD into the wallet as a points lot; returns its id."""
        budget = self._account(AccountType.REWARDS_BUDGET)
        self._fund(budget, points_won)
        return self._pay_into_lot(
            wallet_id,
            budget,
            points_won,
            kind=LotKind.REWARD,
            transaction_kind=TransactionKind.REWARD,
            expires_at=self.now + timedelta(days=valid_days),
        )

    # -- reading what was committed ---------------------------------------------------------

    def balance(self, account: AccountRef | int) -> int:
        account_id = account if isinstance(account, int) else account.id
        return self.uow.committed.balances.get(account_id, 0)

    def wallet_balance(self, wallet_id: int) -> int:
        return self.balance(self.uow.committed.wallets[wallet_id].account_id)

    def lots(self, wallet_id: int) -> list[Lot]:
        return [row.lot for row in self.uow.committed.lots.values() if row.wallet_id == wallet_id]

    def lot(self, lot_id: int) -> Lot:
        return self.uow.committed.lots[lot_id].lot

    def payable(self, merchant_id: int) -> int:
        return self.balance(self.uow.committed.merchants[merchant_id].account_id)

    def account_balance(self, account_type: AccountType, owner: object = None) -> int:
        key = account_type.value if owner is None else f"{account_type.value}:{owner}"
        account_id = self.uow.committed.account_ids.get((self.region_id, key))
        return 0 if account_id is None else self.balance(account_id)

    # -- helpers ----------------------------------------------------------------------------

    def _identity(self, wallet_id: int) -> str:
        """The identity HMAC of the wallet's citizen, as sign-up records it on their user row
        (made here if they have none): what a recipient list matches people by."""
        citizen_id = self.uow.committed.wallets[wallet_id].citizen_id
        for record in self.uow.committed.users.values():
            if record.user.citizen_id == citizen_id and record.identity_hmac is not None:
                return record.identity_hmac
        identity = hashlib.sha256(f"citizen-{citizen_id}".encode()).hexdigest()
        with self.uow:
            self.uow.access.add_user(
                kind=UserKind.CITIZEN.value,
                login=self.uow.committed.citizens[citizen_id].phone,
                password_hash="not a hash: nobody logs in here",  # noqa: S106
                created_at=self.now,
                citizen_id=citizen_id,
                identity_hmac=identity,
            )
            self.uow.commit()
        return identity

    def _account(self, account_type: AccountType, owner: object = None) -> AccountRef:
        with self.uow:
            account = self.uow.ledger.account(self.region_id, account_type, owner)
            self.uow.commit()
        return account

    def _pay_into_lot(
        self,
        wallet_id: int,
        budget: AccountRef,
        amount_won: int,
        *,
        kind: LotKind,
        transaction_kind: TransactionKind,
        expires_at: datetime,
    ) -> int:
        with self.uow:
            holder = self.uow.ledger.account_by_id(self.uow.records.wallet(wallet_id).account_id)
            transaction_id = self.uow.ledger.post(
                region_id=self.region_id,
                kind=transaction_kind,
                postings=[Posting(budget.id, -amount_won), Posting(holder.id, amount_won)],
                at=self.now,
                idempotency_key=None,
                accounts_by_id={budget.id: budget, holder.id: holder},
            )
            lot_id = self.uow.records.add_lot(
                region_id=self.region_id,
                wallet_id=wallet_id,
                kind=kind,
                face_won=amount_won,
                paid_won=0,
                acquired_at=self.now,
                expires_at=expires_at,
                transaction_id=transaction_id,
                funder_account_id=budget.id,
            )
            self.uow.commit()
        return lot_id

    def _fund(self, account: AccountRef, amount_won: int) -> None:
        with self.uow:
            city = self.uow.ledger.account(self.region_id, AccountType.CITY_FUNDING)
            self.uow.ledger.post(
                region_id=self.region_id,
                kind=TransactionKind.BUDGET_FUNDING,
                postings=[Posting(account.id, amount_won), Posting(city.id, -amount_won)],
                at=self.now,
                idempotency_key=None,
                accounts_by_id={account.id: account, city.id: city},
            )
            self.uow.commit()


def assert_money_is_conserved(state: FakeState) -> None:
    """What the database guarantees and every test here re-checks: each transaction's entries
    sum to zero, each balance is the sum of its account's entries and is not below zero unless
    its type may go negative, each lot is the sum of its movements within its face (an
    allowance lot opens at its face with no movement), and each wallet holds exactly what its
    lots hold."""
    per_transaction: dict[int, int] = defaultdict(int)
    per_account: dict[int, int] = defaultdict(int)
    for entry in state.entries:
        assert entry.amount_won != 0
        per_transaction[entry.transaction_id] += entry.amount_won
        per_account[entry.account_id] += entry.amount_won
    assert set(per_transaction) == set(state.transactions)
    assert all(total == 0 for total in per_transaction.values()), per_transaction
    for account_id, account in state.accounts.items():
        balance = state.balances[account_id]
        assert balance == per_account.get(account_id, 0), account
        assert balance >= 0 or account.type.may_go_negative, account
    per_lot: dict[int, int] = defaultdict(int)
    for movement in state.lot_movements:
        per_lot[movement.lot_id] += movement.amount_won
    per_wallet: dict[int, int] = defaultdict(int)
    for lot_id, row in state.lots.items():
        opening = row.lot.face_won if row.lot.kind is LotKind.ALLOWANCE else 0
        assert 0 <= row.lot.remaining_won <= row.lot.face_won
        assert row.lot.remaining_won == opening + per_lot[lot_id], row.lot
        per_wallet[row.wallet_id] += row.lot.remaining_won
    for wallet in state.wallets.values():
        assert state.balances[wallet.account_id] == per_wallet.get(wallet.id, 0), wallet
