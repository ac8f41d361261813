"""outbox.reported_at: when the chats were told of a row's outcome (its cards edited, its owners warned), so an
outcome recorded by a process that died before telling anyone is told by the next one instead of being lost

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("reported_at", storage.types.UTCDateTime(), nullable=True))
    # The outcomes recorded before this version were told as far as anyone knows: none is told again.
    op.execute("UPDATE outbox SET reported_at = updated_at WHERE state IN ('sent', 'failed', 'unknown')")


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("reported_at")
