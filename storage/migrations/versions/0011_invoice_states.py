"""Every state an invoice can be in: on each invoice what was credited, written off and over-paid, the day it was
last paid and the last promise broken; open invoices with money received become partially paid, credit notes are
counted apart (one for the whole of an unpaid invoice cancels it) and a written-off invoice records what it gave up

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AMOUNTS = ("amount_credited", "amount_written_off", "amount_overpaid")


def upgrade() -> None:
    with op.batch_alter_table("invoice") as batch_op:
        for name in _AMOUNTS:
            batch_op.add_column(sa.Column(name, storage.types.Money(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("last_paid_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("broken_promise", sa.Date(), nullable=True))
    # A credit note (a payment noted "avoir ...") is not money received: an invoice only credited stays open, and
    # one credited in full with nothing paid is cancelled.
    op.execute(
        "UPDATE invoice SET amount_credited = (SELECT COALESCE(SUM(payment.amount), 0) FROM payment"
        " WHERE payment.invoice_id = invoice.id AND payment.note LIKE 'avoir %')"
    )
    op.execute("UPDATE invoice SET state = 'partially_paid' WHERE state = 'open' AND amount_paid > amount_credited")
    op.execute(
        "UPDATE invoice SET state = 'cancelled'"
        " WHERE state = 'paid' AND amount_credited > 0 AND amount_paid = amount_credited"
    )
    op.execute("UPDATE invoice SET amount_written_off = amount - amount_paid WHERE state = 'written_off'")
    op.execute(
        "UPDATE invoice SET last_paid_on = (SELECT MAX(payment.paid_on) FROM payment"
        " WHERE payment.invoice_id = invoice.id AND payment.note NOT LIKE 'avoir %') WHERE amount_paid > 0"
    )


def downgrade() -> None:
    op.execute("UPDATE invoice SET state = 'open' WHERE state = 'partially_paid'")
    op.execute("UPDATE invoice SET state = 'paid' WHERE state = 'cancelled'")
    with op.batch_alter_table("invoice") as batch_op:
        for name in ("broken_promise", "last_paid_on", *reversed(_AMOUNTS)):
            batch_op.drop_column(name)
