"""What an operator watches, read in a few aggregate queries: whether the database takes
writes, how far the log's sequencer is behind, the webhook outbox, the witnesses' latest
cosignatures and the allowance disbursements under way (``services.operations``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, and_, func, select, text

from dongne.adapters.db.access_tables import webhook_events
from dongne.adapters.db.allowance_tables import recipient_uploads
from dongne.adapters.db.ledger_tables import ledger_transactions
from dongne.adapters.db.log_tables import log_checkpoints, log_cosignatures, log_queue, log_state


class OperationsQueries:
    def __init__(self, connection: Connection):
        self.connection = connection

    def takes_writes(self) -> bool:
        """PostgreSQL: a primary whose sessions may write (not a standby, not read-only).
        SQLite: the unit of work's ``BEGIN IMMEDIATE`` took the write lock already."""
        if self.connection.dialect.name != "postgresql":
            return True
        row = self.connection.execute(
            text(
                "SELECT pg_is_in_recovery() AS standby,"
                " current_setting('transaction_read_only') AS read_only"
            )
        ).one()
        return not row.standby and row.read_only == "off"

    def random_page_cost(self) -> float | None:
        """PostgreSQL's planner's cost of a page read out of order, as this database's sessions
        start with it; None on SQLite, which has no such setting."""
        if self.connection.dialect.name != "postgresql":
            return None
        return float(
            self.connection.execute(text("SELECT current_setting('random_page_cost')")).scalar_one()
        )

    def tree_size(self) -> int:
        size = self.connection.execute(select(log_state.c.tree_size)).scalar_one_or_none()
        return int(size or 0)

    def queue(self) -> tuple[int, datetime | None]:
        """How many committed transactions wait for a leaf, and when the oldest committed."""
        row = self.connection.execute(
            select(func.count(), func.min(ledger_transactions.c.created_at)).select_from(
                log_queue.join(
                    ledger_transactions, ledger_transactions.c.id == log_queue.c.transaction_id
                )
            )
        ).one()
        return int(row[0]), row[1]

    def outbox(self, attempts_max: int) -> tuple[int, int]:
        """Webhook events still to deliver, and dead letters (out of attempts)."""
        undelivered = webhook_events.c.delivered_at.is_(None)
        dead = webhook_events.c.attempts >= attempts_max
        row = self.connection.execute(
            select(
                func.count().filter(and_(undelivered, ~dead)),
                func.count().filter(and_(undelivered, dead)),
            )
        ).one()
        return int(row[0] or 0), int(row[1] or 0)

    def latest_checkpoint_signed_at(self) -> datetime | None:
        signed: datetime | None = self.connection.execute(
            select(func.max(log_checkpoints.c.signed_at))
        ).scalar_one()
        return signed

    def latest_cosignatures(self) -> dict[str, datetime]:
        """Each witness's newest cosignature, by the witness's name."""
        rows = self.connection.execute(
            select(log_cosignatures.c.witness, func.max(log_cosignatures.c.received_at)).group_by(
                log_cosignatures.c.witness
            )
        ).all()
        return {row[0]: row[1] for row in rows}

    def disbursements(self) -> tuple[int, int, int]:
        """Uploads being disbursed: how many, their rows done and their rows in all."""
        row = self.connection.execute(
            select(
                func.count(),
                func.coalesce(func.sum(recipient_uploads.c.next_row), 0),
                func.coalesce(func.sum(recipient_uploads.c.row_count), 0),
            ).where(recipient_uploads.c.status == "disbursing")
        ).one()
        return int(row[0]), int(row[1]), int(row[2])
