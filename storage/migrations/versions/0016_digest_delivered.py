"""The morning digest's delivery: digest_run.delivered_at, set once every chat has had it (a claimed digest without it
could not go out and is reported in the next one)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("digestrun") as batch:
        batch.add_column(sa.Column("delivered_at", storage.types.UTCDateTime(), nullable=True))
    # The digests sent before this version went out as far as anyone knows: none is reported as missed.
    op.execute("UPDATE digestrun SET delivered_at = sent_at")


def downgrade() -> None:
    with op.batch_alter_table("digestrun") as batch:
        batch.drop_column("delivered_at")
