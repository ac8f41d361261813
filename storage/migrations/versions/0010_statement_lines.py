"""Bank statements in: every statement line read for a business (its line id unique, so a statement imported twice
records nothing twice) with what became of it, and on each payment the statement line it came from

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "statement_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("booking_date", sa.Date(), nullable=False),
        sa.Column("amount", storage.types.Money(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("counterparty", sa.String(length=200), nullable=False),
        sa.Column("remittance", sa.String(length=500), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["business_id"], ["business.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("business_id", "line_id", name="uq_statement_line_business_line"),
    )
    with op.batch_alter_table("payment") as batch_op:
        batch_op.add_column(sa.Column("statement_line_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_payment_statement_line_id", "statement_line", ["statement_line_id"], ["id"])
        batch_op.create_index("ix_payment_statement_line_id", ["statement_line_id"])


def downgrade() -> None:
    with op.batch_alter_table("payment") as batch_op:
        batch_op.drop_index("ix_payment_statement_line_id")
        batch_op.drop_constraint("fk_payment_statement_line_id", type_="foreignkey")
        batch_op.drop_column("statement_line_id")
    op.drop_table("statement_line")
