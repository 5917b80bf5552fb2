"""PostgreSQL's deferred balance check sums each ledger transaction once, not once per entry.

The constraint trigger fires for every entry at commit and summed all of its transaction's
entries each time: n² work for a transaction of n entries (a settlement run, a chunk of an
allowance disbursement). Entries of one ledger transaction are inserted together, so their
deferred firings come one after another: the check now remembers, for the rest of the database
transaction, the last ledger transaction it found balanced and skips its other entries. A
skipped entry is safe: the sum it would compute is the one already checked (at commit every
entry is in, and entries are append-only).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-26 16:30:00.000000
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

CHECK_ONCE = """
CREATE OR REPLACE FUNCTION dongne_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('dongne.balanced_transaction', true) = NEW.transaction_id::text THEN
        RETURN NULL;
    END IF;
    IF (SELECT COALESCE(SUM(amount_won), 0) FROM ledger_entries
        WHERE transaction_id = NEW.transaction_id) <> 0 THEN
        RAISE EXCEPTION 'ledger transaction % does not sum to zero', NEW.transaction_id
            USING ERRCODE = 'check_violation';
    END IF;
    PERFORM set_config('dongne.balanced_transaction', NEW.transaction_id::text, true);
    RETURN NULL;
END $$
"""

CHECK_EVERY_ENTRY = """
CREATE OR REPLACE FUNCTION dongne_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT COALESCE(SUM(amount_won), 0) FROM ledger_entries
        WHERE transaction_id = NEW.transaction_id) <> 0 THEN
        RAISE EXCEPTION 'ledger transaction % does not sum to zero', NEW.transaction_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CHECK_ONCE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CHECK_EVERY_ENTRY)
