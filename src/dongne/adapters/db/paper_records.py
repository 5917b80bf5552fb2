"""Reading and writing paper vouchers, their print orders, range movements and spending.

A range moves with one conditional UPDATE over the vouchers of one region, year and
denomination between two sequences, in the state the move leaves: the caller compares the
rows it moved with the range's size and refuses the whole move (its transaction rolls back)
when any voucher was elsewhere. On PostgreSQL a concurrent move of the same vouchers waits for
the first to commit and then finds them gone from the state it wanted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update

from dongne.adapters.db.paper_tables import (
    paper_exchanges,
    paper_movements,
    paper_print_orders,
    paper_redemptions,
    paper_vouchers,
)
from dongne.adapters.db.table_store import TableStore
from dongne.adapters.db.tables import regions
from dongne.domain.paper import PaperVoucherState, SerialRange


@dataclass(frozen=True)
class PaperVoucherRow:
    id: int
    region_id: int
    serial: str
    denomination_won: int
    state: PaperVoucherState
    agent_id: int | None
    sale_id: int | None
    valid_until: date


@dataclass(frozen=True)
class PrintOrderRow:
    id: int
    region_id: int
    year: int
    counts: dict[str, int]
    voucher_count: int
    face_won: int
    valid_until: date
    ordered_at: datetime
    transaction_id: int


@dataclass(frozen=True)
class SaleRow:
    id: int
    face_won: int
    paid_won: int


@dataclass(frozen=True)
class StockLine:
    state: PaperVoucherState
    denomination_won: int
    count: int
    face_won: int


_VOUCHER_COLUMNS = [paper_vouchers.c[name] for name in PaperVoucherRow.__dataclass_fields__]
_ORDER_COLUMNS = [paper_print_orders.c[name] for name in PrintOrderRow.__dataclass_fields__]


def _voucher(row: Any) -> PaperVoucherRow:
    values = row._asdict()
    return PaperVoucherRow(**(values | {"state": PaperVoucherState(values["state"])}))


class PaperRecords(TableStore):
    # -- printing ---------------------------------------------------------------------------

    def lock_region(self, region_id: int) -> None:
        """Serialize print orders of one region, which number their vouchers from the last
        sequence (PostgreSQL; SQLite writers hold the database lock)."""
        if self._postgres:
            self.connection.execute(
                select(regions.c.id).where(regions.c.id == region_id).with_for_update()
            )

    def last_sequence(self, region_id: int, year: int, denomination_won: int) -> int:
        found = self.connection.execute(
            select(func.max(paper_vouchers.c.sequence)).where(
                paper_vouchers.c.region_id == region_id,
                paper_vouchers.c.year == year,
                paper_vouchers.c.denomination_won == denomination_won,
            )
        ).scalar_one()
        return int(found or 0)

    def add_print_order(self, **values: Any) -> int:
        return self._insert(paper_print_orders, **values)

    def add_vouchers(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            self.connection.execute(paper_vouchers.insert(), list(rows))

    def print_order(self, order_id: int) -> PrintOrderRow | None:
        row = self.connection.execute(
            select(*_ORDER_COLUMNS).where(paper_print_orders.c.id == order_id)
        ).first()
        return None if row is None else PrintOrderRow(**row._asdict())

    def print_orders(self, region_id: int) -> list[PrintOrderRow]:
        rows = self.connection.execute(
            select(*_ORDER_COLUMNS)
            .where(paper_print_orders.c.region_id == region_id)
            .order_by(paper_print_orders.c.id)
        ).all()
        return [PrintOrderRow(**row._asdict()) for row in rows]

    def vouchers_of_order(self, order_id: int) -> list[PaperVoucherRow]:
        rows = self.connection.execute(
            select(*_VOUCHER_COLUMNS)
            .where(paper_vouchers.c.print_order_id == order_id)
            .order_by(paper_vouchers.c.denomination_won, paper_vouchers.c.sequence)
        ).all()
        return [_voucher(row) for row in rows]

    # -- ranges -----------------------------------------------------------------------------

    def move_range(
        self,
        serials: SerialRange,
        *,
        leaving: Sequence[PaperVoucherState],
        to: PaperVoucherState,
        at: datetime,
        held_by: int | None = None,
        agent_id: int | None = None,
        sale_id: int | None = None,
    ) -> int:
        """Move the range's vouchers in one of the ``leaving`` states (and, given ``held_by``,
        with that agent) to ``to``; return how many moved."""
        first = serials.first
        where = [
            paper_vouchers.c.region_id == first.region_id,
            paper_vouchers.c.year == first.year,
            paper_vouchers.c.denomination_won == first.denomination_won,
            paper_vouchers.c.sequence.between(first.sequence, serials.last.sequence),
            paper_vouchers.c.state.in_([state.value for state in leaving]),
        ]
        if held_by is not None:
            where.append(paper_vouchers.c.agent_id == held_by)
        values: dict[str, Any] = {"state": to.value, "updated_at": at}
        if agent_id is not None:
            values["agent_id"] = agent_id
        if sale_id is not None:
            values["sale_id"] = sale_id
        result = self.connection.execute(update(paper_vouchers).where(*where).values(**values))
        return int(result.rowcount)

    def mark_sold_by(self, serials: SerialRange, sale_id: int) -> None:
        """Name the sale on the vouchers it just sold (the range's sold rows without one)."""
        first = serials.first
        self.connection.execute(
            update(paper_vouchers)
            .where(
                paper_vouchers.c.region_id == first.region_id,
                paper_vouchers.c.year == first.year,
                paper_vouchers.c.denomination_won == first.denomination_won,
                paper_vouchers.c.sequence.between(first.sequence, serials.last.sequence),
                paper_vouchers.c.state == PaperVoucherState.SOLD.value,
                paper_vouchers.c.sale_id.is_(None),
            )
            .values(sale_id=sale_id)
        )

    def add_movement(self, **values: Any) -> int:
        return self._insert(paper_movements, **values)

    def bought_won(self, buyer_hmac: str, month: str) -> int:
        """What an identified buyer bought on paper in a month, at face value."""
        total = self.connection.execute(
            select(func.coalesce(func.sum(paper_movements.c.face_won), 0)).where(
                paper_movements.c.buyer_hmac == buyer_hmac,
                paper_movements.c.month == month,
                paper_movements.c.kind == "sale",
            )
        ).scalar_one()
        return int(total)

    def sale(self, sale_id: int) -> SaleRow:
        row = self.connection.execute(
            select(
                paper_movements.c.id, paper_movements.c.face_won, paper_movements.c.paid_won
            ).where(paper_movements.c.id == sale_id)
        ).one()
        return SaleRow(row.id, int(row.face_won), int(row.paid_won))

    # -- one voucher ------------------------------------------------------------------------

    def voucher(self, serial: str, *, lock: bool = False) -> PaperVoucherRow | None:
        """The voucher of ``serial``; ``lock``: its row locked until the transaction ends, so a
        second counter with the same voucher waits here and then reads it spent."""
        query = select(*_VOUCHER_COLUMNS).where(paper_vouchers.c.serial == serial)
        if lock and self._postgres:
            query = query.with_for_update()
        row = self.connection.execute(query).first()
        return None if row is None else _voucher(row)

    def spend(self, voucher_id: int, to: PaperVoucherState, at: datetime) -> bool:
        """Sold → redeemed or exchanged, once: False if it was not sold any more."""
        result = self.connection.execute(
            update(paper_vouchers)
            .where(
                paper_vouchers.c.id == voucher_id,
                paper_vouchers.c.state == PaperVoucherState.SOLD.value,
            )
            .values(state=to.value, updated_at=at)
        )
        return int(result.rowcount) == 1

    def spent_at(self, voucher_id: int) -> datetime | None:
        for table, column in (
            (paper_redemptions, paper_redemptions.c.redeemed_at),
            (paper_exchanges, paper_exchanges.c.exchanged_at),
        ):
            found = self.connection.execute(
                select(column).where(table.c.voucher_id == voucher_id)
            ).scalar_one_or_none()
            if found is not None:
                return found  # type: ignore[no-any-return]
        return None

    def add_redemption(self, **values: Any) -> int:
        return self._insert(paper_redemptions, **values)

    def add_exchange(self, **values: Any) -> int:
        return self._insert(paper_exchanges, **values)

    # -- reports ----------------------------------------------------------------------------

    def stock(self, region_id: int) -> list[StockLine]:
        rows = self.connection.execute(
            select(
                paper_vouchers.c.state,
                paper_vouchers.c.denomination_won,
                func.count(),
                func.sum(paper_vouchers.c.denomination_won),
            )
            .where(paper_vouchers.c.region_id == region_id)
            .group_by(paper_vouchers.c.state, paper_vouchers.c.denomination_won)
        ).all()
        return [
            StockLine(PaperVoucherState(state), int(won), int(count), int(face))
            for state, won, count, face in rows
        ]

    def printed(self, region_id: int) -> tuple[int, int]:
        """The count and face value of every voucher the region's print orders made."""
        count, face = self.connection.execute(
            select(
                func.coalesce(func.sum(paper_print_orders.c.voucher_count), 0),
                func.coalesce(func.sum(paper_print_orders.c.face_won), 0),
            ).where(paper_print_orders.c.region_id == region_id)
        ).one()
        return int(count), int(face)

    def spent_won(self, region_id: int) -> tuple[int, int]:
        """The face value redeemed at merchants and exchanged into wallets, from their rows."""
        totals = []
        for table in (paper_redemptions, paper_exchanges):
            totals.append(
                int(
                    self.connection.execute(
                        select(func.coalesce(func.sum(table.c.amount_won), 0)).where(
                            table.c.region_id == region_id
                        )
                    ).scalar_one()
                )
            )
        return totals[0], totals[1]

    def regions_with_paper(self) -> list[int]:
        rows = self.connection.execute(select(paper_print_orders.c.region_id).distinct()).all()
        return sorted(int(row[0]) for row in rows)
