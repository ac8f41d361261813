"""Cards: chat and message ids as text, so Slack's channel ids ("D0123ABC") and message timestamps
("1712345678.000200") are stored like Telegram's numeric ids

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("card") as batch_op:
        for name in ("chat_id", "message_id"):
            batch_op.alter_column(
                name,
                existing_type=sa.BigInteger(),
                type_=sa.String(length=64),
                existing_nullable=False,
                postgresql_using=f"{name}::text" if postgres else None,
            )


def downgrade() -> None:
    # Only Telegram's numeric ids can go back; Slack's cards are dropped first.
    op.execute("DELETE FROM card WHERE channel LIKE 'slack%'")
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("card") as batch_op:
        for name in ("chat_id", "message_id"):
            batch_op.alter_column(
                name,
                existing_type=sa.String(length=64),
                type_=sa.BigInteger(),
                existing_nullable=False,
                postgresql_using=f"{name}::bigint" if postgres else None,
            )
