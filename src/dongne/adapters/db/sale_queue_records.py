"""The sale queue's tickets and its per-region counter row (the admission bucket).

``lock_counter`` takes the region's lock for a whole poll that changes the line: ``SELECT ...
FOR UPDATE`` on PostgreSQL; SQLite's writers are already serialized by ``BEGIN IMMEDIATE``.
The statements a purchase and a poll run are built once, at import (as the registry's hot ones
are: building one costs more client CPU than sending it), and
the line's two walks (its head, the buyers ahead of one) use the partial index
``ix_sale_tickets_waiting`` (migration 0028), whose rows are the waiting tickets only.

The counter row, and what a batch of polls holds of it, is ``sale_queue_counters``'.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    and_,
    bindparam,
    func,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from dongne.adapters.db.access_records import USER_OF_TOKEN, UserRow
from dongne.adapters.db.access_tables import sale_tickets
from dongne.adapters.db.driver_statements import DriverStatement
from dongne.adapters.db.sale_queue_counters import CounterRecords
from dongne.adapters.db.tables import wallets
from dongne.domain.errors import WalletNotFound
from dongne.domain.sale_queue import QueueTicket


def _ticket_of(row: Any) -> QueueTicket:
    return QueueTicket(row.id, row.issued_at, row.last_seen_at, row.admitted_at, row.used_at)


_TICKET_COLUMNS = (
    sale_tickets.c.id,
    sale_tickets.c.issued_at,
    sale_tickets.c.last_seen_at,
    sale_tickets.c.admitted_at,
    sale_tickets.c.used_at,
)
_WALLET_LINE = (
    select(wallets.c.region_id, wallets.c.citizen_id, *_TICKET_COLUMNS)
    .select_from(
        wallets.outerjoin(
            sale_tickets,
            and_(
                sale_tickets.c.wallet_id == wallets.c.id,
                sale_tickets.c.region_id == wallets.c.region_id,
            ),
        )
    )
    .where(wallets.c.id == bindparam("b_wallet"))
)
"""A wallet's region, its citizen and its ticket in that region's line, in one read."""


@dataclass(frozen=True)
class WalletLine:
    region_id: int
    citizen_id: int
    ticket: QueueTicket | None
    """None before the wallet's first poll in its region."""


_LINE_PREFIX = "line_"
_BEARER_SUBQUERY = USER_OF_TOKEN.subquery("bearer")
_LINE_SUBQUERY = _WALLET_LINE.subquery("line")
_BEARER_AND_WALLET_LINE = DriverStatement(
    select(
        *_BEARER_SUBQUERY.c,
        *(column.label(f"{_LINE_PREFIX}{column.name}") for column in _LINE_SUBQUERY.c),
    ).select_from(
        select(literal(1).label("one"))
        .subquery("one_row")
        .outerjoin(_BEARER_SUBQUERY, true())
        .outerjoin(_LINE_SUBQUERY, true())
    )
)
"""The user of a live bearer token and a wallet's line, each a row of nulls if there is none:
a buyer's two first reads in one statement."""
_USER_FIELDS = tuple(UserRow.__dataclass_fields__)


_TICKET_OF_WALLET = select(sale_tickets).where(
    sale_tickets.c.region_id == bindparam("b_region"),
    sale_tickets.c.wallet_id == bindparam("b_wallet"),
)
_JOIN_LINE = {
    postgres: DriverStatement(
        dialect_insert(sale_tickets)
        .values(
            region_id=bindparam("b_region"),
            wallet_id=bindparam("b_wallet"),
            issued_at=bindparam("b_at"),
            last_seen_at=bindparam("b_at"),
            admitted_at=bindparam("b_admitted"),
        )
        .on_conflict_do_nothing(index_elements=["region_id", "wallet_id"])
        .returning(sale_tickets.c.id)
    )
    for postgres, dialect_insert in ((True, postgres_insert), (False, sqlite_insert))
}
"""By whether the dialect is PostgreSQL."""
_WAITING = and_(
    sale_tickets.c.region_id == bindparam("b_region"),
    sale_tickets.c.admitted_at.is_(None),
    sale_tickets.c.used_at.is_(None),
    sale_tickets.c.issued_at >= bindparam("b_opened"),
    sale_tickets.c.last_seen_at >= bindparam("b_cutoff"),
)
"""The SQL form of ``domain.sale_queue.is_waiting``: in the line of the sale window opened
at ``b_opened``, not admitted nor used, and seen since ``b_cutoff``."""
_ADMIT_WAITING = (
    update(sale_tickets)
    .where(
        sale_tickets.c.id.in_(
            select(sale_tickets.c.id)
            .where(_WAITING)
            .order_by(sale_tickets.c.issued_at, sale_tickets.c.id)
            .limit(bindparam("b_limit"))
            .scalar_subquery()
        )
    )
    .values(admitted_at=bindparam("b_at"))
    .returning(sale_tickets.c.id)
)
_WAITING_AHEAD = select(func.count()).where(
    _WAITING,
    or_(
        sale_tickets.c.issued_at < bindparam("b_issued"),
        and_(
            sale_tickets.c.issued_at == bindparam("b_issued"),
            sale_tickets.c.id < bindparam("b_ticket"),
        ),
    ),
)
SPEND_ADMISSION = (
    update(sale_tickets)
    .where(
        sale_tickets.c.region_id == bindparam("b_region"),
        sale_tickets.c.wallet_id == bindparam("b_wallet"),
        sale_tickets.c.used_at.is_(None),
        sale_tickets.c.issued_at >= bindparam("b_opened"),
        sale_tickets.c.admitted_at > bindparam("b_granted_after"),
    )
    .values(used_at=bindparam("b_at"))
)
"""The SQL form of ``domain.sale_queue.may_buy``, spending the admission it finds: admitted in
the window opened at ``b_opened`` after ``b_granted_after`` (its admission lasts until now),
and not used."""


class SaleQueueRecords(CounterRecords):
    def wallet_line(self, wallet_id: int) -> WalletLine:
        """The wallet and its ticket in its region's line, read without any lock."""
        row = self.connection.execute(_WALLET_LINE, {"b_wallet": wallet_id}).first()
        if row is None:
            raise WalletNotFound(f"no wallet {wallet_id}", wallet_id=wallet_id)
        ticket = None if row.id is None else _ticket_of(row)
        return WalletLine(row.region_id, row.citizen_id, ticket)

    def bearer_and_wallet_line(
        self, wallet_id: int, *, token_hash: str, now: datetime
    ) -> tuple[UserRow | None, WalletLine | None]:
        """``AccessRecords.user_of_token`` and ``wallet_line`` in one statement: the user of
        a token live at ``now`` (None if it is not) and the wallet's line (None if there is no
        such wallet)."""
        values = {"b_token_hash": token_hash, "b_now": now, "b_wallet": wallet_id}
        (row,) = _BEARER_AND_WALLET_LINE.execute(self.connection, values)
        fields = row._asdict()
        user = None if row.id is None else UserRow(**{name: fields[name] for name in _USER_FIELDS})
        if row.line_region_id is None:
            return user, None
        ticket = None
        if row.line_id is not None:
            ticket = QueueTicket(
                row.line_id,
                row.line_issued_at,
                row.line_last_seen_at,
                row.line_admitted_at,
                row.line_used_at,
            )
        return user, WalletLine(row.line_region_id, row.line_citizen_id, ticket)

    def ticket_of_wallet(self, region_id: int, wallet_id: int) -> QueueTicket | None:
        values = {"b_region": region_id, "b_wallet": wallet_id}
        row = self.connection.execute(_TICKET_OF_WALLET, values).first()
        return None if row is None else _ticket_of(row)

    def join_line(
        self, region_id: int, wallet_id: int, at: datetime, *, admitted: bool = False
    ) -> int | None:
        """A new ticket for the wallet, issued at ``at`` (and ``admitted`` then, at the head of
        a line known empty); None if it already has one (a parallel poll of the same wallet
        made it first)."""
        if not admitted:
            self._put_in_line()
        values = {
            "b_region": region_id,
            "b_wallet": wallet_id,
            "b_at": at,
            "b_admitted": at if admitted else None,
        }
        created = _JOIN_LINE[self._postgres].first(self.connection, values)
        return None if created is None else int(created[0])

    def refresh_ticket(self, ticket_id: int, at: datetime, *, rejoin: bool) -> None:
        """Mark the ticket seen at ``at``; one that must rejoin starts again at the back."""
        self._put_in_line()
        fresh: dict[str, Any] = {"last_seen_at": at}
        if rejoin:
            fresh |= {"issued_at": at, "admitted_at": None, "used_at": None}
        self.connection.execute(
            update(sale_tickets).where(sale_tickets.c.id == ticket_id).values(fresh)
        )

    def admit_waiting(
        self, region_id: int, *, opened: datetime, cutoff: datetime, limit: int, at: datetime
    ) -> frozenset[int]:
        """Admit up to ``limit`` waiting tickets from the head of the line: their ids."""
        values = {
            "b_region": region_id,
            "b_opened": opened,
            "b_cutoff": cutoff,
            "b_limit": limit,
            "b_at": at,
        }
        admitted = frozenset(self.connection.execute(_ADMIT_WAITING, values).scalars())
        drained = len(admitted) < limit  # every ticket waiting was admitted
        self._admitted_head(region_id, opened=opened, cutoff=cutoff, drained=drained)
        return admitted

    def waiting_ahead(
        self, region_id: int, ticket: QueueTicket, *, opened: datetime, cutoff: datetime
    ) -> int:
        """How many waiting tickets are ahead of ``ticket`` in the line."""
        values = {
            "b_region": region_id,
            "b_opened": opened,
            "b_cutoff": cutoff,
            "b_issued": ticket.issued_at,
            "b_ticket": ticket.id,
        }
        count: int = self.connection.execute(_WAITING_AHEAD, values).scalar_one()
        return count

    def spend_admission(
        self, region_id: int, wallet_id: int, *, at: datetime, opened: datetime, lasts: timedelta
    ) -> bool:
        """Mark the wallet's admission used if it is live at ``at`` (granted in the window
        opened at ``opened``, less than ``lasts`` ago, not used); True if it was. The ticket's
        row stays locked until the transaction ends, so two purchases never spend one."""
        spent = self.connection.execute(
            SPEND_ADMISSION,
            {
                "b_region": region_id,
                "b_wallet": wallet_id,
                "b_opened": opened,
                "b_granted_after": at - lasts,
                "b_at": at,
            },
        ).rowcount
        return bool(spent)
