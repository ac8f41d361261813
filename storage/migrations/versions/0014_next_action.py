"""A due scan whose cost follows what is due: each invoice's next possible action date, indexed

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("invoice") as batch_op:
        batch_op.add_column(sa.Column("next_action_on", sa.Date(), nullable=True))
    op.create_index("ix_invoice_next_action", "invoice", ["business_id", "next_action_on"])
    _backfill()


def _backfill() -> None:
    """Date the invoices already stored, by the policy itself (ladders, profiles, holidays and the history of steps
    sent are beyond SQL), in batches of storage.schedule.CHUNK invoices. It reads only columns that exist at this
    revision (named one by one); a later revision renaming one of them must freeze a copy of the reader here."""
    from storage.schedule import recompute_connection

    conn = op.get_bind()
    ids = conn.execute(
        sa.text("SELECT id FROM invoice WHERE state NOT IN ('paid', 'cancelled', 'written_off') ORDER BY id")
    ).scalars()
    recompute_connection(conn, list(ids))


def downgrade() -> None:
    op.drop_index("ix_invoice_next_action", table_name="invoice")
    with op.batch_alter_table("invoice") as batch_op:
        batch_op.drop_column("next_action_on")
