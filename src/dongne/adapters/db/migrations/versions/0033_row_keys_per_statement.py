"""The remaining keys of the rows a disbursement and an expiry write are checked once per
statement.

On PostgreSQL eight keys still ran a query for every row inserted: an entry's account, a lot's
wallet and funder, a movement's lot, and a grant's wallet, lot, list (with its program) and
settling transaction (that one even for a NULL). ``EXPLAIN ANALYZE`` of a disbursement's chunk
of 10,000 people put half of its writing statement in those checks. Here each key becomes, as
the transaction's key did in 0031:

- after each INSERT, one statement-level trigger over the statement's rows that refuses the
  statement if any of them names a missing row (a NULL passes, as the key's MATCH SIMPLE let
  it), with the key's own error (SQLSTATE 23503, the constraint's name, PostgreSQL's wording);
- after an UPDATE that changes the key's columns (``lots`` and ``allowance_grants``; the entries
  and movements are append-only), a row trigger that checks that row. Its ``WHEN`` clause is
  evaluated without a call, so the updates that move value (a lot's ``remaining_won``, a
  grant's status) cost nothing more.

The other direction: a key also refused deleting, re-keying or truncating a row that rows
name. No code deletes or re-keys a row of ``accounts``, ``wallets``, ``lots`` or
``recipient_uploads`` (nothing in ``src`` deletes from them or updates their ids; a lot's
update moves only ``remaining_won``; a list's, its status and counts), and
``ledger_transactions`` is append-only (``dongne_append_only`` refuses DELETE and UPDATE,
0031 TRUNCATE). So, as 0031 argued for the transactions, each of the four parents now refuses
DELETE and TRUNCATE outright, and an UPDATE that changes its key's columns (a row trigger
whose ``WHEN`` keeps other updates free). A row that a check has seen can then never go away,
whoever runs beside it and at any isolation level (the guard looks at no data, so no snapshot
can fool it), and the check needs no lock: the key's ``FOR KEY SHARE`` on the parent, a row
lock written into the parent's tuple for each row checked, is gone with it. 0029's way (lock
the parents, refuse a delete only while rows name them) was not taken: locking a chunk's
10,000 wallets, accounts or lots would cost about what the keys' checks did.

No code relies on the keys' locks either. ``FOR KEY SHARE`` held back only ``FOR UPDATE``,
DELETE and a change of key. No one locks ``accounts`` or ``lots`` rows (a lot's updates take
a lock that key share does not conflict with); a list's row is locked ``FOR UPDATE`` only
after its program's row, which every chunk writing grants holds to its commit; and a lot or
grant is written by the transaction that locked its wallet ``FOR UPDATE`` first (payments,
gifts, purchases, the sign-up, a chunk's first statement), but for a chunk paying a wallet
opened between its two statements, whose lot a payment from that wallet then does not wait
for: it takes from the lots it has seen, as it would have had it come first (the two meet,
if at all, on the wallet's balance row, which each updates under that row's lock).

``recipient_uploads`` keeps 0029's guard: a list with rows is still refused a delete or a
change of id or region with that key's own error (its trigger's name sorts first). 0033's
refuses the rest, a change of program, and a change of region as well: 0029's guard looks
for the list's rows with the statement's snapshot, so at REPEATABLE READ a delete or a move
of the list could miss rows committed after that snapshot and leave them naming nothing
(``test_row_keys_per_statement``); refusing outright closes that too.

SQLite keeps its keys: there a check is a B-tree probe in process, not a query.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-05 09:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

KEYS = (
    ("ledger_entries", ("account_id",), "accounts", ("id",)),
    ("lots", ("wallet_id",), "wallets", ("id",)),
    ("lots", ("funder_account_id",), "accounts", ("id",)),
    ("lot_movements", ("lot_id",), "lots", ("id",)),
    ("allowance_grants", ("wallet_id",), "wallets", ("id",)),
    ("allowance_grants", ("lot_id",), "lots", ("id",)),
    ("allowance_grants", ("upload_id", "program_id"), "recipient_uploads", ("id", "program_id")),
    ("allowance_grants", ("settled_transaction_id",), "ledger_transactions", ("id",)),
)
"""Each key: its table and columns, the table it names and that table's columns."""

APPEND_ONLY = ("ledger_entries", "lot_movements")
"""Tables whose rows are never updated (``dongne_append_only``): no update check."""

GUARDED_ELSEWHERE = ("ledger_transactions",)
"""Parents already refusing DELETE, UPDATE and TRUNCATE (0001 and 0031)."""

LIST_ROWS_KEY = ("fk_recipient_rows_upload_id_recipient_uploads", ("id", "region_id"))
"""0029's key of a list's rows, and the list's columns it names. Its guard looks for the rows
with the deleting statement's snapshot, which at REPEATABLE READ misses rows committed after
it: a list's region, too, never changes."""

CHECK_FUNCTION = """
CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing record;
BEGIN
    IF TG_LEVEL = 'ROW' THEN
        SELECT {new_columns} INTO missing
            WHERE {new_present}
            AND NOT EXISTS (SELECT FROM {parent} AS p WHERE {new_named});
    ELSE
        SELECT {n_columns} INTO missing
            FROM (SELECT DISTINCT {columns} FROM new_rows WHERE {present}) AS n
            WHERE NOT EXISTS (SELECT FROM {parent} AS p WHERE {n_named})
            LIMIT 1;
    END IF;
    IF FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'foreign_key_violation', CONSTRAINT = '{key}',
            SCHEMA = TG_TABLE_SCHEMA, TABLE = '{table}',
            MESSAGE = 'insert or update on table "{table}" violates foreign key'
                      ' constraint "{key}"',
            DETAIL = format('Key ({columns})=({placeholders}) is not present in table'
                            ' "{parent}".', {missing_values});
    END IF;
    RETURN NULL;
END $$;
"""
"""One function a key, so PL/pgSQL keeps each statement's plan (no dynamic SQL). The rows'
distinct keys are probed one by one through the parent's primary key (or, for a list, its
UNIQUE (id, program_id)): a chunk's grants name one list, its lots one funder."""

INSERT_TRIGGER = """
CREATE TRIGGER {trigger}_on_insert AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
"""
UPDATE_TRIGGER = """
CREATE TRIGGER {trigger}_on_update AFTER UPDATE OF {columns} ON {table}
    FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION {function}();
"""

GUARD_FUNCTION = """
CREATE FUNCTION dongne_named_rows_stay() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME,
        MESSAGE = format('cannot %s %s: rows of other tables name its rows',
                         CASE TG_OP WHEN 'DELETE' THEN 'delete a row of'
                                    WHEN 'UPDATE' THEN 'change the key of a row of'
                                    ELSE 'truncate' END,
                         TG_TABLE_NAME),
        DETAIL = format('Its rows are named by keys checked once per statement: %s.',
                        TG_ARGV[0]);
END $$;
"""
"""The parents' guard. It refuses whether or not a row names the row at hand: a check that
takes no lock is sound only if nothing named can ever go, and reading the children here
would need a lock again."""

GUARD_TRIGGERS = """
CREATE TRIGGER {parent}_stay_named BEFORE DELETE ON {parent}
    FOR EACH ROW EXECUTE FUNCTION dongne_named_rows_stay('{keys}');
CREATE TRIGGER {parent}_keep_their_keys BEFORE UPDATE OF {columns} ON {parent}
    FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION dongne_named_rows_stay('{keys}');
CREATE TRIGGER {parent}_stay_named_truncate BEFORE TRUNCATE ON {parent}
    FOR EACH STATEMENT EXECUTE FUNCTION dongne_named_rows_stay('{keys}');
"""


def _key(table: str, columns: tuple[str, ...], parent: str) -> str:
    return f"fk_{table}_{columns[0]}_{parent}"


def _trigger(table: str, columns: tuple[str, ...]) -> str:
    """The stem of a key's triggers' names (and, ``dongne_`` before it, its function's)."""
    return f"{table}_{columns[0]}_present"


def _changed(columns: Sequence[str]) -> str:
    return " OR ".join(f"NEW.{column} IS DISTINCT FROM OLD.{column}" for column in columns)


def _check_function(
    table: str, columns: tuple[str, ...], parent: str, parent_columns: tuple[str, ...]
) -> str:
    pairs = list(zip(columns, parent_columns, strict=True))
    return CHECK_FUNCTION.format(
        function=f"dongne_{_trigger(table, columns)}",
        key=_key(table, columns, parent),
        table=table,
        parent=parent,
        columns=", ".join(columns),
        new_columns=", ".join(f"NEW.{column} AS {column}" for column in columns),
        n_columns=", ".join(f"n.{column}" for column in columns),
        new_present=" AND ".join(f"NEW.{column} IS NOT NULL" for column in columns),
        present=" AND ".join(f"{column} IS NOT NULL" for column in columns),
        new_named=" AND ".join(f"p.{named} = NEW.{column}" for column, named in pairs),
        n_named=" AND ".join(f"p.{named} = n.{column}" for column, named in pairs),
        placeholders=", ".join("%s" for _ in columns),
        missing_values=", ".join(f"missing.{column}" for column in columns),
    )


def _guarded_parents() -> dict[str, tuple[list[str], list[str]]]:
    """Each parent to guard: its key's columns, and the keys that name it."""
    parents: dict[str, tuple[list[str], list[str]]] = {}
    for table, columns, parent, parent_columns in KEYS:
        if parent in GUARDED_ELSEWHERE:
            continue
        named, keys = parents.setdefault(parent, ([], []))
        named.extend(column for column in parent_columns if column not in named)
        keys.append(_key(table, columns, parent))
    named, keys = parents["recipient_uploads"]
    named.extend(column for column in LIST_ROWS_KEY[1] if column not in named)
    keys.append(LIST_ROWS_KEY[0])
    return parents


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns, parent, parent_columns in KEYS:
        trigger = _trigger(table, columns)
        op.execute(_check_function(table, columns, parent, parent_columns))
        op.drop_constraint(_key(table, columns, parent), table, type_="foreignkey")
        op.execute(
            INSERT_TRIGGER.format(trigger=trigger, table=table, function=f"dongne_{trigger}")
        )
        if table not in APPEND_ONLY:
            op.execute(
                UPDATE_TRIGGER.format(
                    trigger=trigger,
                    table=table,
                    columns=", ".join(columns),
                    changed=_changed(columns),
                    function=f"dongne_{trigger}",
                )
            )
    op.execute(GUARD_FUNCTION)
    for parent, (named, keys) in _guarded_parents().items():
        op.execute(
            GUARD_TRIGGERS.format(
                parent=parent,
                columns=", ".join(named),
                changed=_changed(named),
                keys=", ".join(keys),
            )
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for parent in _guarded_parents():
        for trigger in ("stay_named", "keep_their_keys", "stay_named_truncate"):
            op.execute(f"DROP TRIGGER {parent}_{trigger} ON {parent}")
    op.execute("DROP FUNCTION dongne_named_rows_stay()")
    for table, columns, parent, parent_columns in KEYS:
        trigger = _trigger(table, columns)
        op.execute(f"DROP TRIGGER {trigger}_on_insert ON {table}")
        if table not in APPEND_ONLY:
            op.execute(f"DROP TRIGGER {trigger}_on_update ON {table}")
        op.execute(f"DROP FUNCTION dongne_{trigger}()")
        op.create_foreign_key(
            _key(table, columns, parent), table, parent, list(columns), list(parent_columns)
        )
