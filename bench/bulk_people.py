"""Citizens with empty wallets, made in bulk for a bench: rows, not API calls.

One ``INSERT … SELECT generate_series`` per table makes the citizens, their wallet accounts
and balance rows, and their wallets, as ``accounts.sign_up_citizen`` would leave them; each
bench adds what its people need besides (users, tokens, identity digests).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, text

_STATEMENTS = (
    "INSERT INTO citizens (region_id, name, phone, created_at)"
    " SELECT :r, :name, :phone_prefix || i, :at FROM generate_series(1, :n) AS i",
    "INSERT INTO accounts (region_id, type, key, shard_count, may_go_negative)"
    " SELECT :r, 'wallet', 'wallet:citizen-' || c.id, 1, false FROM citizens c"
    " WHERE c.region_id = :r",
    "INSERT INTO account_balances (account_id, shard, region_id, balance_won,"
    " may_go_negative) SELECT a.id, 0, :r, 0, false FROM accounts a"
    " WHERE a.region_id = :r AND a.type = 'wallet'",
    "INSERT INTO wallets (region_id, citizen_id, account_id, created_at)"
    " SELECT :r, c.id, a.id, :at FROM citizens c JOIN accounts a"
    " ON a.region_id = :r AND a.key = 'wallet:citizen-' || c.id WHERE c.region_id = :r",
)


def insert_citizens_with_wallets(
    connection: Connection,
    *,
    region_id: int,
    count: int,
    name: str,
    phone_prefix: str,
    at: datetime,
) -> None:
    """``count`` citizens of ``region_id`` named ``name``, with phones ``phone_prefix`` 1, 2, …,
    each with an empty wallet."""
    values = {"r": region_id, "n": count, "at": at, "name": name, "phone_prefix": phone_prefix}
    for statement in _STATEMENTS:
        connection.execute(text(statement), values)
