"""Records of policy allowance programs: programs, uploads and their rows, people, grants."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, Connection, any_, func, select, update
from sqlalchemy.dialects import postgresql

from dongne.adapters.db.access_tables import users
from dongne.adapters.db.allowance_preview_records import AllowancePreviewRecords
from dongne.adapters.db.allowance_report_records import AllowanceReportRecords
from dongne.adapters.db.allowance_tables import (
    allowance_grants,
    allowance_programs,
    recipient_rows,
    recipient_uploads,
)
from dongne.adapters.db.bulk_writes import joined
from dongne.adapters.db.disbursement_records import DisbursementRecords
from dongne.adapters.db.grant_chunks import GrantChunkRecords
from dongne.adapters.db.lot_expiry import LotExpiryRecords
from dongne.adapters.db.tables import (
    wallets,
)
from dongne.domain.allowances import (
    AllowanceProgram,
    AllowanceTerms,
    Preview,
    RowStatus,
    program_not_found,
    upload_not_found,
)

_IDS = postgresql.ARRAY(BigInteger)


@dataclass(frozen=True)
class Upload:
    id: int
    region_id: int
    program_id: int
    filename: str
    uploaded_at: datetime
    counts: dict[str, int]
    total_won: int
    status: str
    next_row: int
    paid_count: int
    pending_count: int
    skipped_count: int
    paid_won: int
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def people_total(self) -> int:
        """Everyone the list pays: into a wallet, or as a grant pending their sign-up."""
        return self.counts["matched"] + self.counts["unmatched"]

    @property
    def people_done(self) -> int:
        return self.paid_count + self.pending_count + self.skipped_count


class WalletRef(NamedTuple):
    wallet_id: int
    account_id: int


@dataclass(frozen=True)
class PendingGrant:
    grant_id: int
    program_id: int
    amount_won: int


class AllowanceRecords(
    DisbursementRecords,
    GrantChunkRecords,
    LotExpiryRecords,
    AllowancePreviewRecords,
    AllowanceReportRecords,
):
    """Programs, uploads and their rows, people and grants; an upload's progress through its
    disbursement in ``DisbursementRecords``, a chunk paid on the server in
    ``GrantChunkRecords``, the set-wise writes of ``AllowanceBatchRecords``,
    the expiry of ``LotExpiryRecords``, the preview's matching and rows of
    ``AllowancePreviewRecords`` and the report queries of ``AllowanceReportRecords``."""

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)

    # -- programs ---------------------------------------------------------------------------

    def add_program(self, region_id: int, terms: AllowanceTerms, at: datetime) -> int:
        """The program's row; its accounts are named after its id, so they are set next."""
        allowed = terms.allowed_categories
        return self._insert(
            allowance_programs,
            region_id=region_id,
            name=terms.name,
            amount_per_recipient_won=terms.amount_per_recipient_won,
            allowed_categories=None if allowed is None else sorted(allowed),
            denied_categories=sorted(terms.denied_categories),
            usable_above_revenue_cap=terms.usable_above_revenue_cap,
            valid_from=terms.valid_from,
            valid_until=terms.valid_until,
            budget_account_id=None,
            pending_account_id=None,
            created_at=at,
        )

    def set_program_accounts(self, program_id: int, budget: int, pending: int) -> None:
        self.connection.execute(
            update(allowance_programs)
            .where(allowance_programs.c.id == program_id)
            .values(budget_account_id=budget, pending_account_id=pending)
        )

    def program(
        self, program_id: int, *, lock: bool = False, shared: bool = False
    ) -> AllowanceProgram:
        """The program; with ``lock`` its row locked against every other locker, with
        ``shared`` against all but other ``shared`` lockers (PostgreSQL)."""
        query = select(allowance_programs).where(allowance_programs.c.id == program_id)
        if lock and self._postgres:
            query = query.with_for_update()
        elif shared and self._postgres:
            query = query.with_for_update(read=True)
        row = self.connection.execute(query).first()
        if row is None:
            raise program_not_found(program_id)
        return _program(row)

    def programs(self, region_id: int) -> list[AllowanceProgram]:
        rows = self.connection.execute(
            select(allowance_programs)
            .where(allowance_programs.c.region_id == region_id)
            .order_by(allowance_programs.c.id)
        ).all()
        return [_program(row) for row in rows]

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
        """Keep a previewed list; ``wallets`` names the wallet each matched person's identity
        was matched to (the disbursement looks up a matched row without one, as it does an
        unmatched row)."""
        counts = preview.counts
        upload_id = self._insert(
            recipient_uploads,
            region_id=region_id,
            program_id=program_id,
            filename=filename[:200],
            uploaded_at=at,
            row_count=len(preview.rows),
            matched_count=counts[RowStatus.MATCHED.value],
            unmatched_count=counts[RowStatus.UNMATCHED.value],
            duplicate_count=counts[RowStatus.DUPLICATE.value],
            invalid_count=counts[RowStatus.INVALID.value],
            total_won=preview.total_won,
            status="previewed",
            next_row=0,
            paid_count=0,
            pending_count=0,
            skipped_count=0,
            paid_won=0,
        )
        self.add_preview_rows(upload_id, region_id, preview, wallets or {})
        return upload_id

    def upload(self, upload_id: int, *, lock: bool = False) -> Upload:
        query = select(recipient_uploads).where(recipient_uploads.c.id == upload_id)
        if lock and self._postgres:
            query = query.with_for_update()
        row = self.connection.execute(query).first()
        if row is None:
            raise upload_not_found(upload_id)
        return _upload(row)

    def uploads(self, program_id: int, limit: int) -> list[Upload]:
        """A program's latest uploads, newest first."""
        query = (
            select(recipient_uploads)
            .where(recipient_uploads.c.program_id == program_id)
            .order_by(recipient_uploads.c.id.desc())
            .limit(limit)
        )
        return [_upload(row) for row in self.connection.execute(query)]

    def rows(self, upload_id: int, *, status: str | None, after_row: int, limit: int) -> list[Any]:
        query = select(recipient_rows).where(
            recipient_rows.c.upload_id == upload_id, recipient_rows.c.row_number > after_row
        )
        if status is not None:
            query = query.where(recipient_rows.c.status == status)
        return list(
            self.connection.execute(query.order_by(recipient_rows.c.row_number).limit(limit))
        )

    # -- people and wallets -----------------------------------------------------------------

    def wallets_of(self, region_id: int, identities: Sequence[str]) -> dict[str, WalletRef]:
        """The wallets in ``region_id`` of the people with these identity HMACs."""
        if not identities:
            return {}
        rows = self.connection.execute(
            select(users.c.identity_hmac, wallets.c.id, wallets.c.account_id)
            .join(wallets, wallets.c.citizen_id == users.c.citizen_id)
            .where(wallets.c.region_id == region_id, self._among(users.c.identity_hmac, identities))
        ).all()
        return {row.identity_hmac: WalletRef(row.id, row.account_id) for row in rows}

    def _among(self, column: Any, identities: Sequence[str]) -> Any:
        """``column IN identities`` (hexadecimal HMACs); on PostgreSQL as one text parameter
        split by the server (``= ANY (string_to_array(…))``, see ``bulk_writes.joined``): a
        chunk's ten thousand identities would otherwise be ten thousand parameters to parse."""
        if self._postgres:
            return column == any_(func.string_to_array(joined(identities), ","))
        return column.in_(identities)

    def identity_of_citizen(self, citizen_id: int) -> str | None:
        return self.connection.execute(
            select(users.c.identity_hmac).where(users.c.citizen_id == citizen_id)
        ).scalar_one_or_none()

    # -- grants -----------------------------------------------------------------------------

    def granted(self, program_id: int, identities: Sequence[str]) -> set[str]:
        if not identities:
            return set()
        rows = self.connection.execute(
            select(allowance_grants.c.identity_hmac).where(
                allowance_grants.c.program_id == program_id,
                self._among(allowance_grants.c.identity_hmac, identities),
            )
        ).scalars()
        return set(rows)

    def pending_grants(self, region_id: int, identity_hmac: str) -> list[PendingGrant]:
        rows = self.connection.execute(
            select(
                allowance_grants.c.id, allowance_grants.c.program_id, allowance_grants.c.amount_won
            )
            .where(
                allowance_grants.c.identity_hmac == identity_hmac,
                allowance_grants.c.status == "pending",
                allowance_grants.c.region_id == region_id,
            )
            .order_by(allowance_grants.c.id)
        ).all()
        return [PendingGrant(row.id, row.program_id, row.amount_won) for row in rows]

    def stranded_grant_holders(self, limit: int) -> list[tuple[int, int]]:
        """Up to ``limit`` (citizen, region) pairs whose person has a wallet in the region and
        a grant there still pending, in citizen order: grants no wallet's opening claimed."""
        rows = self.connection.execute(
            select(users.c.citizen_id, allowance_grants.c.region_id)
            .distinct()
            .join(users, users.c.identity_hmac == allowance_grants.c.identity_hmac)
            .join(
                wallets,
                (wallets.c.citizen_id == users.c.citizen_id)
                & (wallets.c.region_id == allowance_grants.c.region_id),
            )
            .where(allowance_grants.c.status == "pending")
            .order_by(users.c.citizen_id, allowance_grants.c.region_id)
            .limit(limit)
        ).all()
        return [(row.citizen_id, row.region_id) for row in rows]

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
        self.connection.execute(
            update(allowance_grants)
            .where(allowance_grants.c.id == grant_id)
            .values(
                status=status,
                wallet_id=wallet_id,
                lot_id=lot_id,
                settled_transaction_id=transaction_id,
                settled_at=at,
            )
        )

    def unclaimed_won(self, program_id: int) -> int:
        total = self.connection.execute(
            select(func.coalesce(func.sum(allowance_grants.c.amount_won), 0)).where(
                allowance_grants.c.program_id == program_id, allowance_grants.c.status == "pending"
            )
        ).scalar_one()
        return int(total)

    def close_pending(self, program_id: int, transaction_id: int, at: datetime) -> int:
        result = self.connection.execute(
            update(allowance_grants)
            .where(
                allowance_grants.c.program_id == program_id, allowance_grants.c.status == "pending"
            )
            .values(status="unclaimed", settled_transaction_id=transaction_id, settled_at=at)
        )
        return int(result.rowcount)


def _program(row: Any) -> AllowanceProgram:
    allowed = row.allowed_categories
    terms = AllowanceTerms(
        name=row.name,
        amount_per_recipient_won=row.amount_per_recipient_won,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        allowed_categories=None if allowed is None else frozenset(allowed),
        denied_categories=frozenset(row.denied_categories),
        usable_above_revenue_cap=row.usable_above_revenue_cap,
    )
    return AllowanceProgram(
        row.id, row.region_id, terms, row.budget_account_id, row.pending_account_id
    )


_UPLOAD_COLUMNS = tuple(column.name for column in fields(Upload) if column.name != "counts")
"""The upload's fields read from its columns as they are; ``counts`` gathers one column per
row status."""


def _upload(row: Any) -> Upload:
    counts = {status.value: getattr(row, f"{status.value}_count") for status in RowStatus}
    return Upload(counts=counts, **{name: getattr(row, name) for name in _UPLOAD_COLUMNS})
