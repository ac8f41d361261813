"""Many businesses on one deployment: owners per chat (Telegram, Slack), each owner's chosen business, encrypted
secrets (SMTP, IMAP, Slack tokens) and each business's own mail servers, templates folder and Slack workspace

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("templates_dir", sa.String(length=500)),
    ("smtp_host", sa.String(length=255)),
    ("smtp_port", sa.Integer()),
    ("smtp_username", sa.String(length=254)),
    ("smtp_security", sa.String(length=10)),
    ("imap_host", sa.String(length=255)),
    ("imap_port", sa.Integer()),
    ("imap_username", sa.String(length=254)),
    ("imap_folder", sa.String(length=200)),
    ("slack_team_id", sa.String(length=32)),
)


def upgrade() -> None:
    with op.batch_alter_table("business") as batch_op:
        for name, kind in _COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=True))
    op.create_table(
        "business_owner",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["business_id"], ["business.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("business_id", "channel", "user_id", name="uq_business_owner"),
    )
    op.create_index("ix_business_owner_channel_user", "business_owner", ["channel", "user_id"])
    op.create_table(
        "owner_choice",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("chosen_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["business_id"], ["business.id"]),
        sa.PrimaryKeyConstraint("channel", "user_id"),
    )
    op.create_table(
        "business_secret",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["business_id"], ["business.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("business_id", "name", name="uq_business_secret"),
    )


def downgrade() -> None:
    op.drop_table("business_secret")
    op.drop_table("owner_choice")
    op.drop_index("ix_business_owner_channel_user", table_name="business_owner")
    op.drop_table("business_owner")
    with op.batch_alter_table("business") as batch_op:
        for name, _kind in reversed(_COLUMNS):
            batch_op.drop_column(name)
