"""The rows behind card-type vouchers: cards, card merchant ids, authorizations, clearing.

An authorization's row is claimed with ``INSERT … ON CONFLICT DO NOTHING`` on its terminal,
STAN and RRN: of two copies of one message racing, one inserts and the other (on PostgreSQL,
after waiting for the first one's commit on the unique index) reads the first answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite

from dongne.adapters.db.card_tables import (
    card_acceptors,
    card_authorizations,
    card_clearing_lines,
    cards,
)
from dongne.adapters.db.table_store import TableStore
from dongne.adapters.db.tables import wallets
from dongne.domain.card_clearing import AuthorizationClearing
from dongne.domain.cards import CardForm, CardStatus


@dataclass(frozen=True)
class CardRow:
    id: int
    region_id: int
    wallet_id: int
    citizen_id: int
    form: CardForm
    last_four: str
    virtual_serial: str | None
    status: CardStatus
    replaces_card_id: int | None
    created_at: datetime
    status_changed_at: datetime


@dataclass(frozen=True)
class AuthorizationRow:
    id: int
    region_id: int | None
    terminal_id: str
    stan: str
    rrn: str
    message_type: str
    message_digest: str | None
    card_id: int | None
    merchant_id: int | None
    acceptor_id: str
    amount_won: int
    response_code: str
    approval_code: str | None
    payment_id: int | None
    clearing: AuthorizationClearing | None
    cleared_won: int
    reversed_at: datetime | None
    created_at: datetime


_CARD = select(
    cards.c.id,
    cards.c.region_id,
    cards.c.wallet_id,
    wallets.c.citizen_id,
    cards.c.form,
    cards.c.last_four,
    cards.c.virtual_serial,
    cards.c.status,
    cards.c.replaces_card_id,
    cards.c.created_at,
    cards.c.status_changed_at,
).join(wallets, wallets.c.id == cards.c.wallet_id)

_AUTHORIZATION = select(
    *(
        card_authorizations.c[name]
        for name in AuthorizationRow.__dataclass_fields__
        if name in card_authorizations.c
    )
)


def _card(row: Any) -> CardRow:
    values = dict(row._mapping)
    return CardRow(
        **values | {"form": CardForm(values["form"]), "status": CardStatus(values["status"])}
    )


def _authorization(row: Any) -> AuthorizationRow:
    values = dict(row._mapping)
    clearing = values["clearing"]
    return AuthorizationRow(
        **values | {"clearing": AuthorizationClearing(clearing) if clearing else None}
    )


@cache
def _insert_ignoring_conflict(dialect: str, table: Table) -> Any:
    """INSERT … ON CONFLICT (terminal_id, stan, rrn) DO NOTHING RETURNING id."""
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        dialect_insert(table)
        .on_conflict_do_nothing(index_elements=["terminal_id", "stan", "rrn"])
        .returning(table.c.id)
    )


class CardRecords(TableStore):
    # -- cards ---------------------------------------------------------------------------

    def add_card(self, **values: Any) -> int:
        return self._insert(cards, **values)

    def card(self, card_id: int, *, lock: bool = False) -> CardRow | None:
        query = _CARD.where(cards.c.id == card_id)
        if lock and self._postgres:
            query = query.with_for_update(of=cards)
        row = self.connection.execute(query).first()
        return _card(row) if row else None

    def card_by_pan(self, pan_hmac: str, *, lock: bool = False) -> CardRow | None:
        """The card with this PAN; ``lock`` holds it (PostgreSQL) so that a block committed
        meanwhile waits for the payment, or the payment for the block."""
        query = _CARD.where(cards.c.pan_hmac == pan_hmac)
        if lock and self._postgres:
            query = query.with_for_update(of=cards)
        row = self.connection.execute(query).first()
        return _card(row) if row else None

    def limit_waits(self, milliseconds: int) -> None:
        """Bound this transaction's waits for locks and statements (PostgreSQL), so a decision
        past its deadline gives up instead of holding a connection and, later, deciding."""
        if self._postgres:
            milliseconds = max(milliseconds, 1)
            self.connection.exec_driver_sql(
                f"SET LOCAL lock_timeout = {milliseconds:d};"
                f" SET LOCAL statement_timeout = {milliseconds:d}"
            )

    def cards_of_citizen(self, citizen_id: int) -> list[CardRow]:
        query = _CARD.where(wallets.c.citizen_id == citizen_id).order_by(cards.c.id)
        return [_card(row) for row in self.connection.execute(query)]

    def cards_of_region(
        self, region_id: int, *, limit: int, status: CardStatus | None = None
    ) -> list[CardRow]:
        query = _CARD.where(cards.c.region_id == region_id)
        if status is not None:
            query = query.where(cards.c.status == status.value)
        query = query.order_by(cards.c.id).limit(limit)
        return [_card(row) for row in self.connection.execute(query)]

    def set_card_status(self, card_id: int, status: CardStatus, *, at: datetime) -> None:
        self.connection.execute(
            update(cards)
            .where(cards.c.id == card_id)
            .values(status=status.value, status_changed_at=at)
        )

    # -- the network's merchant ids ------------------------------------------------------

    def add_acceptor(
        self, *, region_id: int, acceptor_id: str, merchant_id: int, at: datetime
    ) -> int:
        return self._insert(
            card_acceptors,
            region_id=region_id,
            acceptor_id=acceptor_id,
            merchant_id=merchant_id,
            created_at=at,
        )

    def merchant_of_acceptor(self, acceptor_id: str) -> int | None:
        query = select(card_acceptors.c.merchant_id).where(
            card_acceptors.c.acceptor_id == acceptor_id
        )
        found: int | None = self.connection.execute(query).scalar_one_or_none()
        return found

    def acceptors_of_merchant(self, merchant_id: int) -> list[str]:
        query = (
            select(card_acceptors.c.acceptor_id)
            .where(card_acceptors.c.merchant_id == merchant_id)
            .order_by(card_acceptors.c.acceptor_id)
        )
        return list(self.connection.execute(query).scalars())

    # -- authorizations --------------------------------------------------------------------

    def claim_authorization(self, **values: Any) -> int | None:
        """Insert the message's row; None if a row for its terminal, STAN and RRN exists."""
        statement = _insert_ignoring_conflict(self.connection.dialect.name, card_authorizations)
        found: int | None = self.connection.execute(statement, values).scalar_one_or_none()
        return found

    def authorization(
        self, terminal_id: str, stan: str, rrn: str, *, lock: bool = False
    ) -> AuthorizationRow | None:
        query = _AUTHORIZATION.where(
            card_authorizations.c.terminal_id == terminal_id,
            card_authorizations.c.stan == stan,
            card_authorizations.c.rrn == rrn,
        )
        if lock and self._postgres:
            query = query.with_for_update()
        row = self.connection.execute(query).first()
        return _authorization(row) if row else None

    def authorization_by_id(self, authorization_id: int) -> AuthorizationRow | None:
        query = _AUTHORIZATION.where(card_authorizations.c.id == authorization_id)
        row = self.connection.execute(query).first()
        return _authorization(row) if row else None

    def update_authorization(self, authorization_id: int, **values: Any) -> None:
        self.connection.execute(
            update(card_authorizations)
            .where(card_authorizations.c.id == authorization_id)
            .values(**values)
        )

    def open_authorizations(self, *, before: datetime, limit: int) -> list[AuthorizationRow]:
        """Approvals still waiting for clearing that were given before ``before``."""
        query = (
            _AUTHORIZATION.where(
                card_authorizations.c.clearing == AuthorizationClearing.OPEN.value,
                card_authorizations.c.created_at < before,
            )
            .order_by(card_authorizations.c.id)
            .limit(limit)
        )
        return [_authorization(row) for row in self.connection.execute(query)]

    def authorizations_of_card(self, card_id: int, *, limit: int) -> list[AuthorizationRow]:
        query = (
            _AUTHORIZATION.where(card_authorizations.c.card_id == card_id)
            .order_by(card_authorizations.c.id.desc())
            .limit(limit)
        )
        return [_authorization(row) for row in self.connection.execute(query)]

    # -- clearing ------------------------------------------------------------------------

    def claim_clearing_line(self, **values: Any) -> int | None:
        """Insert a clearing line; None if its terminal, STAN and RRN were cleared before."""
        statement = _insert_ignoring_conflict(self.connection.dialect.name, card_clearing_lines)
        found: int | None = self.connection.execute(statement, values).scalar_one_or_none()
        return found

    def flagged_clearing_lines(self, *, limit: int) -> list[dict[str, Any]]:
        query = (
            select(card_clearing_lines)
            .where(card_clearing_lines.c.outcome != "matched")
            .order_by(card_clearing_lines.c.id)
            .limit(limit)
        )
        return [dict(row._mapping) for row in self.connection.execute(query)]
