"""evidence log append-only: the database itself refuses UPDATE, DELETE and TRUNCATE on it

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 12:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MESSAGE = "evidence log is append-only"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE OR REPLACE FUNCTION evidence_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{_MESSAGE}: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
            END
            $$
            """
        )
        op.execute(
            "CREATE TRIGGER evidence_no_update_delete BEFORE UPDATE OR DELETE ON evidence "
            "FOR EACH ROW EXECUTE FUNCTION evidence_refuse_change()"
        )
        op.execute(
            "CREATE TRIGGER evidence_no_truncate BEFORE TRUNCATE ON evidence "
            "FOR EACH STATEMENT EXECUTE FUNCTION evidence_refuse_change()"
        )
    else:
        # SQLite has no TRUNCATE: "DELETE FROM evidence" is a DELETE, and a trigger disables the truncate shortcut.
        op.execute(
            f"CREATE TRIGGER evidence_no_update BEFORE UPDATE ON evidence "
            f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}: UPDATE refused'); END"
        )
        op.execute(
            f"CREATE TRIGGER evidence_no_delete BEFORE DELETE ON evidence "
            f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}: DELETE refused'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS evidence_no_truncate ON evidence")
        op.execute("DROP TRIGGER IF EXISTS evidence_no_update_delete ON evidence")
        op.execute("DROP FUNCTION IF EXISTS evidence_refuse_change()")
    else:
        op.execute("DROP TRIGGER IF EXISTS evidence_no_update")
        op.execute("DROP TRIGGER IF EXISTS evidence_no_delete")
