"""Invoice PDF hash, and a client name key (case, quotes and spaces ignored) unique per business

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

`client_type` and `contractual_rate` of the CSV import fill columns that already exist (client.is_consumer,
client.contractual_rate); this revision adds what is new: invoice.pdf_sha256 and client.name_key.

Existing clients get their key here. Two existing clients whose names differ only by case, quotes or spaces
keep two rows (nothing is merged behind the owner's back: invoices and evidence point to both): the oldest gets
the plain key, each later one the key followed by "#<id>", so the unique index holds and an import matches the
oldest.
"""

import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A frozen copy of storage.names.client_name_key as of this revision: a migration must give the same result
# whatever the code becomes later.
_IGNORED = re.compile(
    "[\\s'\"`\u00b4\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u2032\u2033\u00ab\u00bb\u2039\u203a"
    "\ufeff\u200b\u200c\u200d\u2060\u00ad\u200e\u200f\u202a-\u202e\u2066-\u2069]+"
)


def _key(name: str) -> str:
    return _IGNORED.sub("", unicodedata.normalize("NFKC", name)).casefold()[:200]


def upgrade() -> None:
    with op.batch_alter_table("invoice") as batch_op:
        batch_op.add_column(sa.Column("pdf_sha256", sa.String(length=64), nullable=True))
    with op.batch_alter_table("client") as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.String(length=200), nullable=True))

    conn = op.get_bind()
    client = sa.table(
        "client", sa.column("id", sa.Integer), sa.column("business_id", sa.Integer), sa.column("name", sa.String)
    )
    seen: set[tuple[int, str]] = set()
    updates = []
    for row in conn.execute(sa.select(client.c.id, client.c.business_id, client.c.name).order_by(client.c.id)):
        key = _key(row.name)
        if (row.business_id, key) in seen:
            key = f"{key[:180]}#{row.id}"
        seen.add((row.business_id, key))
        updates.append({"b_id": row.id, "key": key})
    if updates:
        conn.execute(
            sa.text("UPDATE client SET name_key = :key WHERE id = :b_id"),
            updates,
        )

    with op.batch_alter_table("client") as batch_op:
        batch_op.alter_column("name_key", existing_type=sa.String(length=200), nullable=False)
        batch_op.create_index("uq_client_business_name_key", ["business_id", "name_key"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("client") as batch_op:
        batch_op.drop_index("uq_client_business_name_key")
        batch_op.drop_column("name_key")
    with op.batch_alter_table("invoice") as batch_op:
        batch_op.drop_column("pdf_sha256")
