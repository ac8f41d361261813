"""Evidence log: drop the indexes on kind and client_id

Nothing reads the log by kind or by client alone (exports go by invoice and reminder), and every index is one
more b-tree to update on each append: dropping these two keeps the cost of logging a state change low.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_evidence_kind", table_name="evidence")
    op.drop_index("ix_evidence_client_id", table_name="evidence")


def downgrade() -> None:
    op.create_index("ix_evidence_client_id", "evidence", ["client_id"])
    op.create_index("ix_evidence_kind", "evidence", ["kind"])
