"""Evidence: one hash chain per business (own sequence, own head), inserts that break the chain refused

Each entry gets `chain_seq`, its position in its business's chain (the "seq" of the hashed canonical form), unique
with `business_id`, which becomes required. An existing log was one chain for the whole database: it becomes the
chain of its business with chain_seq = seq, so every stored hash stays valid. A log that already mixes several
businesses (or entries without one) cannot be split without rewriting hashes: the migration refuses it.

The database now also refuses any INSERT that is not the next entry of its business's chain (number and previous
hash), so `INSERT OR REPLACE` can no longer overwrite an entry. On PostgreSQL, no role but the table's owner keeps
UPDATE, DELETE or TRUNCATE on the table.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MESSAGE = "evidence log is append-only"
_GENESIS = "0" * 64

# SQLite: the new entry must be its business's head + 1 and link to the head's hash (one index lookup of the head;
# an empty chain starts at 1 from the genesis hash). The last two conditions close what INSERT OR REPLACE could still
# do with a well-formed entry: replace a row through the primary key or the unique hash (that deletion fires no
# DELETE trigger). NEW.seq is -1 when the database assigns it.
SQLITE_INSERT_TRIGGER = f"""
CREATE TRIGGER evidence_append_only_insert BEFORE INSERT ON evidence
WHEN coalesce(
        (SELECT chain_seq = NEW.chain_seq - 1 AND hash = NEW.prev_hash FROM evidence
            WHERE business_id = NEW.business_id ORDER BY chain_seq DESC LIMIT 1),
        NEW.chain_seq = 1 AND NEW.prev_hash = '{_GENESIS}') IS NOT 1
    OR (NEW.seq > 0 AND NEW.seq <= coalesce((SELECT max(seq) FROM evidence), 0))
    OR EXISTS (SELECT 1 FROM evidence WHERE hash = NEW.hash)
BEGIN SELECT RAISE(ABORT, '{_MESSAGE}: INSERT refused (not the next entry of its business chain)'); END
"""

PG_INSERT_FUNCTION = f"""
CREATE OR REPLACE FUNCTION evidence_check_append() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_seq integer;
    last_hash text;
BEGIN
    SELECT chain_seq, hash INTO last_seq, last_hash FROM evidence
        WHERE business_id = NEW.business_id ORDER BY chain_seq DESC LIMIT 1;
    IF NEW.chain_seq IS DISTINCT FROM coalesce(last_seq, 0) + 1
            OR NEW.prev_hash IS DISTINCT FROM coalesce(last_hash, '{_GENESIS}') THEN
        RAISE EXCEPTION '{_MESSAGE}: INSERT refused (entry % of business % is not the next entry of its chain)',
            NEW.chain_seq, NEW.business_id USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$
"""

# Run by the table's owner: whatever default privileges gave other roles, only SELECT and INSERT remain to them.
# A frozen copy of storage.db._REVOKE_EVIDENCE_CHANGES as of this revision: a migration never imports live code.
PG_REVOKE_CHANGES = """
DO $$
DECLARE
    grantee_name text;
BEGIN
    FOR grantee_name IN
        SELECT DISTINCT grantee FROM information_schema.role_table_grants
        WHERE table_schema = current_schema() AND table_name = 'evidence'
          AND privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE', 'TRIGGER', 'REFERENCES')
          AND grantee <> (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'evidence'::regclass)
    LOOP
        -- Concatenated, not format(): a percent sign would be read as a parameter by the driver.
        EXECUTE 'REVOKE UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES ON evidence FROM '
            || CASE WHEN grantee_name = 'PUBLIC' THEN 'PUBLIC' ELSE quote_ident(grantee_name) END;
    END LOOP;
END
$$
"""


def _refuse_mixed_log() -> None:
    rows = op.get_bind().execute(sa.text("SELECT business_id, count(*) FROM evidence GROUP BY business_id")).all()
    if len(rows) > 1 or (rows and rows[0][0] is None):
        owners = ", ".join(f"{'no business' if b is None else f'business {b}'}: {n}" for b, n in rows)
        raise RuntimeError(
            f"migration 0005: the evidence log mixes entries of several businesses or without one ({owners}); "
            "it cannot be split into one chain per business without rewriting its hashes. Keep this version and "
            "export the evidence files you need before upgrading."
        )


def upgrade() -> None:
    _refuse_mixed_log()
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def _upgrade_postgresql() -> None:
    op.execute("ALTER TABLE evidence DISABLE TRIGGER evidence_no_update_delete")
    op.add_column("evidence", sa.Column("chain_seq", sa.Integer(), nullable=True))
    op.execute("UPDATE evidence SET chain_seq = seq")
    op.execute("ALTER TABLE evidence ENABLE TRIGGER evidence_no_update_delete")
    op.alter_column("evidence", "chain_seq", nullable=False)
    op.alter_column("evidence", "business_id", existing_type=sa.Integer(), nullable=False)
    op.create_unique_constraint("uq_evidence_business_chain_seq", "evidence", ["business_id", "chain_seq"])
    # Entries used to carry their seq explicitly: move the column's sequence past them, the database assigns it now.
    op.execute(
        "SELECT setval(pg_get_serial_sequence('evidence', 'seq'), coalesce((SELECT max(seq) FROM evidence), 0) + 1, "
        "false)"
    )
    op.execute(PG_INSERT_FUNCTION)
    op.execute(
        "CREATE TRIGGER evidence_append_check BEFORE INSERT ON evidence "
        "FOR EACH ROW EXECUTE FUNCTION evidence_check_append()"
    )
    op.execute(PG_REVOKE_CHANGES)


def _sqlite_edit_triggers() -> None:
    op.execute(
        f"CREATE TRIGGER evidence_no_update BEFORE UPDATE ON evidence "
        f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}: UPDATE refused'); END"
    )
    op.execute(
        f"CREATE TRIGGER evidence_no_delete BEFORE DELETE ON evidence "
        f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}: DELETE refused'); END"
    )


def _upgrade_sqlite() -> None:
    # The batch below rebuilds the table, which drops its triggers: they are created again afterwards.
    op.execute("DROP TRIGGER IF EXISTS evidence_no_update")
    op.execute("DROP TRIGGER IF EXISTS evidence_no_delete")
    op.add_column("evidence", sa.Column("chain_seq", sa.Integer(), nullable=True))
    op.execute("UPDATE evidence SET chain_seq = seq")
    with op.batch_alter_table("evidence") as batch_op:
        batch_op.alter_column("chain_seq", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("business_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint("uq_evidence_business_chain_seq", ["business_id", "chain_seq"])
    _sqlite_edit_triggers()
    op.execute(SQLITE_INSERT_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS evidence_append_check ON evidence")
        op.execute("DROP FUNCTION IF EXISTS evidence_check_append()")
        op.drop_constraint("uq_evidence_business_chain_seq", "evidence", type_="unique")
        op.alter_column("evidence", "business_id", existing_type=sa.Integer(), nullable=True)
        op.drop_column("evidence", "chain_seq")
        return
    op.execute("DROP TRIGGER IF EXISTS evidence_append_only_insert")
    op.execute("DROP TRIGGER IF EXISTS evidence_no_update")
    op.execute("DROP TRIGGER IF EXISTS evidence_no_delete")
    with op.batch_alter_table("evidence") as batch_op:
        batch_op.drop_constraint("uq_evidence_business_chain_seq", type_="unique")
        batch_op.alter_column("business_id", existing_type=sa.Integer(), nullable=True)
        batch_op.drop_column("chain_seq")
    _sqlite_edit_triggers()
