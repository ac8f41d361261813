"""Business: the settings values last applied (so a choice made in the chat survives until the setting changes)
and the late-payment rates added from the chat; cards stored per business, per chat adapter and per chat

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("business") as batch_op:
        batch_op.add_column(sa.Column("settings_applied", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("rates_toml", sa.Text(), nullable=True))
    with op.batch_alter_table("card") as batch_op:
        batch_op.add_column(sa.Column("business_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("channel", sa.String(length=64), nullable=False, server_default="telegram"))
    op.execute("UPDATE card SET business_id = (SELECT reminder.business_id FROM reminder WHERE reminder.id = card.reminder_id)")
    with op.batch_alter_table("card") as batch_op:
        batch_op.alter_column("business_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key("fk_card_business_id", "business", ["business_id"], ["id"])
        batch_op.drop_constraint("uq_card_chat_message", type_="unique")
        batch_op.create_unique_constraint(
            "uq_card_business_channel_chat_message", ["business_id", "channel", "chat_id", "message_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("card") as batch_op:
        batch_op.drop_constraint("uq_card_business_channel_chat_message", type_="unique")
        batch_op.create_unique_constraint("uq_card_chat_message", ["chat_id", "message_id"])
        batch_op.drop_constraint("fk_card_business_id", type_="foreignkey")
        batch_op.drop_column("channel")
        batch_op.drop_column("business_id")
    with op.batch_alter_table("business") as batch_op:
        batch_op.drop_column("rates_toml")
        batch_op.drop_column("settings_applied")
