"""E-invoices in: the buyer's SIREN, SIRET and VAT number on the client (to match an e-invoice's buyer), and on the
invoice the kind of its original document (an e-invoice's PDF, or its XML kept apart from the PDF columns)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("client") as batch_op:
        batch_op.add_column(sa.Column("siren", sa.String(length=9), nullable=True))
        batch_op.add_column(sa.Column("siret", sa.String(length=14), nullable=True))
        batch_op.add_column(sa.Column("vat_number", sa.String(length=20), nullable=True))
        batch_op.create_index("ix_client_business_siren", ["business_id", "siren"])
        batch_op.create_index("ix_client_business_vat_number", ["business_id", "vat_number"])
    with op.batch_alter_table("invoice") as batch_op:
        batch_op.add_column(sa.Column("document_kind", sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column("xml_path", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("xml_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invoice") as batch_op:
        batch_op.drop_column("xml_sha256")
        batch_op.drop_column("xml_path")
        batch_op.drop_column("document_kind")
    with op.batch_alter_table("client") as batch_op:
        batch_op.drop_index("ix_client_business_vat_number")
        batch_op.drop_index("ix_client_business_siren")
        batch_op.drop_column("vat_number")
        batch_op.drop_column("siret")
        batch_op.drop_column("siren")
