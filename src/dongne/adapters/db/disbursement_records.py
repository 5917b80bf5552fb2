"""An upload's progress through its disbursement: the rows still to pay, in chunks, and the
upload's ``next_row`` and counts, which move in each chunk's own transaction."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import func, select, text, update

from dongne.adapters.db.allowance_tables import allowance_grants, recipient_rows, recipient_uploads
from dongne.adapters.db.table_store import TableStore
from dongne.domain.allowances import RowStatus

if TYPE_CHECKING:
    from dongne.adapters.db.allowance_records import Upload

PAYABLE_STATUSES = (RowStatus.MATCHED.value, RowStatus.UNMATCHED.value)
LAST_ROW = 2**31 - 1
"""Beyond any row number: the end of the last chunk of a list."""

TURN_LOCK_CLASS = 0x7475726E
"""First key of the advisory locks of chunks paid in turn ("turn" in ASCII); the second is the
hash of the upload's id and the chunk's number (a collision only makes a chunk wait longer)."""
_HOLD_TURN = text("SELECT pg_advisory_xact_lock(:b_class, hashtext(:b_chunk))")
_AWAIT_TURN = text("SELECT pg_advisory_xact_lock_shared(:b_class, hashtext(:b_chunk))")
GRANTS_LOCK_CLASS = 0x6772616E
"""First key of the advisory lock of a region's allowance grants ("gran" in ASCII); the second
is the region's id."""
_WRITING_GRANTS = text("SELECT pg_advisory_xact_lock_shared(:b_class, :b_region)")
_AWAIT_GRANTS = text("SELECT pg_advisory_xact_lock(:b_class, :b_region)")
_CHUNK_ENDS = text(
    "SELECT row_number FROM (SELECT row_number, row_number() OVER (ORDER BY row_number) AS n"
    " FROM recipient_rows WHERE upload_id = :b_upload AND row_number > :b_after"
    " AND status IN (:b_matched, :b_unmatched)) AS payable"
    " WHERE n % :b_every = 0 ORDER BY row_number"
)


class PayableRow(NamedTuple):
    """A row a disbursement pays (a tuple: ten thousand are read per chunk)."""

    row_number: int
    identity_hmac: str
    amount_won: int
    granted: bool = False
    """The program granted this person already (through another list)."""


class DisbursementRecords(TableStore):
    def payable_rows(
        self, upload: Upload, after_row: int, limit: int, through_row: int = LAST_ROW
    ) -> list[PayableRow]:
        """The next payable rows after ``after_row`` up to ``through_row``, each saying whether
        the program already granted the person.

        The check is a subquery per row on the grants' unique index (program, person), not one
        ``IN`` over the chunk: during a large run the grants grow faster than their planner
        statistics, and an ``IN`` list then gets matched against every grant of the program.
        """
        granted = (
            select(allowance_grants.c.id)
            .where(
                allowance_grants.c.program_id == upload.program_id,
                allowance_grants.c.identity_hmac == recipient_rows.c.identity_hmac,
            )
            .exists()
        )
        rows = self.connection.execute(
            select(
                recipient_rows.c.row_number,
                recipient_rows.c.identity_hmac,
                recipient_rows.c.amount_won,
                granted.label("granted"),
            )
            .where(
                recipient_rows.c.upload_id == upload.id,
                recipient_rows.c.row_number > after_row,
                recipient_rows.c.row_number <= through_row,
                recipient_rows.c.status.in_(PAYABLE_STATUSES),
            )
            .order_by(recipient_rows.c.row_number)
            .limit(limit)
        ).all()
        return [
            PayableRow(row.row_number, row.identity_hmac, row.amount_won, bool(row.granted))
            for row in rows
        ]

    def payable_chunk_ends(self, upload: Upload, chunk_size: int) -> list[int]:
        """The row number of every ``chunk_size``-th payable row after the upload's
        ``next_row``: the ends of its chunks of that size but the last."""
        matched, unmatched = PAYABLE_STATUSES
        return list(
            self.connection.execute(
                _CHUNK_ENDS,
                {
                    "b_upload": upload.id,
                    "b_after": upload.next_row,
                    "b_matched": matched,
                    "b_unmatched": unmatched,
                    "b_every": chunk_size,
                },
            ).scalars()
        )

    def hold_chunk(self, upload_id: int, chunk: int) -> None:
        """Take chunk ``chunk``'s lock (PostgreSQL), held to the end of this transaction, so
        that the chunk after it can wait for that end in the database (``await_chunk``)."""
        if self._postgres:
            self.connection.execute(
                _HOLD_TURN, {"b_class": TURN_LOCK_CLASS, "b_chunk": f"{upload_id}:{chunk}"}
            )

    def await_chunk(self, upload_id: int, chunk: int) -> None:
        """Until the transaction holding chunk ``chunk``'s lock has ended: a wait PostgreSQL
        sees, so a deadlock through it is found and broken like any other. The shared lock
        taken is held to the end of this transaction."""
        if self._postgres:
            self.connection.execute(
                _AWAIT_TURN, {"b_class": TURN_LOCK_CLASS, "b_chunk": f"{upload_id}:{chunk}"}
            )

    def writing_grants(self, region_id: int) -> None:
        """Say, before looking up its people's wallets, that this transaction grants
        allowances in the region, to whoever has no wallet there pending; a wallet's opening
        waits for its end before it claims its person's pending grants
        (``await_grants_written``). PostgreSQL: a shared lock, so chunks run side by side,
        held to the end of the transaction. SQLite runs one writer at a time already."""
        if self._postgres:
            self.connection.execute(
                _WRITING_GRANTS, {"b_class": GRANTS_LOCK_CLASS, "b_region": region_id}
            )

    def await_grants_written(self, region_id: int) -> None:
        """Until every transaction granting allowances in the region has ended, and keep new
        ones from starting until this transaction ends: they look up wallets after it, so
        they see one opened before it."""
        if self._postgres:
            self.connection.execute(
                _AWAIT_GRANTS, {"b_class": GRANTS_LOCK_CLASS, "b_region": region_id}
            )

    def still_to_pay(self, upload: Upload) -> tuple[int, int]:
        """(people, won) the upload has still to pay after its last committed row, leaving out
        people the program has granted meanwhile (through another upload)."""
        granted = select(allowance_grants.c.id).where(
            allowance_grants.c.program_id == upload.program_id,
            allowance_grants.c.identity_hmac == recipient_rows.c.identity_hmac,
        )
        people, total = self.connection.execute(
            select(func.count(), func.coalesce(func.sum(recipient_rows.c.amount_won), 0)).where(
                recipient_rows.c.upload_id == upload.id,
                recipient_rows.c.row_number > upload.next_row,
                recipient_rows.c.status.in_(PAYABLE_STATUSES),
                ~granted.exists(),
            )
        ).one()
        return int(people), int(total)

    def mark_started(self, upload_id: int, at: datetime) -> None:
        self.connection.execute(
            update(recipient_uploads)
            .where(recipient_uploads.c.id == upload_id, recipient_uploads.c.started_at.is_(None))
            .values(status="disbursing", started_at=at)
        )

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
        """Move the upload's ``next_row`` from ``from_row`` to ``next_row`` and add a chunk's
        counts; False, changing nothing, if ``next_row`` is no longer ``from_row`` (another
        run of the list moved it)."""
        moved = self.connection.execute(
            update(recipient_uploads)
            .where(recipient_uploads.c.id == upload_id, recipient_uploads.c.next_row == from_row)
            .values(
                next_row=next_row,
                paid_count=recipient_uploads.c.paid_count + paid,
                pending_count=recipient_uploads.c.pending_count + pending,
                skipped_count=recipient_uploads.c.skipped_count + skipped,
                paid_won=recipient_uploads.c.paid_won + won,
            )
        ).rowcount
        return bool(moved == 1)

    def mark_finished(self, upload_id: int, at: datetime) -> None:
        self.connection.execute(
            update(recipient_uploads)
            .where(recipient_uploads.c.id == upload_id)
            .values(status="disbursed", finished_at=at)
        )
