"""Money in, the rest: payment plans and their instalments, the owner's tasks raised by invoice transitions (cards
to answer), the kind of a reminder (a ladder step, or a message drafted outside the ladder: thanks, penalty claim,
a plan's schedule or a missed instalment) and the business's VAT number

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payment_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reminder_id", sa.Integer(), nullable=True),
        sa.Column("started_on", sa.Date(), nullable=True),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["business_id"], ["business.id"]),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"]),
        sa.ForeignKeyConstraint(["reminder_id"], ["reminder.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_payment_plan_business_id", "payment_plan", ["business_id"])
    op.create_index("ix_payment_plan_client_id", "payment_plan", ["client_id"])
    op.create_table(
        "plan_instalment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("amount", storage.types.Money(), nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"]),
        sa.ForeignKeyConstraint(["plan_id"], ["payment_plan.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_id", "invoice_id", "seq", name="uq_plan_instalment_plan_invoice_seq"),
    )
    op.create_index("ix_plan_instalment_invoice_id", "plan_instalment", ["invoice_id"])
    op.create_index("ix_plan_instalment_plan_id", "plan_instalment", ["plan_id"])
    op.create_table(
        "owner_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("dedupe_key", sa.String(length=128), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.Text(), server_default="{}", nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("handled_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["business_id"], ["business.id"]),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"]),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("business_id", "dedupe_key", name="uq_owner_task_business_dedupe"),
    )
    op.create_index("ix_owner_task_business_state", "owner_task", ["business_id", "state"])
    op.create_index("ix_owner_task_invoice_id", "owner_task", ["invoice_id"])
    with op.batch_alter_table("business") as batch_op:
        batch_op.add_column(sa.Column("vat_number", sa.String(length=20), nullable=False, server_default=""))
    with op.batch_alter_table("invoice") as batch_op:
        batch_op.add_column(sa.Column("plan_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("plan_paid", storage.types.Money(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("plan_missed", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("reminder") as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="ladder"))


def downgrade() -> None:
    with op.batch_alter_table("reminder") as batch_op:
        batch_op.drop_column("kind")
    with op.batch_alter_table("invoice") as batch_op:
        batch_op.drop_column("plan_missed")
        batch_op.drop_column("plan_paid")
        batch_op.drop_column("plan_id")
    with op.batch_alter_table("business") as batch_op:
        batch_op.drop_column("vat_number")
    op.drop_index("ix_owner_task_invoice_id", table_name="owner_task")
    op.drop_index("ix_owner_task_business_state", table_name="owner_task")
    op.drop_table("owner_task")
    op.drop_index("ix_plan_instalment_plan_id", table_name="plan_instalment")
    op.drop_index("ix_plan_instalment_invoice_id", table_name="plan_instalment")
    op.drop_table("plan_instalment")
    op.drop_index("ix_payment_plan_client_id", table_name="payment_plan")
    op.drop_index("ix_payment_plan_business_id", table_name="payment_plan")
    op.drop_table("payment_plan")
