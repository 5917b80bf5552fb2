"""Writing thousands of rows per statement: COPY on PostgreSQL, one ``executemany`` on SQLite.

A policy allowance pays a million people; its disbursement and its expiry write a handful of
rows per person (a ledger entry, a lot, the grant; at expiry a lot's movement) and move a
balance per wallet. Sent as one INSERT per row, even pipelined, PostgreSQL parses, plans and
answers each one; COPY streams the rows into the table in one statement, which is the cheapest
way into a table with its indexes, checks and triggers intact (they all still run: nothing is
bypassed). Balances are moved by one ``UPDATE … FROM unnest(…)`` per set of accounts. SQLite
has neither and needs neither: it runs the same rows as one ``executemany`` in process.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import JSON, Connection, Table, bindparam, insert, text, update

from dongne.adapters.db.ledger_tables import account_balances
from dongne.domain.ledger import Posting

_CREDIT_MANY = text(
    "UPDATE account_balances AS b SET balance_won = b.balance_won + v.amount"
    " FROM unnest(CAST(string_to_array(:b_accounts, ',') AS BIGINT[]),"
    " CAST(string_to_array(:b_amounts, ',') AS BIGINT[]))"
    " AS v(account_id, amount) WHERE b.account_id = v.account_id AND b.shard = 0"
)
_DEBIT_MANY_IF_COVERED = text(
    "UPDATE account_balances AS b SET balance_won = b.balance_won - v.amount"
    " FROM unnest(CAST(string_to_array(:b_accounts, ',') AS BIGINT[]),"
    " CAST(string_to_array(:b_amounts, ',') AS BIGINT[]))"
    " AS v(account_id, amount)"
    " WHERE b.account_id = v.account_id AND b.shard = 0 AND b.balance_won >= v.amount"
)
_CREDIT = (
    update(account_balances)
    .where(account_balances.c.account_id == bindparam("b_account"), account_balances.c.shard == 0)
    .values(balance_won=account_balances.c.balance_won + bindparam("b_amount"))
)
_DEBIT_IF_COVERED = (
    update(account_balances)
    .where(
        account_balances.c.account_id == bindparam("b_account"),
        account_balances.c.shard == 0,
        account_balances.c.balance_won >= bindparam("b_amount"),
    )
    .values(balance_won=account_balances.c.balance_won - bindparam("b_amount"))
)


def write_rows(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> None:
    """Insert ``rows`` (values in the order of ``columns``) into ``table``, in the unit of
    work's transaction. JSON columns take Python values, as SQLAlchemy's inserts do."""
    if connection.dialect.name != "postgresql":
        mapped = [dict(zip(columns, row, strict=True)) for row in rows]
        if mapped:
            connection.execute(insert(table), mapped)
        return
    json_at = [i for i, name in enumerate(columns) if isinstance(table.c[name].type, JSON)]
    driver: Any = connection.connection.driver_connection
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        if not json_at:
            for row in rows:
                copy.write_row(row)
            return
        dumped = _JsonMemo()
        for row in rows:
            written: list[Any] = list(row)
            for i in json_at:
                written[i] = dumped(written[i])
            copy.write_row(written)


def dump_json(value: object) -> str | None:
    """A JSON column's value as the text COPY writes (None stays NULL)."""
    return None if value is None else json.dumps(value, separators=(",", ":"))


class _JsonMemo:
    """JSON text of a value, computed once per object: a disbursement's lots all carry the
    same restriction."""

    def __init__(self) -> None:
        self._last: tuple[object, str | None] = (object(), None)

    def __call__(self, value: object) -> str | None:
        if value is None:
            return None
        if self._last[0] is not value:
            self._last = (value, dump_json(value))
        return self._last[1]


def credit_balances(connection: Connection, changes: Sequence[Posting]) -> None:
    """Add each posting's amount to its single-row account (a wallet, a budget)."""
    if not changes:
        return
    if connection.dialect.name == "postgresql":
        connection.execute(_CREDIT_MANY, _arrays(changes))
        return
    connection.execute(
        _CREDIT, [{"b_account": p.account_id, "b_amount": p.amount_won} for p in changes]
    )


def debit_balances_if_covered(connection: Connection, changes: Sequence[Posting]) -> bool:
    """Take each posting's (positive) amount from its single-row account where it holds that
    much; False if any did not (the caller's unit of work rolls the rest back)."""
    if not changes:
        return True
    if connection.dialect.name == "postgresql":
        moved = connection.execute(_DEBIT_MANY_IF_COVERED, _arrays(changes)).rowcount
    else:
        moved = connection.execute(
            _DEBIT_IF_COVERED,
            [{"b_account": p.account_id, "b_amount": p.amount_won} for p in changes],
        ).rowcount
    return bool(moved == len(changes))


def _arrays(changes: Sequence[Posting]) -> dict[str, str]:
    return {
        "b_accounts": joined(p.account_id for p in changes),
        "b_amounts": joined(p.amount_won for p in changes),
    }


def joined(values: Iterable[int | str]) -> str:
    """Values for ``string_to_array(:param, ',')``: ten thousand of them as one text
    parameter. Passed as a list, psycopg dumps an array element by element in Python (a
    regular expression each, to see whether it needs quoting); this joins them in C. The
    values must not contain a comma: integers, hexadecimal digests."""
    return ",".join(map(str, values))
