"""The database step of an invoice import: apply already-validated client and invoice rows in one transaction.

Reading and validating the CSV lives in `services.imports`; this module only writes. Every function takes
`business_id` explicitly, and returns plain dataclasses. Clients are matched by their name key
(`storage.names.client_name_key`): a name that differs only by case, quotes or spaces is the same client.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, Executable, bindparam, insert, select, update
from sqlmodel import Session

from dunning.ladder import Ladder
from dunning.policy import InvoiceSnapshot, next_action_date
from dunning.states import ClientProfile, InvoiceState
from storage import evidence
from storage.db import write_session
from storage.models import Client, Invoice, Payment
from storage.schedule import ladder_of, recompute_connection
from storage.types import utcnow

BATCH = 5000
#: Invoice numbers per lookup of the stored invoices (well under SQLite's bound-parameter limit).
LOOKUP = 500

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): stage is "parse" or "write"."""


@dataclass(slots=True)
class ImportedClient:
    """A client as the file describes it; None means "not given" (a new client gets the default, an existing one
    keeps its value). `key` is its name key; `name` is used only when the client is new. Not frozen: the parser
    (`services.imports.ParsedClient`) fills it in row by row and the write reads it as it is, with no copy.
    Not `storage.clients.ClientRow`, which is a stored client as read back."""

    key: str
    name: str
    emails: str | None = None
    phone: str | None = None
    address: str | None = None
    language: str | None = None
    profile: str | None = None
    is_consumer: bool | None = None
    contractual_rate: Decimal | None = None


class InvoiceLike(Protocol):
    """What the write reads of an invoice row: the parser's own `services.imports.ParsedInvoice` (no copy per row)."""

    @property
    def number(self) -> str: ...
    @property
    def client_key(self) -> str: ...
    @property
    def issue_date(self) -> date: ...
    @property
    def due_date(self) -> date: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def currency(self) -> str: ...
    @property
    def paid_amount(self) -> Decimal | None: ...
    @property
    def pdf_path(self) -> str | None: ...
    @property
    def pdf_sha256(self) -> str | None: ...


@dataclass(slots=True)
class ImportCounts:
    """What the write did (or, in a dry run, would have done). Not frozen: `ImportReport` (services) extends it."""

    clients_created: int = 0
    clients_updated: int = 0
    invoices_created: int = 0
    invoices_updated: int = 0
    invoices_unchanged: int = 0
    payments_recorded: int = 0
    pdfs_attached: int = 0


def write_import(
    engine: Engine,
    *,
    business_id: int,
    clients: Sequence[ImportedClient],
    invoices: Sequence[InvoiceLike],
    source: Mapping[str, Any],
    actor: str,
    dry_run: bool = False,
    today: date | None = None,
    progress: Progress | None = None,
) -> ImportCounts:
    """Create or update the clients and invoices of one business in one transaction, with its evidence entries.

    `source` (the file name and its SHA-256) goes into the "import" evidence entry with the counts. Each invoice
    whose PDF is new or changed gets an "invoice_pdf_attached" entry (number, SHA-256, stored path) linked to the
    invoice, so the invoice's court dossier lists it. With `today`, an increase of paid_amount on an existing
    invoice is also a Payment dated `today`. A dry run counts and rolls back.
    """
    with write_session(engine) as session:
        conn = session.connection()
        counts, attached = _apply(
            conn,
            clients,
            invoices,
            business_id=business_id,
            dry_run=dry_run,
            progress=progress,
            today=today,
        )
        if dry_run:
            session.rollback()
            return counts
        _record(session, business_id=business_id, actor=actor, source=source, counts=counts, attached=attached)
    return counts


def _record(
    session: Session,
    *,
    business_id: int,
    actor: str,
    source: Mapping[str, Any],
    counts: ImportCounts,
    attached: list[InvoiceLike],
) -> None:
    it = Invoice.__table__  # type: ignore[attr-defined]
    ids: dict[str, int] = {}
    numbers = [inv.number for inv in attached]
    for i in range(0, len(numbers), LOOKUP):
        chunk = numbers[i : i + LOOKUP]
        rows = session.connection().execute(
            select(it.c.id, it.c.number).where(it.c.business_id == business_id, it.c.number.in_(chunk))
        )
        ids.update({r.number: r.id for r in rows})
    for inv in attached:
        evidence.record(
            session,
            actor=actor,
            kind="invoice_pdf_attached",
            business_id=business_id,
            invoice_id=ids[inv.number],
            payload={"number": inv.number, "sha256": inv.pdf_sha256, "file": inv.pdf_path, "import": source["file"]},
        )
    evidence.record(
        session,
        actor=actor,
        kind="import",
        business_id=business_id,
        payload={
            **source,
            "rows": counts.invoices_created + counts.invoices_updated + counts.invoices_unchanged,
            "clients_created": counts.clients_created,
            "clients_updated": counts.clients_updated,
            "created": counts.invoices_created,
            "updated": counts.invoices_updated,
            "payments": counts.payments_recorded,
            "pdfs": counts.pdfs_attached,
        },
    )


def _apply(
    conn: Connection,
    clients: Sequence[ImportedClient],
    invoices: Sequence[InvoiceLike],
    *,
    business_id: int,
    dry_run: bool,
    progress: Progress | None,
    today: date | None,
) -> tuple[ImportCounts, list[InvoiceLike]]:
    now = utcnow()
    ct = Client.__table__  # type: ignore[attr-defined]
    it = Invoice.__table__  # type: ignore[attr-defined]
    pt = Payment.__table__  # type: ignore[attr-defined]

    # Clients: one query loads them all, then new ones are inserted and changed ones updated in batches.
    existing_clients = {
        r.name_key: r
        for r in conn.execute(
            select(*(ct.c[k] for k in ("id", "name_key", *_CLIENT_FIELDS))).where(ct.c.business_id == business_id)
        )
    }
    new_clients: list[dict[str, object]] = []
    changed_clients: list[dict[str, object]] = []
    for pc in clients:
        old = existing_clients.get(pc.key)
        if old is None:
            new_clients.append(
                {
                    "business_id": business_id,
                    "name": pc.name,
                    "name_key": pc.key,
                    "emails": pc.emails or "",
                    "phone": pc.phone or "",
                    "address": pc.address or "",
                    "language": pc.language or "fr",
                    "profile": pc.profile or ClientProfile.STANDARD.value,
                    "is_consumer": bool(pc.is_consumer),
                    "contractual_rate": pc.contractual_rate,
                    "notes": "",
                    "created_at": now,
                }
            )
            continue
        values = {k: getattr(pc, k) if getattr(pc, k) is not None else getattr(old, k) for k in _CLIENT_FIELDS}
        if any(values[k] != getattr(old, k) for k in _CLIENT_FIELDS):
            changed_clients.append({"b_id": old.id, **values})

    if not dry_run:
        for chunk in _chunks(new_clients):
            conn.execute(insert(ct), chunk)
        if changed_clients:
            stmt = update(ct).where(ct.c.id == bindparam("b_id")).values(**{k: bindparam(k) for k in _CLIENT_FIELDS})
            for chunk in _chunks(changed_clients):
                conn.execute(stmt, chunk)
        client_ids: dict[str, int] = {
            r.name_key: r.id
            for r in conn.execute(select(ct.c.id, ct.c.name_key).where(ct.c.business_id == business_id))
        }
    else:
        client_ids = {key: r.id for key, r in existing_clients.items()}
        client_ids.update({str(c["name_key"]): -1 for c in new_clients})
    # A new invoice has no history: its next action date follows from its due date, state and client's profile.
    profiles = {key: r.profile for key, r in existing_clients.items()}
    profiles.update({str(c["name_key"]): str(c["profile"]) for c in new_clients})
    profiles.update({key: str(c["profile"]) for key, c in _changed_profiles(existing_clients, changed_clients)})
    next_on = _NewInvoiceDates(ladder_of(conn, business_id))

    invoice_update = (
        update(it)
        .where(it.c.id == bindparam("b_id"))
        .values(**{k: bindparam(k) for k in _INVOICE_FIELDS}, updated_at=bindparam("updated_at"))
    )
    # Rows are written batch by batch as they are built, so memory stays flat whatever the file size.
    new_invoices = _Batch(conn, insert(it), dry_run)
    new_with_pdf = _Batch(conn, insert(it), dry_run)  # same keys in every row of a batch: PDF rows apart
    changed_invoices = _Batch(conn, invoice_update, dry_run)
    payments = _Batch(conn, insert(pt), dry_run)
    attached: list[InvoiceLike] = []
    rescheduled: list[int] = []  # changed invoices: their history counts, recomputed once written
    unchanged = 0
    total = len(invoices)
    # The invoices already stored are looked up LOOKUP numbers at a time, not loaded all at once: 100 000 stored
    # rows held next to the 100 000 parsed ones were the peak memory of a re-import (about 70 MB), and the file's
    # numbers are unique, so a row written from one chunk is never looked up by another.
    existing_by_number = (
        select(*(it.c[k] for k in ("id", "number", *_INVOICE_FIELDS)))
        .where(it.c.business_id == business_id)
        .where(it.c.number.in_(bindparam("numbers", expanding=True)))
    )
    existing_invoices: dict[str, Any] = {}
    # A business's first import has nothing to look up (and 200 lookups of 500 numbers cost it 10 % of its time).
    any_stored = conn.execute(select(it.c.id).where(it.c.business_id == business_id).limit(1)).first() is not None
    for done, inv in enumerate(invoices, start=1):
        if progress is not None and done % 5000 == 0:
            progress("write", done, total)
        if any_stored and (done - 1) % LOOKUP == 0:
            numbers = [i.number for i in invoices[done - 1 : done - 1 + LOOKUP]]
            existing_invoices = {r.number: r for r in conn.execute(existing_by_number, {"numbers": numbers})}
        client_id = client_ids[inv.client_key]
        prev = existing_invoices.get(inv.number)
        if prev is None:
            paid = inv.paid_amount or Decimal("0.00")
            row = {
                "business_id": business_id,
                "client_id": client_id,
                "number": inv.number,
                "issue_date": inv.issue_date,
                "due_date": inv.due_date,
                "amount": inv.amount,
                "currency": inv.currency,
                "amount_paid": paid,
                "state": _paid_state(paid, inv.amount),
                "next_action_on": next_on(
                    inv.due_date, _paid_state(paid, inv.amount), profiles[inv.client_key], inv.amount - paid
                ),
                "created_at": now,
                "updated_at": now,
            }
            sha = inv.pdf_sha256
            if sha is None:
                new_invoices.add(row)
            else:
                new_with_pdf.add({**row, "pdf_path": inv.pdf_path, "pdf_sha256": sha})
                attached.append(inv)
            continue
        paid = inv.paid_amount if inv.paid_amount is not None else prev.amount_paid
        state = prev.state
        if state in (InvoiceState.OPEN, InvoiceState.PARTIALLY_PAID, InvoiceState.PAID) or (
            paid >= inv.amount and state == InvoiceState.PROMISED
        ):
            state = _paid_state(paid, inv.amount)
        values = {
            "client_id": client_id,
            "issue_date": inv.issue_date,
            "due_date": inv.due_date,
            "amount": inv.amount,
            "currency": inv.currency,
            "amount_paid": paid,
            "state": state,
            # A blank invoice_pdf cell keeps the PDF already known.
            "pdf_path": inv.pdf_path if inv.pdf_sha256 is not None else prev.pdf_path,
            "pdf_sha256": inv.pdf_sha256 if inv.pdf_sha256 is not None else prev.pdf_sha256,
        }
        if all(values[k] == getattr(prev, k) for k in _INVOICE_FIELDS):
            unchanged += 1
            continue
        if inv.pdf_sha256 is not None and inv.pdf_sha256 != prev.pdf_sha256:
            attached.append(inv)
        changed_invoices.add({"b_id": prev.id, **values, "updated_at": now})
        rescheduled.append(prev.id)
        if today is not None and paid > prev.amount_paid:
            payments.add(
                {
                    "invoice_id": prev.id,
                    "amount": paid - prev.amount_paid,
                    "paid_on": today,
                    "note": "import",
                    "created_at": now,
                }
            )
    counts = ImportCounts(
        clients_created=len(new_clients),
        clients_updated=len(changed_clients),
        invoices_created=new_invoices.flush() + new_with_pdf.flush(),
        invoices_updated=changed_invoices.flush(),
        invoices_unchanged=unchanged,
        payments_recorded=payments.flush(),
        pdfs_attached=len(attached),
    )
    if not dry_run:
        if changed_clients:  # a new profile moves the steps of all the client's invoices
            changed_ids = [c["b_id"] for c in changed_clients]
            rescheduled.extend(conn.execute(select(it.c.id).where(it.c.client_id.in_(changed_ids))).scalars())
        recompute_connection(conn, rescheduled)
    if progress is not None:
        progress("write", total, total)
    return counts, attached


_CLIENT_FIELDS = ("emails", "phone", "address", "language", "profile", "is_consumer", "contractual_rate")
_INVOICE_FIELDS = (
    "client_id",
    "issue_date",
    "due_date",
    "amount",
    "currency",
    "amount_paid",
    "state",
    "pdf_path",
    "pdf_sha256",
)


class _Batch:
    """Collects parameter rows for one statement and executes them BATCH at a time (counts only in a dry run)."""

    def __init__(self, conn: Connection, statement: Executable, dry_run: bool) -> None:
        self.conn, self.statement, self.dry_run = conn, statement, dry_run
        self.rows: list[dict[str, object]] = []
        self.count = 0

    def add(self, row: dict[str, object]) -> None:
        self.rows.append(row)
        self.count += 1
        if len(self.rows) >= BATCH:
            self.flush()

    def flush(self) -> int:
        """Write what is pending; returns the number of rows added in all."""
        if self.rows and not self.dry_run:
            self.conn.execute(self.statement, self.rows)
        self.rows = []
        return self.count


def _chunks(rows: list[dict[str, object]]) -> list[list[dict[str, object]]]:
    return [rows[i : i + BATCH] for i in range(0, len(rows), BATCH)]


def _changed_profiles(
    existing: dict[str, Any], changed: list[dict[str, object]]
) -> list[tuple[str, dict[str, object]]]:
    """(name key, new values) of the changed clients."""
    keys = {r.id: key for key, r in existing.items()}
    return [(keys[c["b_id"]], c) for c in changed]


class _NewInvoiceDates:
    """The next action date of a new invoice (no step sent yet), decided once per due date, state and profile."""

    def __init__(self, ladder: Ladder) -> None:
        self.ladder = ladder
        self.known: dict[tuple[date, str, str, bool], date | None] = {}

    def __call__(self, due: date, state: str, profile: str, balance: Decimal) -> date | None:
        key = (due, state, profile, balance > 0)
        if key not in self.known:
            snapshot = InvoiceSnapshot(0, 0, due, balance, state, profile)
            self.known[key] = next_action_date(snapshot, self.ladder)
        return self.known[key]


def _paid_state(paid: Decimal, amount: Decimal) -> str:
    """The state an imported invoice's payments give it: paid in full, partially paid or open."""
    if paid >= amount:
        return InvoiceState.PAID.value
    return (InvoiceState.PARTIALLY_PAID if paid > 0 else InvoiceState.OPEN).value
