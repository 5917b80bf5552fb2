"""The G2P Connect store: messages, disbursements (with their grant's live status), callbacks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, Select, insert, select, update

from dongne.adapters.db.access_tables import users
from dongne.adapters.db.allowance_tables import allowance_grants
from dongne.adapters.db.g2p_tables import g2p_callbacks, g2p_disbursements, g2p_messages
from dongne.adapters.db.tables import citizens, wallets


@dataclass(frozen=True)
class MessageRow:
    id: int
    region_id: int
    partner_id: int
    message_id: str
    request_digest: str
    transaction_id: str
    correlation_id: str
    action: str
    mode: str
    sender_id: str
    callback_url: str | None
    status: str
    ack: dict[str, Any]
    response: dict[str, Any] | None
    received_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True)
class DisbursementRow:
    id: int
    region_id: int
    partner_id: int
    message_row_id: int
    reference_id: str
    transaction_id: str
    payer_fa: str
    payee_fa: str
    program_id: int
    identity_hmac: str | None
    amount_won: int
    status: str
    reason_code: str | None
    reason_message: str | None
    upload_id: int | None
    row_number: int | None
    received_at: datetime
    updated_at: datetime
    grant_status: str | None
    """The allowance grant's status now (granted, pending, claimed, unclaimed), if granted."""


@dataclass(frozen=True)
class CallbackRow:
    id: int
    region_id: int
    partner_id: int
    message_row_id: int
    url: str
    payload: dict[str, Any]
    attempts: int
    delivered_at: datetime | None
    last_error: str | None


_MESSAGE_COLUMNS = [g2p_messages.c[name] for name in MessageRow.__dataclass_fields__]
_DISBURSEMENTS = select(
    *[
        g2p_disbursements.c[name]
        for name in DisbursementRow.__dataclass_fields__
        if name != "grant_status"
    ],
    allowance_grants.c.status.label("grant_status"),
).select_from(
    g2p_disbursements.outerjoin(
        allowance_grants,
        (allowance_grants.c.upload_id == g2p_disbursements.c.upload_id)
        & (allowance_grants.c.row_number == g2p_disbursements.c.row_number),
    )
)
_CALLBACK_COLUMNS = [g2p_callbacks.c[name] for name in CallbackRow.__dataclass_fields__]


class G2pRecords:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._postgres = connection.dialect.name == "postgresql"

    # -- messages ------------------------------------------------------------------------------

    def add_message(self, **values: Any) -> int:
        return int(
            self.connection.execute(
                insert(g2p_messages).values(**values).returning(g2p_messages.c.id)
            ).scalar_one()
        )

    def message_of_sender(self, partner_id: int, message_id: str) -> MessageRow | None:
        row = (
            self.connection.execute(
                select(*_MESSAGE_COLUMNS).where(
                    g2p_messages.c.partner_id == partner_id, g2p_messages.c.message_id == message_id
                )
            )
            .mappings()
            .first()
        )
        return _message(row) if row else None

    def message(self, message_row_id: int, *, lock: bool = False) -> MessageRow:
        query = select(*_MESSAGE_COLUMNS).where(g2p_messages.c.id == message_row_id)
        if lock and self._postgres:
            query = query.with_for_update()
        return _message(self.connection.execute(query).mappings().one())

    def message_by_correlation(self, partner_id: int, correlation_id: str) -> MessageRow | None:
        row = (
            self.connection.execute(
                select(*_MESSAGE_COLUMNS).where(
                    g2p_messages.c.partner_id == partner_id,
                    g2p_messages.c.correlation_id == correlation_id,
                )
            )
            .mappings()
            .first()
        )
        return _message(row) if row else None

    def messages_to_process(self, limit: int) -> list[int]:
        """Disburse messages received but not answered yet, oldest first (not those answered
        and awaiting an official's approval: the decision answers them)."""
        return list(
            self.connection.execute(
                select(g2p_messages.c.id)
                .where(
                    g2p_messages.c.status.notin_(("done", "awaiting_approval")),
                    g2p_messages.c.action == "disburse",
                )
                .order_by(g2p_messages.c.id)
                .limit(limit)
            ).scalars()
        )

    def regions_awaiting_approval(self) -> list[int]:
        """Regions with a disburse message waiting for an official's approval."""
        return list(
            self.connection.execute(
                select(g2p_messages.c.region_id)
                .where(g2p_messages.c.status == "awaiting_approval")
                .distinct()
                .order_by(g2p_messages.c.region_id)
            ).scalars()
        )

    def update_message(self, message_row_id: int, **values: Any) -> None:
        self.connection.execute(
            update(g2p_messages).where(g2p_messages.c.id == message_row_id).values(**values)
        )

    # -- disbursements -------------------------------------------------------------------------

    def add_disbursements(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            self.connection.execute(insert(g2p_disbursements), list(rows))

    def update_disbursement(self, disbursement_id: int, **values: Any) -> None:
        self.connection.execute(
            update(g2p_disbursements)
            .where(g2p_disbursements.c.id == disbursement_id)
            .values(**values)
        )

    def by_references(
        self, partner_id: int, references: Sequence[str]
    ) -> dict[str, DisbursementRow]:
        if not references:
            return {}
        query = _DISBURSEMENTS.where(
            g2p_disbursements.c.partner_id == partner_id,
            g2p_disbursements.c.reference_id.in_(sorted(set(references))),
        )
        return {row.reference_id: row for row in self._disbursements(query)}

    def of_message(self, message_row_id: int) -> list[DisbursementRow]:
        return self._disbursements(
            _DISBURSEMENTS.where(g2p_disbursements.c.message_row_id == message_row_id)
        )

    def of_transaction(self, partner_id: int, transaction_id: str) -> list[DisbursementRow]:
        return self._disbursements(
            _DISBURSEMENTS.where(
                g2p_disbursements.c.partner_id == partner_id,
                g2p_disbursements.c.transaction_id == transaction_id,
            )
        )

    def by_address(
        self, partner_id: int, *, payee_fa: str | None = None, payer_fa: str | None = None
    ) -> list[DisbursementRow]:
        query = _DISBURSEMENTS.where(g2p_disbursements.c.partner_id == partner_id)
        if payee_fa is not None:
            query = query.where(g2p_disbursements.c.payee_fa == payee_fa)
        if payer_fa is not None:
            query = query.where(g2p_disbursements.c.payer_fa == payer_fa)
        return self._disbursements(query)

    def _disbursements(self, query: Select[Any]) -> list[DisbursementRow]:
        rows = self.connection.execute(query.order_by(g2p_disbursements.c.id)).mappings()
        return [DisbursementRow(**row) for row in rows]

    def identity_by_phone(self, region_id: int, phone: str) -> tuple[bool, str | None]:
        """Whether a citizen with this phone has a wallet in the region, and their identity
        HMAC (None for a citizen who signed up without an identity number)."""
        row = self.connection.execute(
            select(users.c.identity_hmac)
            .select_from(
                wallets.join(citizens, citizens.c.id == wallets.c.citizen_id).outerjoin(
                    users, users.c.citizen_id == citizens.c.id
                )
            )
            .where(citizens.c.phone == phone, wallets.c.region_id == region_id)
        ).first()
        return (row is not None, row.identity_hmac if row is not None else None)

    # -- callbacks (the outbox) ----------------------------------------------------------------

    def add_callback(self, **values: Any) -> None:
        self.connection.execute(insert(g2p_callbacks).values(**values))

    def callbacks_due(self, now: datetime, *, attempts_max: int, limit: int) -> list[CallbackRow]:
        """Undelivered callbacks whose next attempt is due; on PostgreSQL locked, skipping rows
        another worker holds, so parallel workers claim different callbacks."""
        query = (
            select(*_CALLBACK_COLUMNS)
            .where(
                g2p_callbacks.c.delivered_at.is_(None),
                g2p_callbacks.c.next_attempt_at <= now,
                g2p_callbacks.c.attempts < attempts_max,
            )
            .order_by(g2p_callbacks.c.next_attempt_at, g2p_callbacks.c.id)
            .limit(limit)
        )
        if self._postgres:
            query = query.with_for_update(skip_locked=True)
        return [CallbackRow(**row) for row in self.connection.execute(query).mappings()]

    def update_callback(self, callback_id: int, **values: Any) -> None:
        self.connection.execute(
            update(g2p_callbacks).where(g2p_callbacks.c.id == callback_id).values(**values)
        )

    def callbacks_of_partner(self, partner_id: int) -> list[CallbackRow]:
        query = (
            select(*_CALLBACK_COLUMNS)
            .where(g2p_callbacks.c.partner_id == partner_id)
            .order_by(g2p_callbacks.c.id)
        )
        return [CallbackRow(**row) for row in self.connection.execute(query).mappings()]


def _message(row: RowMapping) -> MessageRow:
    return MessageRow(**row)
