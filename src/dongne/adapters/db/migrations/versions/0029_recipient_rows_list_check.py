"""A recipient list's rows are checked against their list once per statement, not once per row.

On PostgreSQL the key ``(upload_id, region_id) → recipient_uploads (id, region_id)`` ran its
check for each row a list's COPY wrote: a query and a row lock on the same list, 9 µs a row,
more than half of what PostgreSQL spent storing a list (0.9 of 1.7 s of its CPU for 100,000
rows, measured around the upload). Every row of a COPY names the same list, so the check
is made set-wise instead, enforcing the same reference in both directions:

- after each INSERT or UPDATE on ``recipient_rows``, one statement-level trigger locks the
  lists its rows name (``FOR KEY SHARE``, as a key's check does, so that no one deletes one
  until this transaction ends) and refuses the statement if any row's list is missing or in
  another region, with the key's own error (SQLSTATE 23503, the constraint's name);
- before a list's DELETE, or an UPDATE of its id or region, a row trigger refuses it while
  rows name it; TRUNCATE of the lists is refused while any row exists. A delete waits for the
  lock an inserting transaction holds, then sees its rows (each statement of a trigger takes a
  fresh snapshot at READ COMMITTED), as a key's check would.

SQLite keeps the key: there a check is a B-tree probe in process, not a query.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-04 13:00:00.000000
"""

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

KEY = "fk_recipient_rows_upload_id_recipient_uploads"
"""The key the triggers replace; their errors carry its name, as its own did."""

CHECK_ROWS = """
CREATE FUNCTION dongne_recipient_rows_in_their_list() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing record;
    key text := 'fk_recipient_rows_upload_id_recipient_uploads';
BEGIN
    PERFORM 1 FROM recipient_uploads u
        WHERE (u.id, u.region_id) IN (SELECT upload_id, region_id FROM new_rows)
        FOR KEY SHARE OF u;
    SELECT n.upload_id, n.region_id INTO missing
        FROM (SELECT DISTINCT upload_id, region_id FROM new_rows) AS n
        WHERE NOT EXISTS (SELECT FROM recipient_uploads u
                          WHERE u.id = n.upload_id AND u.region_id = n.region_id)
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'foreign_key_violation', CONSTRAINT = key, TABLE = 'recipient_rows',
            MESSAGE = format('insert or update on table "recipient_rows" violates foreign key'
                             ' constraint "%s"', key),
            DETAIL = format('Key (upload_id, region_id)=(%s, %s) is not present in table'
                            ' "recipient_uploads".', missing.upload_id, missing.region_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER recipient_rows_inserted_in_their_list AFTER INSERT ON recipient_rows
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dongne_recipient_rows_in_their_list();
CREATE TRIGGER recipient_rows_updated_in_their_list AFTER UPDATE ON recipient_rows
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dongne_recipient_rows_in_their_list();

CREATE FUNCTION dongne_recipient_upload_keeps_its_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    key text := 'fk_recipient_rows_upload_id_recipient_uploads';
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        IF EXISTS (SELECT FROM recipient_rows) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'foreign_key_violation', CONSTRAINT = key,
                MESSAGE = 'cannot truncate recipient_uploads: recipient_rows name its lists';
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND (NEW.id, NEW.region_id) = (OLD.id, OLD.region_id) THEN
        RETURN NEW;
    END IF;
    IF EXISTS (SELECT FROM recipient_rows WHERE upload_id = OLD.id) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'foreign_key_violation', CONSTRAINT = key, TABLE = 'recipient_uploads',
            MESSAGE = format('update or delete on table "recipient_uploads" violates foreign'
                             ' key constraint "%s" on table "recipient_rows"', key),
            DETAIL = format('Key (id, region_id)=(%s, %s) is still referenced from table'
                            ' "recipient_rows".', OLD.id, OLD.region_id);
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER recipient_upload_keeps_its_rows
    BEFORE DELETE OR UPDATE OF id, region_id ON recipient_uploads
    FOR EACH ROW EXECUTE FUNCTION dongne_recipient_upload_keeps_its_rows();
CREATE TRIGGER recipient_uploads_truncated_keep_rows BEFORE TRUNCATE ON recipient_uploads
    FOR EACH STATEMENT EXECUTE FUNCTION dongne_recipient_upload_keeps_its_rows();
"""

DROP_CHECKS = """
DROP TRIGGER recipient_uploads_truncated_keep_rows ON recipient_uploads;
DROP TRIGGER recipient_upload_keeps_its_rows ON recipient_uploads;
DROP FUNCTION dongne_recipient_upload_keeps_its_rows();
DROP TRIGGER recipient_rows_updated_in_their_list ON recipient_rows;
DROP TRIGGER recipient_rows_inserted_in_their_list ON recipient_rows;
DROP FUNCTION dongne_recipient_rows_in_their_list();
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_constraint(KEY, "recipient_rows", type_="foreignkey")
    op.execute(CHECK_ROWS)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(DROP_CHECKS)
    op.create_foreign_key(
        KEY, "recipient_rows", "recipient_uploads", ["upload_id", "region_id"], ["id", "region_id"]
    )
