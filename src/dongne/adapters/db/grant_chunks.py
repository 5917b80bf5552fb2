"""Paying a chunk of an allowance list on the server (PostgreSQL): no row travels to Python.

A chunk was read into Python (its rows, then its people's wallets), and its entries, lots and
grants were built there and sent back by COPY: about 24 µs of Python a person, during which
the chunk's backend waited. Here the server does it from the list's own rows, in two
statements, as the expiry does (``lot_expiry``):

- the first finds the chunk (up to ``limit`` payable rows after ``after_row``, those the
  program granted already among them, to be skipped), finds the wallet of each person still
  to pay (the one the preview matched, or else by their identity), and locks those wallets
  in id order, as payments and gifts lock theirs. It hands
  back the rows to pay with their wallets and accounts as three array literals, which Python
  passes on unread;
- the second posts the ALLOWANCE_GRANT transaction and its log-queue row from those arrays
  and the list's rows: an entry from the budget, one per wallet in the rows' order, one to
  the pending account for people without a wallet; a lot per person with a wallet (ids drawn
  from the lots' sequence); a grant per person, pending where there is no wallet; and the
  wallets' credits. The budget's and the pending account's balances are left to the caller,
  which moves them last, at the chunk's turn.

The second statement reads neither the people nor their wallets nor the program's grants
again: a wallet's id and account never change, and the locks the first took hold them. It
used to, and the second look cost a fifth of a chunk's database time (three index probes a
person, one of them into the grants' text key). A grant another list's chunk commits between
the two statements is still refused by the grants' UNIQUE (program, person), which rolls the
chunk back, as when two chunks insert the same person at once.

Every key, CHECK and trigger runs on every row, as for any other write. SQLite pays a chunk
through Python (``services.allowance_chunks``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text

from dongne.adapters.db.allowance_batches import AllowanceBatchRecords
from dongne.adapters.db.bulk_writes import dump_json
from dongne.adapters.db.disbursement_records import PAYABLE_STATUSES
from dongne.domain.ledger import TransactionKind
from dongne.domain.lots import LotKind

# Only grants written by another list can name a person of this chunk (rows past the list's
# ``next_row`` are unpaid, and the preview set aside those paid before it). A list's paid and
# pending counts move in the same transaction as its grants, so while no other list of the
# program counts anyone paid, the grants are not asked about each person: that probe into
# their 64-character key was a fifth of this statement.
# A matched row names the wallet its preview found (migration 0034); only a row without one
# (unmatched then, or kept before 0034) is looked up through ``users`` and ``wallets``, the
# ``coalesce`` evaluating its subquery for those rows alone: the lookup by the 64-character
# identity was half of this statement (issue 13). A person who opened a wallet since the
# preview is so still paid into it. Each wallet is then locked by a LATERAL subquery, one
# index probe a person, taken in wallet id order because the rows are sorted by it first and
# a LATERAL join is a nested loop that keeps its outer rows' order; FOR UPDATE cannot lock
# the nullable side of an outer join itself. No join here is between two CTEs: the planner
# sizes a CTE from the list's statistics, which a list just uploaded does not have yet, and
# took one chunk's rows for one row, joining two CTEs of 10,000 rows by a nested loop (11 s
# a chunk where the statement takes 50 ms).
_LOCK_CHUNK = text(
    "WITH chunk AS MATERIALIZED (SELECT r.row_number, r.identity_hmac, r.wallet_id,"
    " (SELECT EXISTS (SELECT FROM recipient_uploads AS o"
    " WHERE o.program_id = :b_program AND o.id <> :b_upload"
    " AND o.paid_count + o.pending_count > 0))"
    " AND EXISTS (SELECT FROM allowance_grants AS g"
    " WHERE g.program_id = :b_program AND g.identity_hmac = r.identity_hmac) AS granted"
    " FROM recipient_rows AS r"
    " WHERE r.upload_id = :b_upload AND r.row_number > :b_after AND r.row_number <= :b_through"
    " AND r.status IN (:b_matched, :b_unmatched)"
    " ORDER BY r.row_number LIMIT :b_limit),"
    " found AS MATERIALIZED (SELECT n.row_number, w.id AS wallet_id, w.account_id"
    " FROM (SELECT c.row_number, coalesce(c.wallet_id, (SELECT w.id FROM users AS u"
    " JOIN wallets AS w ON w.citizen_id = u.citizen_id AND w.region_id = :b_region"
    " WHERE u.identity_hmac = c.identity_hmac)) AS wallet_id"
    " FROM chunk AS c WHERE NOT c.granted ORDER BY 2) AS n"
    " LEFT JOIN LATERAL (SELECT w.id, w.account_id FROM wallets AS w"
    " WHERE w.id = n.wallet_id AND w.region_id = :b_region FOR UPDATE) AS w ON TRUE)"
    " SELECT (SELECT max(row_number) FROM chunk), (SELECT count(*) FROM chunk WHERE granted),"
    " (SELECT count(wallet_id) FROM found),"
    " (SELECT CAST(array_agg(row_number ORDER BY row_number) AS TEXT) FROM found),"
    " (SELECT CAST(array_agg(wallet_id ORDER BY row_number) AS TEXT) FROM found),"
    " (SELECT CAST(array_agg(account_id ORDER BY row_number) AS TEXT) FROM found)"
)
# ``b_after`` and ``b_through`` bound the list's rows to the chunk's, so that the join reads a
# range of its key: the planner cannot size the arrays and would otherwise read the whole list.
# The lots' sequence is looked up once, by a subquery the plan runs once, not for each lot:
# pg_get_serial_sequence reads the catalogs on every call, about 3 µs a lot (issue 13).
_GRANT_CHUNK = text(
    "WITH chunk AS MATERIALIZED ("
    " SELECT r.row_number, r.identity_hmac, r.amount_won, p.wallet_id, p.account_id,"
    " CASE WHEN p.wallet_id IS NOT NULL THEN nextval("
    "(SELECT CAST(pg_get_serial_sequence('lots', 'id') AS REGCLASS))) END AS lot_id"
    " FROM unnest(CAST(:b_rows AS BIGINT[]), CAST(:b_wallets AS BIGINT[]),"
    " CAST(:b_accounts AS BIGINT[])) AS p(row_number, wallet_id, account_id)"
    " JOIN recipient_rows AS r ON r.upload_id = :b_upload AND r.row_number = p.row_number"
    " AND r.row_number > :b_after AND r.row_number <= :b_through"
    " ORDER BY r.row_number),"
    " totals AS (SELECT count(*) AS people, count(wallet_id) AS paid,"
    " CAST(coalesce(sum(amount_won), 0) AS BIGINT) AS won,"
    " CAST(coalesce(sum(amount_won) FILTER (WHERE wallet_id IS NULL), 0) AS BIGINT) AS pending"
    " FROM chunk),"
    " posted AS (INSERT INTO ledger_transactions (region_id, kind, created_at, idempotency_key)"
    " SELECT :b_region, :b_transaction_kind, :b_now, :b_key FROM totals WHERE people > 0"
    " RETURNING id),"
    " queued AS (INSERT INTO log_queue (transaction_id, region_id)"
    " SELECT id, :b_region FROM posted),"
    " entries AS (INSERT INTO ledger_entries (region_id, transaction_id, account_id, amount_won)"
    " SELECT :b_region, posted.id, e.account_id, e.amount_won FROM posted, ("
    " SELECT 0 AS position, CAST(:b_budget AS BIGINT) AS account_id, -won AS amount_won"
    " FROM totals"
    " UNION ALL SELECT row_number, account_id, amount_won FROM chunk WHERE wallet_id IS NOT NULL"
    " UNION ALL SELECT 2147483647, CAST(:b_pending AS BIGINT), pending FROM totals"
    " WHERE pending > 0) AS e ORDER BY e.position),"
    " lotted AS (INSERT INTO lots (id, region_id, wallet_id, kind, face_won, paid_won,"
    " remaining_won, acquired_at, expires_at, source_transaction_id, restriction,"
    " funder_account_id)"
    " SELECT chunk.lot_id, :b_region, chunk.wallet_id, :b_lot_kind, chunk.amount_won, 0,"
    " chunk.amount_won, :b_now, :b_expires, posted.id, CAST(:b_restriction AS JSON), :b_budget"
    " FROM posted, chunk WHERE chunk.wallet_id IS NOT NULL ORDER BY chunk.row_number),"
    " granted AS (INSERT INTO allowance_grants (region_id, program_id, identity_hmac,"
    " upload_id, row_number, amount_won, status, wallet_id, lot_id, transaction_id, granted_at)"
    " SELECT :b_region, :b_program, chunk.identity_hmac, :b_upload, chunk.row_number,"
    " chunk.amount_won, CASE WHEN chunk.wallet_id IS NULL THEN 'pending' ELSE 'granted' END,"
    " chunk.wallet_id, chunk.lot_id, posted.id, :b_now FROM posted, chunk"
    " ORDER BY chunk.row_number),"
    " credited AS (UPDATE account_balances AS b SET balance_won = b.balance_won + c.amount_won"
    " FROM chunk AS c WHERE b.account_id = c.account_id AND b.shard = 0)"
    " SELECT people, paid, won, pending FROM totals"
)


@dataclass(frozen=True)
class GrantChunk:
    """What the server's first statement found: where the chunk ends, and whom it skips."""

    last_row: int | None
    """The chunk's last row (the upload's ``next_row`` once it commits); None if no row."""
    skipped: int
    """Rows of people the program had granted already (through another list)."""
    payable: tuple[str, str, str] = ("{}", "{}", "{}")
    """The rows to pay, their people's wallets and the wallets' accounts (NULL for a person
    without one), as PostgreSQL array literals the second statement reads back."""


@dataclass(frozen=True)
class GrantedChunk:
    """What the server's second statement wrote: people paid into wallets and pending, the
    won in all and the won owed to people without a wallet (the pending account's)."""

    paid: int
    pending: int
    won: int
    pending_won: int


@dataclass(frozen=True)
class GrantTerms:
    """What every row of one program's chunk shares."""

    region_id: int
    program_id: int
    upload_id: int
    budget_account_id: int
    pending_account_id: int
    expires_at: datetime
    restriction: dict[str, Any] | None
    """As stored (``holding_rows.restriction_to_json``)."""


class GrantChunkRecords(AllowanceBatchRecords):
    def lock_grant_chunk(
        self, terms: GrantTerms, *, after_row: int, through_row: int, limit: int
    ) -> GrantChunk:
        """Find the chunk and lock its people's wallets in id order (PostgreSQL)."""
        last_row, skipped, _, rows, wallets, accounts = self.connection.execute(
            _LOCK_CHUNK, _span(terms, after_row, through_row) | {"b_limit": limit}
        ).one()
        if rows is None:  # every row of the chunk was granted already
            return GrantChunk(last_row, int(skipped))
        return GrantChunk(last_row, int(skipped), (rows, wallets, accounts))

    def grant_chunk(
        self,
        terms: GrantTerms,
        *,
        chunk: GrantChunk,
        after_row: int,
        now: datetime,
        key: str | None,
    ) -> GrantedChunk:
        """Pay ``chunk``, which ``lock_grant_chunk`` found after ``after_row``, in one
        ALLOWANCE_GRANT transaction carrying ``key`` (its approval's), leaving the budget's
        and the pending account's balances to the caller."""
        people, paid, won, pending_won = self.connection.execute(
            _GRANT_CHUNK, grant_parameters(terms, chunk, after_row=after_row, now=now, key=key)
        ).one()
        return GrantedChunk(int(paid), int(people - paid), int(won), int(pending_won))


def grant_parameters(
    terms: GrantTerms, chunk: GrantChunk, *, after_row: int, now: datetime, key: str | None
) -> dict[str, Any]:
    """The second statement's parameters (a function of its own so that a test can ask
    PostgreSQL how it would run the statement)."""
    rows, wallets, accounts = chunk.payable
    last_row = after_row if chunk.last_row is None else chunk.last_row  # None: no rows
    return _span(terms, after_row, last_row) | {
        "b_rows": rows,
        "b_wallets": wallets,
        "b_accounts": accounts,
        "b_transaction_kind": TransactionKind.ALLOWANCE_GRANT.value,
        "b_lot_kind": LotKind.ALLOWANCE.value,
        "b_now": now,
        "b_key": key,
        "b_budget": terms.budget_account_id,
        "b_pending": terms.pending_account_id,
        "b_expires": terms.expires_at,
        "b_restriction": dump_json(terms.restriction),
    }


def _span(terms: GrantTerms, after_row: int, through_row: int) -> dict[str, Any]:
    matched, unmatched = PAYABLE_STATUSES
    return {
        "b_upload": terms.upload_id,
        "b_program": terms.program_id,
        "b_region": terms.region_id,
        "b_after": after_row,
        "b_through": through_row,
        "b_matched": matched,
        "b_unmatched": unmatched,
    }
