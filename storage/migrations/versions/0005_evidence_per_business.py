"""Evidence: one hash chain per business (own sequence, own head), inserts that break the chain refused

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Placeholder so that later revisions can chain on "0005"; the body lands in the next commit.
    pass


def downgrade() -> None:
    pass
