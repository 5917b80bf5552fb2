"""A merchant's takings a Seoul day, kept as running totals that every payment adds to.

The online fraud check's spike rule compares a merchant's takings of the day with those of its
usual days, for every batch of payments. Summed from ``payments``, that read went through
every payment of the merchant's day, and for a busy day through the 28 days before: a read
that grew with the shop's trade, and the largest of PostgreSQL's statements on the payment
path (issue 13). A payment now adds its amount to the row of its merchant, Seoul day and
shard (``merchant_day_takings``), and the rule reads those rows.

A transaction keeps its additions until its commit, summed by row, and writes them there in
one statement, in key order, after the payable's credits (``UnitOfWork.commit``).

**Why the shard is the payable's.** A payment credits shard ``transaction id mod 8`` of its
merchant's payable and adds to the takings row of the same shard, and the payable's row is
locked from its credit to the commit. So whoever writes a takings row already holds the
payable's row of the same shard, and nobody else can be waiting for the one without the
other: the running total makes no transaction wait that the payable did not, and cannot
deadlock. One row a merchant and day would have made every payment of a busy shop queue on it,
which is what the payable's shards are there to prevent.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection, text
from sqlalchemy.dialects import sqlite

from dongne.adapters.db.driver_statements import DriverStatement
from dongne.adapters.db.fraud_tables import merchant_day_takings
from dongne.domain.calendar import seoul_day
from dongne.domain.ledger import MERCHANT_BALANCE_SHARDS, credited_shard

TakingsRow = tuple[int, date, int]
"""A merchant, a Seoul day, a shard."""

_ADD_ON_POSTGRESQL = DriverStatement(
    text(
        "INSERT INTO merchant_day_takings (merchant_id, day, shard, region_id, takings_won)"
        " SELECT * FROM unnest(CAST(:b_merchants AS BIGINT[]), CAST(:b_days AS DATE[]),"
        " CAST(:b_shards AS INTEGER[]), CAST(:b_regions AS BIGINT[]),"
        " CAST(:b_amounts AS BIGINT[]))"
        " ON CONFLICT (merchant_id, day, shard)"
        " DO UPDATE SET takings_won = merchant_day_takings.takings_won + EXCLUDED.takings_won"
    )
)
_upsert = sqlite.insert(merchant_day_takings)
_ADD_ON_SQLITE = _upsert.on_conflict_do_update(
    index_elements=["merchant_id", "day", "shard"],
    set_={"takings_won": merchant_day_takings.c.takings_won + _upsert.excluded.takings_won},
)


class DayTakings:
    """What a transaction's payments add to their merchants' takings, until its commit."""

    def __init__(self) -> None:
        self._added: dict[TakingsRow, tuple[int, int]] = {}
        """By row: the merchant's region, and the won added."""

    def add(
        self,
        *,
        region_id: int,
        merchant_id: int,
        paid_at: datetime,
        transaction_id: int,
        amount_won: int,
    ) -> None:
        shard = credited_shard(transaction_id, MERCHANT_BALANCE_SHARDS)  # the payable's
        row = (merchant_id, seoul_day(paid_at), shard)
        _, added = self._added.get(row, (region_id, 0))
        self._added[row] = (region_id, added + amount_won)

    def snapshot(self) -> dict[TakingsRow, tuple[int, int]]:
        return dict(self._added)

    def restore(self, snapshot: dict[TakingsRow, tuple[int, int]]) -> None:
        """Forget what a payment rolled back to its savepoint had added."""
        self._added = dict(snapshot)

    def write(self, connection: Connection) -> None:
        """Add every sum kept to its row, in key order; nothing kept, no statement."""
        added, self._added = self._added, {}
        ordered = sorted(added.items())
        if not ordered:
            return
        if connection.dialect.name == "postgresql":
            _ADD_ON_POSTGRESQL.execute(
                connection,
                {
                    "b_merchants": [merchant for (merchant, _, _), _ in ordered],
                    "b_days": [day for (_, day, _), _ in ordered],
                    "b_shards": [shard for (_, _, shard), _ in ordered],
                    "b_regions": [region for _, (region, _) in ordered],
                    "b_amounts": [won for _, (_, won) in ordered],
                },
            )
            return
        connection.execute(
            _ADD_ON_SQLITE,
            [
                {
                    "merchant_id": merchant,
                    "day": day,
                    "shard": shard,
                    "region_id": region,
                    "takings_won": won,
                }
                for (merchant, day, shard), (region, won) in ordered
            ],
        )
