"""A ledger transaction's rows are checked against their transaction once per statement.

On PostgreSQL the key ``(transaction_id, region_id) → ledger_transactions (id, region_id)``
(0027) ran a query and took a row lock for every row inserted into ``ledger_entries``,
``lot_movements``, ``lots`` and ``allowance_grants``. A disbursement's chunk and an expiry's
chunk write 10,000 rows of each that name one transaction, so the same check ran 10,000 times
over one row: three of the nine checks a person paid costs, two of the four a lot expired.
Here each of the four keys becomes, as the list rows' did in 0029:

- after each INSERT, one statement-level trigger that refuses the statement if any of its
  rows names a transaction that is missing or in another region, with the key's own error
  (SQLSTATE 23503, the constraint's name and its message);
- after an UPDATE that changes a row's transaction or region (``lots`` and
  ``allowance_grants``; the other two are append-only), a row trigger that checks that row,
  as the key's own update check did. Its ``WHEN`` clause is evaluated without a call, so the
  updates that move value (a lot's ``remaining_won``, a grant's status) cost nothing more;
  a statement-level UPDATE trigger would have copied every updated row into a transition
  table.

The other direction needs no trigger: ``ledger_transactions`` is append-only, its rows are
neither deleted nor re-keyed (``dongne_append_only`` refuses both), and now TRUNCATE too,
which the keys refused before. So no lock is taken on the transaction either: nothing can
remove it under a row that names it.

SQLite keeps its keys: there a check is a B-tree probe in process, not a query.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-05 02:30:00.000000
"""

from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

CHECKED = (
    ("ledger_entries", "transaction_id", False),
    ("lot_movements", "transaction_id", False),
    ("lots", "source_transaction_id", True),
    ("allowance_grants", "transaction_id", True),
)
"""Each table, its transaction column, and whether its rows may be updated at all."""

CHECK_FUNCTIONS = """
CREATE FUNCTION dongne_rows_in_their_{column}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing record;
    key text := format('fk_%s_{column}_ledger_transactions', TG_TABLE_NAME);
BEGIN
    IF TG_LEVEL = 'ROW' THEN
        SELECT NEW.{column} AS transaction_id, NEW.region_id AS region_id INTO missing
            WHERE NOT EXISTS (SELECT FROM ledger_transactions t
                              WHERE t.id = NEW.{column} AND t.region_id = NEW.region_id);
    ELSE
        SELECT n.transaction_id, n.region_id INTO missing
            FROM (SELECT DISTINCT {column} AS transaction_id, region_id FROM new_rows) AS n
            WHERE NOT EXISTS (SELECT FROM ledger_transactions t
                              WHERE t.id = n.transaction_id AND t.region_id = n.region_id)
            LIMIT 1;
    END IF;
    IF FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'foreign_key_violation', CONSTRAINT = key, TABLE = TG_TABLE_NAME,
            MESSAGE = format('insert or update on table "%s" violates foreign key'
                             ' constraint "%s"', TG_TABLE_NAME, key),
            DETAIL = format('Key ({column}, region_id)=(%s, %s) is not present in table'
                            ' "ledger_transactions".', missing.transaction_id, missing.region_id);
    END IF;
    RETURN NULL;
END $$;
"""
"""One function a column name, so PL/pgSQL keeps each statement's plan (no dynamic SQL).
The columns are NOT NULL, as the key's MATCH SIMPLE would otherwise have let a NULL pass."""

INSERT_TRIGGER = """
CREATE TRIGGER {table}_inserted_in_their_transaction AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dongne_rows_in_their_{column}();
"""
UPDATE_TRIGGER = """
CREATE TRIGGER {table}_moved_in_their_transaction AFTER UPDATE OF {column}, region_id ON {table}
    FOR EACH ROW
    WHEN (NEW.{column} IS DISTINCT FROM OLD.{column}
          OR NEW.region_id IS DISTINCT FROM OLD.region_id)
    EXECUTE FUNCTION dongne_rows_in_their_{column}();
"""
TRUNCATE_GUARD = """
CREATE TRIGGER ledger_transactions_append_only_truncate BEFORE TRUNCATE ON ledger_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION dongne_append_only();
"""


def _key(table: str, column: str) -> str:
    return f"fk_{table}_{column}_ledger_transactions"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in sorted({column for _, column, _ in CHECKED}):
        op.execute(CHECK_FUNCTIONS.format(column=column))
    for table, column, updatable in CHECKED:
        op.drop_constraint(_key(table, column), table, type_="foreignkey")
        op.execute(INSERT_TRIGGER.format(table=table, column=column))
        if updatable:
            op.execute(UPDATE_TRIGGER.format(table=table, column=column))
    op.execute(TRUNCATE_GUARD)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER ledger_transactions_append_only_truncate ON ledger_transactions")
    for table, column, updatable in CHECKED:
        op.execute(f"DROP TRIGGER {table}_inserted_in_their_transaction ON {table}")
        if updatable:
            op.execute(f"DROP TRIGGER {table}_moved_in_their_transaction ON {table}")
        op.create_foreign_key(
            _key(table, column),
            table,
            "ledger_transactions",
            [column, "region_id"],
            ["id", "region_id"],
        )
    for column in sorted({column for _, column, _ in CHECKED}):
        op.execute(f"DROP FUNCTION dongne_rows_in_their_{column}()")
