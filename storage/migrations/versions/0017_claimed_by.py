"""Several processes on one database: the process that claimed an outbox row or a digest (storage/workers.py), so a
row left `sending` or a digest left undelivered by a process that died is taken up again at once, and never one that a
live process is still working on

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=120), nullable=True))
    with op.batch_alter_table("digestrun") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("digestrun") as batch:
        batch.drop_column("claimed_by")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claimed_by")
