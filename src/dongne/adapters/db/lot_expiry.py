"""Emptying a chunk of a program's expired allowance lots into its budget: one EXPIRY ledger
transaction with an entry per wallet, a movement per lot, and the balances moved.

On PostgreSQL the server writes the chunk from the lots' own rows, in two statements, so no
row travels through Python: the first locks the chunk's wallets in id order (as payments and
gifts lock theirs, so it cannot deadlock with them) and returns the chunk's lot and wallet
ids; the second, whose snapshot is taken once those locks are held, so that it sees every
payment that spent from these lots before, reads the lots again, and from the rows it reads
posts the transaction, empties the lots, writes their movements and the wallets' entries, and
moves the balances. It touches only the lots the first statement found, whose wallets are
locked. Every key, CHECK and trigger runs on every row, as for any other write.

On SQLite, whose writers take the database's lock at BEGIN, the same chunk is read once and
written through ``post_batches`` and ``take_from_lots``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text

from dongne.adapters.db.allowance_batches import AllowanceBatchRecords, BatchDebitRefused
from dongne.adapters.db.bulk_writes import credit_balances
from dongne.domain.ledger import Posting, TransactionKind
from dongne.domain.lots import LotKind

_CHUNK_ENDS = text(
    "SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS position FROM lots"
    " WHERE funder_account_id = :b_funder AND kind = :b_kind"
    " AND remaining_won > 0 AND expires_at <= :b_now) AS expiring"
    " WHERE position % :b_every = 0 ORDER BY id"
)
_LOCK_CHUNK = text(
    "WITH chunk AS ("
    " SELECT id, wallet_id FROM lots"
    " WHERE funder_account_id = :b_funder AND kind = :b_kind"
    " AND id > :b_after AND id <= :b_through AND remaining_won > 0 AND expires_at <= :b_now"
    " ORDER BY id LIMIT :b_limit),"
    " locked AS ("
    " SELECT id FROM wallets WHERE id = ANY(ARRAY(SELECT wallet_id FROM chunk))"
    " ORDER BY id FOR UPDATE)"
    " SELECT ARRAY(SELECT id FROM chunk ORDER BY id), (SELECT count(*) FROM locked)"
)
# The lots are the first statement's (their wallets are locked: a lot never changes wallet),
# and the range of their ids bounds the scan of ``lots`` whatever plan joins them. The update
# takes what the read found (``remaining_won - amount``): were a lot changed by a writer that
# did not lock its wallet, its CHECK would refuse a negative rest. The transaction and its
# log-queue row are written only if some lot is left; the balanced-entries trigger checks the
# transaction at commit; a wallet whose balance does not cover its debit is named (the caller
# raises ``BatchDebitRefused``). The budget is credited by a statement of its own, after
# this one: the order in which PostgreSQL runs a statement's data-modifying CTEs is not
# defined, and the budget's row, which every chunk credits, is held only from then to the
# commit.
_EMPTY_CHUNK = text(
    "WITH live AS MATERIALIZED ("
    " SELECT l.id, l.remaining_won AS amount_won, w.account_id"
    " FROM unnest(CAST(:b_lots AS BIGINT[])) AS chunk(id)"
    " JOIN lots AS l ON l.id = chunk.id JOIN wallets AS w ON w.id = l.wallet_id"
    " WHERE l.id BETWEEN :b_first AND :b_last AND l.remaining_won > 0),"
    " total AS (SELECT count(*) AS lots, CAST(coalesce(sum(amount_won), 0) AS BIGINT) AS won"
    " FROM live),"
    " posted AS ("
    " INSERT INTO ledger_transactions (region_id, kind, created_at)"
    " SELECT :b_region, :b_transaction_kind, :b_now FROM total WHERE total.lots > 0"
    " RETURNING id),"
    " queued AS (INSERT INTO log_queue (transaction_id, region_id)"
    " SELECT id, :b_region FROM posted),"
    " taken AS ("
    " UPDATE lots SET remaining_won = lots.remaining_won - live.amount_won FROM live"
    " WHERE lots.id = live.id"
    " RETURNING lots.id, live.amount_won),"
    " moved AS (INSERT INTO lot_movements (region_id, transaction_id, lot_id, amount_won)"
    " SELECT :b_region, posted.id, taken.id, -taken.amount_won FROM posted, taken),"
    " by_wallet AS (SELECT account_id, CAST(sum(amount_won) AS BIGINT) AS amount_won"
    " FROM live GROUP BY account_id),"
    " entries AS (INSERT INTO ledger_entries (region_id, transaction_id, account_id, amount_won)"
    " SELECT :b_region, posted.id, by_wallet.account_id, -by_wallet.amount_won"
    " FROM posted, by_wallet"
    " UNION ALL SELECT :b_region, posted.id, :b_funder, total.won FROM posted, total),"
    " debited AS ("
    " UPDATE account_balances AS b SET balance_won = b.balance_won - by_wallet.amount_won"
    " FROM by_wallet WHERE b.account_id = by_wallet.account_id AND b.shard = 0"
    " AND b.balance_won >= by_wallet.amount_won RETURNING b.account_id)"
    " SELECT total.lots, total.won, CASE WHEN (SELECT count(*) FROM debited)"
    " < (SELECT count(*) FROM by_wallet) THEN (SELECT min(account_id) FROM by_wallet"
    " WHERE account_id NOT IN (SELECT account_id FROM debited)) END FROM total"
)


@dataclass(frozen=True)
class ExpiredChunk:
    """What a chunk emptied, and the last lot it looked at: the next chunk starts after it.
    None when no lot was left to look at; a chunk whose lots were all spent meanwhile empties
    none but still moves on."""

    lot_count: int
    won: int
    last_lot_id: int | None


LAST_LOT_ID = 2**63 - 1
"""The largest id a lot can have (a BIGINT): ``through_lot_id`` when a chunk has no end."""


class LotExpiryRecords(AllowanceBatchRecords):
    def expiring_chunk_ends(
        self, funder_account_id: int, now: datetime, chunk_size: int
    ) -> list[int]:
        """The id of every ``chunk_size``-th allowance lot funded by ``funder_account_id``
        that expired by ``now`` and holds something: the ends of chunks of that size."""
        return list(
            self.connection.execute(
                _CHUNK_ENDS,
                {
                    "b_funder": funder_account_id,
                    "b_kind": LotKind.ALLOWANCE.value,
                    "b_now": now,
                    "b_every": chunk_size,
                },
            ).scalars()
        )

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
        """Empty up to ``limit`` allowance lots funded by ``funder_account_id`` that expired
        by ``now``, the first in id order after lot ``after_lot_id`` up to ``through_lot_id``,
        into that account: one EXPIRY transaction. Allowance lots were never paid for
        (``paid_won`` is 0), so all that is left of them is the funder's."""
        if self._postgres:
            return self._expire_on_server(
                region_id, funder_account_id, now, (after_lot_id, through_lot_id), limit
            )
        lots = [
            lot
            for lot in self.expiring_lots(funder_account_id, now, after_lot_id, limit)
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
        self.take_from_lots(
            region_id, transaction_id, [(lot.lot_id, lot.remaining_won) for lot in lots]
        )
        return ExpiredChunk(len(lots), total, lots[-1].lot_id)

    def _expire_on_server(
        self,
        region_id: int,
        funder_account_id: int,
        now: datetime,
        lot_ids_within: tuple[int, int],
        limit: int,
    ) -> ExpiredChunk:
        after_lot_id, through_lot_id = lot_ids_within
        lot_ids, _ = self.connection.execute(
            _LOCK_CHUNK,
            {
                "b_funder": funder_account_id,
                "b_kind": LotKind.ALLOWANCE.value,
                "b_after": after_lot_id,
                "b_through": through_lot_id,
                "b_now": now,
                "b_limit": limit,
            },
        ).one()
        if not lot_ids:
            return ExpiredChunk(0, 0, None)
        lot_count, won, refused = self.connection.execute(
            _EMPTY_CHUNK,
            {
                "b_lots": lot_ids,
                "b_first": lot_ids[0],
                "b_last": lot_ids[-1],
                "b_region": region_id,
                "b_transaction_kind": TransactionKind.EXPIRY.value,
                "b_now": now,
                "b_funder": funder_account_id,
            },
        ).one()
        if refused is not None:
            raise BatchDebitRefused(int(refused))
        if won:
            credit_balances(self.connection, [Posting(funder_account_id, int(won))])
        return ExpiredChunk(int(lot_count), int(won), int(lot_ids[-1]))
