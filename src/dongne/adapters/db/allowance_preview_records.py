"""The reads and the write of a recipient list's preview: who on it has a wallet in the
region or a grant of the program already, and the list's rows kept with their statuses.

A list has up to 500,000 rows, so both are set-wise. On PostgreSQL the people are matched by
one query, the list's identities sent as one array and answered as two (those with a wallet,
those granted), rather than two queries per 5,000 with a row back per wallet; the rows go in
by one COPY.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from itertools import islice

from sqlalchemy import select, text

from dongne.adapters.db.access_tables import users
from dongne.adapters.db.allowance_tables import allowance_grants, recipient_rows
from dongne.adapters.db.bulk_writes import write_rows
from dongne.adapters.db.table_store import TableStore
from dongne.adapters.db.tables import wallets
from dongne.domain.allowances import Preview, RowStatus

SQLITE_MATCH_BATCH = 5_000
"""Identities per ``IN`` list on SQLite, well under its limit on bound parameters."""

_MATCHES = text(
    "SELECT array_agg(i.identity_hmac) FILTER (WHERE holders.identity_hmac IS NOT NULL),"
    " array_agg(holders.wallet_id) FILTER (WHERE holders.identity_hmac IS NOT NULL),"
    " array_agg(i.identity_hmac) FILTER (WHERE g.identity_hmac IS NOT NULL)"
    " FROM unnest(CAST(:identities AS VARCHAR[])) AS i(identity_hmac)"
    " LEFT JOIN (SELECT u.identity_hmac, w.id AS wallet_id FROM users u"
    " JOIN wallets w ON w.citizen_id = u.citizen_id AND w.region_id = :region_id) AS holders"
    " ON holders.identity_hmac = i.identity_hmac"
    " LEFT JOIN allowance_grants g"
    " ON g.program_id = :program_id AND g.identity_hmac = i.identity_hmac"
)
"""One statement for the whole list, so that PostgreSQL may hash it and read the region's
wallets once (0.45 s of its CPU for 100,000 people), rather than probe two indexes per
person (1.2 s). Each join finds at most one row: identities, a person's wallet in a region
and a program's grant to a person are each UNIQUE."""
_NO_JIT = text("SET LOCAL jit = off")
"""Past a million users the plan's estimated cost passes ``jit_above_cost``, and compiling
it (0.5 s, measured at 100,000 with 50,000-person queries) costs more than running it."""
_HEX_DIGESTS = re.compile(r"[0-9a-f]+(?:,[0-9a-f]+)*")
_ROW_COLUMNS = (
    "upload_id",
    "row_number",
    "region_id",
    "identity_hmac",
    "name",
    "phone",
    "amount_won",
    "status",
    "reason",
    "wallet_id",
)
_STATUS_TEXT = {status: status.value for status in RowStatus}
"""Each status's column value, looked up: an enum's ``.value`` is a property call per row."""


class AllowancePreviewRecords(TableStore):
    def preview_matches(
        self, region_id: int, program_id: int, identities: Collection[str]
    ) -> tuple[dict[str, int], set[str]]:
        """Of these identity HMACs: those with a wallet in the region (with the wallet's id),
        and those the program has granted already."""
        with_wallet: dict[str, int] = {}
        granted: set[str] = set()
        if not self._postgres:
            for batch in _batches(identities, SQLITE_MATCH_BATCH):
                with_wallet.update(self._with_wallet_sqlite(region_id, batch))
                granted.update(self._granted_sqlite(program_id, batch))
            return with_wallet, granted
        if identities:
            self.connection.execute(_NO_JIT)
            values = {
                "region_id": region_id,
                "program_id": program_id,
                "identities": _array_literal(identities),
            }
            have_wallets, their_wallets, were_granted = self.connection.execute(
                _MATCHES, values
            ).one()
            with_wallet.update(zip(have_wallets or (), their_wallets or (), strict=True))
            granted.update(were_granted or ())
        return with_wallet, granted

    def _with_wallet_sqlite(self, region_id: int, identities: list[str]) -> dict[str, int]:
        found = self.connection.execute(
            select(users.c.identity_hmac, wallets.c.id)
            .join(wallets, wallets.c.citizen_id == users.c.citizen_id)
            .where(wallets.c.region_id == region_id, users.c.identity_hmac.in_(identities))
        )
        return {str(identity): int(wallet_id) for identity, wallet_id in found}

    def _granted_sqlite(self, program_id: int, identities: list[str]) -> list[str]:
        return list(
            self.connection.execute(
                select(allowance_grants.c.identity_hmac).where(
                    allowance_grants.c.program_id == program_id,
                    allowance_grants.c.identity_hmac.in_(identities),
                )
            ).scalars()
        )

    def add_preview_rows(
        self, upload_id: int, region_id: int, preview: Preview, wallets: Mapping[str, int]
    ) -> None:
        """The list's rows with their statuses, and a matched row's wallet from ``wallets``
        (by identity), which the disbursement pays without looking the person up again (one
        COPY on PostgreSQL)."""
        status_text = _STATUS_TEXT
        matched = RowStatus.MATCHED
        write_rows(
            self.connection,
            recipient_rows,
            _ROW_COLUMNS,
            (
                (
                    upload_id,
                    row.row_number,
                    region_id,
                    row.identity_hmac,
                    row.name[:100],
                    row.phone[:20],
                    row.amount_won,
                    status_text[row.status],
                    row.reason,
                    wallets.get(row.identity_hmac or "") if row.status is matched else None,
                )
                for row in preview.rows
            ),
        )


def _array_literal(values: Collection[str]) -> str | list[str]:
    """The values as PostgreSQL's text form of an array when every one is a hex digest (no
    quoting needed, never ``NULL``): psycopg quotes each element of a list in Python (4 µs a
    digest here), most of what matching a list cost this process. Anything else goes as a
    list."""
    joined = ",".join(values)
    if _HEX_DIGESTS.fullmatch(joined) is not None:
        return "{" + joined + "}"
    return list(values)


def _batches(values: Collection[str], size: int) -> Iterator[list[str]]:
    """``values`` in lists of at most ``size``, in sorted order (so that the queries, and a
    plan's index reads, go the same way every time)."""
    ordered = iter(sorted(values))
    while batch := list(islice(ordered, size)):
        yield batch
