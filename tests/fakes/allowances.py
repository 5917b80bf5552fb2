"""An in-memory ``AllowanceStore``: what creating a program, uploading its list, disbursing
it, claiming pending grants and expiring it call, over the same ``FakeState`` as the ledger and
the holdings, so their transactions, lots and balances are the ones the other fakes see.

What the database refuses is refused here too: a second grant of a program to one person (its
UNIQUE index), a lot outside ``0..face``, a debit of a non-negative account below zero. The
set-wise ``post_batches`` checks the debits it is told to check as the real one does, raising
``BatchDebitRefused``. Left out (no service on the fake calls them yet): the report's queries
(``account_flows``, ``grant_totals``, ``spent_by_category``, ``expired_from_lots_won``),
``programs`` and an upload's ``rows``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from dongne.adapters.db.allowance_batches import (
    AllowanceGrants,
    AllowanceLots,
    BatchDebitRefused,
    ExpiringLot,
)
from dongne.adapters.db.allowance_records import PendingGrant, Upload, WalletRef
from dongne.adapters.db.disbursement_records import LAST_ROW, PayableRow
from dongne.adapters.db.holding_rows import restriction_from_json
from dongne.adapters.db.lot_expiry import LAST_LOT_ID, ExpiredChunk
from dongne.domain.allowances import (
    PAYABLE,
    AllowanceProgram,
    AllowanceTerms,
    Preview,
    RowStatus,
    program_not_found,
    upload_not_found,
)
from dongne.domain.ledger import Posting, TransactionKind, balanced
from dongne.domain.lots import Lot, LotKind
from tests.fakes.state import (
    EntryRow,
    FakeConstraintViolated,
    FakeState,
    GrantRow,
    LotRow,
    MovementRow,
    TransactionRow,
)


class FakeAllowanceRecords:
    def __init__(self, state: FakeState):
        self._state = state

    # -- programs ---------------------------------------------------------------------------

    def add_program(self, region_id: int, terms: AllowanceTerms, at: datetime) -> int:
        """The program; its accounts are named after its id, so ``set_program_accounts`` sets
        them next, in the same transaction (0 until then, where the real row has NULL)."""
        program_id = self._state.next_id("allowance_programs")
        self._state.allowance_programs[program_id] = AllowanceProgram(
            program_id, region_id, terms, 0, 0
        )
        return program_id

    def set_program_accounts(self, program_id: int, budget: int, pending: int) -> None:
        program = self._state.allowance_programs[program_id]
        self._state.allowance_programs[program_id] = replace(
            program, budget_account_id=budget, pending_account_id=pending
        )

    def program(
        self, program_id: int, *, lock: bool = False, shared: bool = False
    ) -> AllowanceProgram:
        program = self._state.allowance_programs.get(program_id)
        if program is None:
            raise program_not_found(program_id)
        return program

    # -- uploads ----------------------------------------------------------------------------

    def add_upload(
        self,
        region_id: int,
        program_id: int,
        filename: str,
        preview: Preview,
        at: datetime,
        *,
        wallets: Mapping[str, int] | None = None,
    ) -> int:
        upload_id = self._state.next_id("recipient_uploads")
        self._state.uploads[upload_id] = Upload(
            id=upload_id,
            region_id=region_id,
            program_id=program_id,
            filename=filename[:200],
            uploaded_at=at,
            counts={status.value: preview.counts[status.value] for status in RowStatus},
            total_won=preview.total_won,
            status="previewed",
            next_row=0,
            paid_count=0,
            pending_count=0,
            skipped_count=0,
            paid_won=0,
            started_at=None,
            finished_at=None,
        )
        self._state.recipient_rows[upload_id] = sorted(preview.rows, key=lambda r: r.row_number)
        return upload_id

    def upload(self, upload_id: int, *, lock: bool = False) -> Upload:
        upload = self._state.uploads.get(upload_id)
        if upload is None:
            raise upload_not_found(upload_id)
        return upload

    def uploads(self, program_id: int, limit: int) -> list[Upload]:
        mine = [u for u in self._state.uploads.values() if u.program_id == program_id]
        return sorted(mine, key=lambda u: u.id, reverse=True)[:limit]

    def payable_rows(
        self, upload: Upload, after_row: int, limit: int, through_row: int = LAST_ROW
    ) -> list[PayableRow]:
        granted = self._granted_identities(upload.program_id)
        rows = [row for row in self._payable(upload.id, after_row) if row.row_number <= through_row]
        return [row._replace(granted=row.identity_hmac in granted) for row in rows[:limit]]

    def payable_chunk_ends(self, upload: Upload, chunk_size: int) -> list[int]:
        rows = self._payable(upload.id, upload.next_row)
        return [row.row_number for row in rows[chunk_size - 1 :: chunk_size]]

    def still_to_pay(self, upload: Upload) -> tuple[int, int]:
        granted = self._granted_identities(upload.program_id)
        rows = [
            row
            for row in self._payable(upload.id, upload.next_row)
            if row.identity_hmac not in granted
        ]
        return len(rows), sum(row.amount_won for row in rows)

    def mark_started(self, upload_id: int, at: datetime) -> None:
        upload = self._state.uploads[upload_id]
        if upload.started_at is None:
            self._state.uploads[upload_id] = replace(upload, status="disbursing", started_at=at)

    def advance(
        self,
        upload_id: int,
        *,
        from_row: int,
        next_row: int,
        paid: int,
        pending: int,
        skipped: int,
        won: int,
    ) -> bool:
        upload = self._state.uploads[upload_id]
        if upload.next_row != from_row:
            return False
        self._state.uploads[upload_id] = replace(
            upload,
            next_row=next_row,
            paid_count=upload.paid_count + paid,
            pending_count=upload.pending_count + pending,
            skipped_count=upload.skipped_count + skipped,
            paid_won=upload.paid_won + won,
        )
        return True

    def mark_finished(self, upload_id: int, at: datetime) -> None:
        upload = self._state.uploads[upload_id]
        self._state.uploads[upload_id] = replace(upload, status="disbursed", finished_at=at)

    # -- people and wallets -----------------------------------------------------------------

    def wallets_of(self, region_id: int, identities: Sequence[str]) -> dict[str, WalletRef]:
        citizens = {
            record.user.citizen_id: record.identity_hmac
            for record in self._state.users.values()
            if record.identity_hmac in identities and record.user.citizen_id is not None
        }
        return {
            identity: WalletRef(wallet.id, wallet.account_id)
            for wallet in self._state.wallets.values()
            if wallet.region_id == region_id
            and (identity := citizens.get(wallet.citizen_id)) is not None
        }

    def preview_matches(
        self, region_id: int, program_id: int, identities: Collection[str]
    ) -> tuple[dict[str, int], set[str]]:
        listed = list(identities)
        wallets = self.wallets_of(region_id, listed)
        return {identity: ref.wallet_id for identity, ref in wallets.items()}, self.granted(
            program_id, listed
        )

    def hold_chunk(self, upload_id: int, chunk: int) -> None:
        """Chunks are paid one at a time here: nobody waits for this one."""

    def await_chunk(self, upload_id: int, chunk: int) -> None:
        """Chunks are paid one at a time here: the one before has ended."""

    def writing_grants(self, region_id: int) -> None:
        """One writer at a time here: a wallet's opening never runs beside a chunk."""

    def await_grants_written(self, region_id: int) -> None:
        """One writer at a time here: no chunk is running."""

    def identity_of_citizen(self, citizen_id: int) -> str | None:
        for record in self._state.users.values():
            if record.user.citizen_id == citizen_id:
                return record.identity_hmac
        return None

    # -- grants -----------------------------------------------------------------------------

    def granted(self, program_id: int, identities: Sequence[str]) -> set[str]:
        return self._granted_identities(program_id) & set(identities)

    def add_grants(self, batch: AllowanceGrants) -> None:
        for row_number, identity, amount, wallet_id, lot_id in batch.people:
            grant = GrantRow(
                id=self._state.next_id("allowance_grants"),
                region_id=batch.region_id,
                program_id=batch.program_id,
                identity_hmac=identity,
                upload_id=batch.upload_id,
                row_number=row_number,
                amount_won=amount,
                status="pending" if lot_id is None else "granted",
                wallet_id=wallet_id,
                lot_id=lot_id,
                transaction_id=batch.transaction_id,
                granted_at=batch.granted_at,
                settled_transaction_id=None,
                settled_at=None,
            )
            if grant.identity_hmac in self._granted_identities(grant.program_id):
                raise FakeConstraintViolated(
                    f"program {grant.program_id} already granted {grant.identity_hmac}"
                )
            if lot_id is not None and self._state.lots[lot_id].wallet_id != wallet_id:
                raise FakeConstraintViolated(f"lot {lot_id} is not in wallet {wallet_id}")
            self._state.grants[grant.id] = grant

    def pending_grants(self, region_id: int, identity_hmac: str) -> list[PendingGrant]:
        return [
            PendingGrant(grant.id, grant.program_id, grant.amount_won)
            for grant in sorted(self._state.grants.values(), key=lambda g: g.id)
            if (grant.identity_hmac, grant.status, grant.region_id)
            == (identity_hmac, "pending", region_id)
        ]

    def stranded_grant_holders(self, limit: int) -> list[tuple[int, int]]:
        citizens = {
            record.identity_hmac: record.user.citizen_id
            for record in self._state.users.values()
            if record.identity_hmac is not None and record.user.citizen_id is not None
        }
        wallets = {(w.citizen_id, w.region_id) for w in self._state.wallets.values()}
        found = {
            (citizen_id, grant.region_id)
            for grant in self._state.grants.values()
            if grant.status == "pending"
            and (citizen_id := citizens.get(grant.identity_hmac)) is not None
            and (citizen_id, grant.region_id) in wallets
        }
        return sorted(found)[:limit]

    def settle_grant(
        self,
        grant_id: int,
        *,
        status: str,
        transaction_id: int,
        at: datetime,
        wallet_id: int | None = None,
        lot_id: int | None = None,
    ) -> None:
        self._state.grants[grant_id] = replace(
            self._state.grants[grant_id],
            status=status,
            wallet_id=wallet_id,
            lot_id=lot_id,
            settled_transaction_id=transaction_id,
            settled_at=at,
        )

    def unclaimed_won(self, program_id: int) -> int:
        return sum(grant.amount_won for grant in self._pending(program_id))

    def close_pending(self, program_id: int, transaction_id: int, at: datetime) -> int:
        closed = self._pending(program_id)
        for grant in closed:
            self._state.grants[grant.id] = replace(
                grant, status="unclaimed", settled_transaction_id=transaction_id, settled_at=at
            )
        return len(closed)

    # -- lots -------------------------------------------------------------------------------

    def add_lots(self, batch: AllowanceLots) -> list[int]:
        """Allowance lots, each opening at its face with no movement row."""
        return [
            self._add_lot(
                region_id=batch.region_id,
                wallet_id=wallet_id,
                kind=LotKind.ALLOWANCE.value,
                face_won=face,
                paid_won=0,
                remaining_won=face,
                acquired_at=batch.acquired_at,
                expires_at=batch.expires_at,
                source_transaction_id=batch.transaction_id,
                restriction=batch.restriction,
                funder_account_id=batch.funder_account_id,
            )
            for wallet_id, face in batch.faces
        ]

    def expire_lots(
        self,
        *,
        region_id: int,
        funder_account_id: int,
        now: datetime,
        after_lot_id: int,
        through_lot_id: int = LAST_LOT_ID,
        limit: int,
    ) -> ExpiredChunk:
        """The chunk's lots emptied into their funder in one EXPIRY transaction, as the
        database does (nothing runs beside a test, so one read is under the wallets' locks)."""
        lots = [
            lot
            for lot in self._expiring_lots(funder_account_id, now, after_lot_id, limit)
            if lot.lot_id <= through_lot_id
        ]
        if not lots:
            return ExpiredChunk(0, 0, None)
        total = sum(lot.remaining_won for lot in lots)
        (transaction_id,) = self.post_batches(
            region_id=region_id,
            kind=TransactionKind.EXPIRY,
            groups=[
                [Posting(lot.account_id, -lot.remaining_won) for lot in lots]
                + [Posting(funder_account_id, total)]
            ],
            at=now,
            debit_checked={lot.account_id for lot in lots},
        )
        self._take_from_lots(
            region_id, transaction_id, [(lot.lot_id, lot.remaining_won) for lot in lots]
        )
        return ExpiredChunk(len(lots), total, lots[-1].lot_id)

    def _expiring_lots(
        self, funder_account_id: int, now: datetime, after_lot_id: int, limit: int
    ) -> list[ExpiringLot]:
        rows = sorted(
            (
                row
                for row in self._state.lots.values()
                if row.lot.funder_account_id == funder_account_id
                and row.lot.kind is LotKind.ALLOWANCE
                and row.lot.id > after_lot_id
                and row.lot.remaining_won > 0
                and row.lot.expires_at <= now
            ),
            key=lambda row: row.lot.id,
        )
        return [
            ExpiringLot(
                row.lot.id,
                row.wallet_id,
                self._state.wallets[row.wallet_id].account_id,
                row.lot.remaining_won,
            )
            for row in rows[:limit]
        ]

    def _take_from_lots(
        self, region_id: int, transaction_id: int, taken: Sequence[tuple[int, int]]
    ) -> None:
        """Take (lot id, amount) from each lot in ``transaction_id`` and record the movements."""
        for lot_id, amount_won in taken:
            row = self._state.lots[lot_id]
            remaining = row.lot.remaining_won - amount_won
            if not 0 <= remaining <= row.lot.face_won:
                raise FakeConstraintViolated(f"lot {lot_id} would hold {remaining}")
            self._state.lots[lot_id] = replace(row, lot=replace(row.lot, remaining_won=remaining))
            self._state.lot_movements.append(
                MovementRow(region_id, transaction_id, lot_id, -amount_won)
            )

    # -- the ledger, in sets ----------------------------------------------------------------

    def post_batches(
        self,
        *,
        region_id: int,
        kind: TransactionKind,
        groups: Sequence[Iterable[Posting]],
        at: datetime,
        debit_checked: frozenset[int] | set[int],
        idempotency_key: str | None = None,
        settle_later: frozenset[int] = frozenset(),
    ) -> list[int]:
        """One balanced transaction per group; a debit of an account in ``debit_checked``
        happens only if covered, else ``BatchDebitRefused`` (the unit of work rolls back).
        The balances of ``settle_later`` move only by ``move_balances``."""
        ids = []
        moved: list[Posting] = []
        for group in groups:
            transaction_id = self._state.next_id("ledger_transactions")
            self._state.transactions[transaction_id] = TransactionRow(
                transaction_id, region_id, kind.value, at, None
            )
            for posting in balanced(group):
                self._state.entries.append(
                    EntryRow(transaction_id, posting.account_id, posting.amount_won)
                )
                if posting.account_id not in settle_later:
                    moved.append(posting)
            ids.append(transaction_id)
        self.move_balances(moved, debit_checked)
        return ids

    def move_balances(
        self, postings: Iterable[Posting], debit_checked: frozenset[int] | set[int]
    ) -> None:
        totals: dict[int, int] = {}
        for posting in postings:
            totals[posting.account_id] = totals.get(posting.account_id, 0) + posting.amount_won
        for account_id, amount_won in sorted(totals.items()):
            self._move_balance(account_id, amount_won, checked=account_id in debit_checked)

    # -- helpers ----------------------------------------------------------------------------

    def _move_balance(self, account_id: int, amount_won: int, *, checked: bool) -> None:
        account = self._state.accounts.get(account_id)
        if account is None:
            raise FakeConstraintViolated(f"no account {account_id}")
        balance = self._state.balances[account_id] + amount_won
        if amount_won < 0 and checked and balance < 0:
            raise BatchDebitRefused(account_id)
        if balance < 0 and not account.type.may_go_negative:
            raise FakeConstraintViolated(f"account {account_id} would hold {balance}")
        self._state.balances[account_id] = balance

    def _add_lot(
        self,
        *,
        region_id: int,
        wallet_id: int,
        kind: str,
        face_won: int,
        paid_won: int,
        remaining_won: int,
        acquired_at: datetime,
        expires_at: datetime,
        source_transaction_id: int,
        restriction: dict[str, Any] | None,
        funder_account_id: int | None,
    ) -> int:
        if face_won <= 0 or not 0 <= paid_won <= face_won or not 0 <= remaining_won <= face_won:
            raise FakeConstraintViolated(f"a lot of face {face_won} cannot hold {remaining_won}")
        if wallet_id not in self._state.wallets:
            raise FakeConstraintViolated(f"no wallet {wallet_id}")
        lot_id = self._state.next_id("lots")
        lot = Lot(
            lot_id,
            LotKind(kind),
            face_won,
            paid_won,
            remaining_won,
            acquired_at,
            expires_at,
            restriction_from_json(restriction),
            funder_account_id,
        )
        self._state.lots[lot_id] = LotRow(lot, wallet_id, region_id, source_transaction_id)
        return lot_id

    def _payable(self, upload_id: int, after_row: int) -> list[PayableRow]:
        """The upload's payable rows after ``after_row``, in order (a payable row always has an
        identity), not yet flagged as granted."""
        return [
            PayableRow(row.row_number, row.identity_hmac, row.amount_won)
            for row in self._state.recipient_rows[upload_id]
            if row.row_number > after_row and row.status in PAYABLE and row.identity_hmac
        ]

    def _granted_identities(self, program_id: int) -> set[str]:
        return {
            grant.identity_hmac
            for grant in self._state.grants.values()
            if grant.program_id == program_id
        }

    def _pending(self, program_id: int) -> list[GrantRow]:
        return [
            grant
            for grant in self._state.grants.values()
            if grant.program_id == program_id and grant.status == "pending"
        ]
