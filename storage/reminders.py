"""Reminder services: materialise what is due today, read reminders for display, and the owner's actions."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select as core_select
from sqlalchemy import text
from sqlmodel import Session, col, select

from dunning.invoice_states import (
    Dispute,
    Event,
    IllegalTransition,
    InvalidStatus,
    PaymentReceived,
    Promise,
    ResolveDispute,
    Transition,
    WriteOff,
)
from dunning.ladder import DEFAULT_LADDER, Ladder, ladder_from_toml
from dunning.policy import DueReminder, InvoiceSnapshot, due_reminders
from dunning.states import OPEN_REMINDER_STATES, InvoiceState, ReminderState
from storage.businesses import BusinessRow
from storage.evidence import record
from storage.gcpause import paused_gc
from storage.invoice_status import apply_to_invoice, pass_day
from storage.models import Business, Client, Invoice, Payment, Reminder, ReminderInvoice
from storage.types import utcnow

_PG_REFRESH_LOCK = 0x52454C42
_AWAITING_OWNER = (ReminderState.PENDING, ReminderState.FAILED)
#: Reminder.kind of a step of the ladder; every other kind is a message drafted outside it (see EXTRA_KINDS).
LADDER_KIND = "ladder"
#: Messages drafted outside the ladder, approved like a reminder (their `step` column holds the kind name too):
#: never cancelled or superseded by refresh_due, never part of the ladder's history of steps sent, and never
#: holding back the client's ladder reminder (a pending "merci" does not stop the next step of another invoice).
EXTRA_KINDS = ("thanks", "penalty_claim", "plan_schedule", "plan_reminder", "reply")
#: The invoices the ladder may chase (a promised one once its date has passed) and a promise may be recorded on.
_LADDER_STATES = (InvoiceState.OPEN, InvoiceState.PARTIALLY_PAID, InvoiceState.PROMISED)


class ActionError(Exception):
    """An owner action cannot be carried out; the message says why (shown to the owner)."""


class StaleReminderError(ActionError):
    """The reminder changed since the card was shown (already handled, paid meanwhile, ...)."""


class UnknownReminderError(ActionError):
    """No reminder with that id in this business."""


@dataclass(frozen=True, slots=True)
class InvoiceLineView:
    """One invoice as shown on a card."""

    invoice_id: int
    number: str
    issue_date: date
    due_date: date
    amount: Decimal
    amount_paid: Decimal
    currency: str
    state: str
    step: str
    days_overdue: int

    @property
    def balance(self) -> Decimal:
        """What is still owed."""
        return self.amount - self.amount_paid


@dataclass(frozen=True, slots=True)
class ReminderView:
    """A reminder with what a card needs to show it."""

    reminder_id: int
    version: int
    business_id: int
    client_id: int
    client_name: str
    client_emails: tuple[str, ...]
    client_phone: str
    client_language: str
    client_profile: str
    step: str
    state: str
    planned_date: date
    snoozed_until: date | None
    edited_subject: str | None
    edited_body: str | None
    sent_at: Any
    sent_to: str | None
    promise_broken: bool
    invoices: tuple[InvoiceLineView, ...]
    kind: str = LADDER_KIND  # "ladder", or one of EXTRA_KINDS (then `step` holds the kind name too)

    @property
    def is_extra(self) -> bool:
        """True for a message drafted outside the ladder (thanks, penalty claim, plan schedule, plan reminder)."""
        return self.kind != LADDER_KIND

    @property
    def total(self) -> Decimal:
        """The balance of the invoices it covers."""
        return sum((i.balance for i in self.invoices), Decimal("0.00"))

    @property
    def awaiting_owner(self) -> bool:
        """True while the owner still has to decide (pending, or failed and to be retried)."""
        return self.state in _AWAITING_OWNER


# --- business and ladder -------------------------------------------------------------------------------------


def business_ladder(business: Business | BusinessRow) -> Ladder:
    """The business's ladder: its own TOML definition, or the default one."""
    if business.ladder_toml:
        return _parsed_ladder(business.ladder_toml, business.slug)
    return DEFAULT_LADDER


@functools.lru_cache(maxsize=256)
def _parsed_ladder(text: str, slug: str) -> Ladder:
    """A ladder's TOML parsed once per text (a card reads the ladder at every tap; the Ladder is immutable)."""
    return ladder_from_toml(text, source=f"ladder of business {slug}")


def ladder_of(session: Session, *, business_id: int) -> Ladder:
    """The business's ladder, reading only its ladder's text (a card's channel needs nothing else)."""
    row = session.exec(select(Business.ladder_toml, Business.slug).where(Business.id == business_id)).first()
    if row is None:
        raise LookupError(f"business {business_id} not found")
    text, slug = row
    return _parsed_ladder(text, slug) if text else DEFAULT_LADDER


# --- reading -------------------------------------------------------------------------------------------------


def _fetch_raw(session: Session, stmt: Any) -> list[Any]:
    """Run a Core statement on the DB-API cursor and return plain tuples (no Row objects, no type processors).

    Used where a million rows are read: it halves the cost of reading them. Callers convert the raw values.
    """
    conn = session.connection()
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    args: Any = tuple(params[k] for k in compiled.positiontup) if compiled.positional else params
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(str(compiled), args)
        with paused_gc():  # rows are flat tuples: no cycles for the collector to find
            return list(cursor.fetchall())
    finally:
        cursor.close()


class _DateCache(dict[Any, "date | None"]):
    """Raw date values (ISO text on SQLite, dates on PostgreSQL) to dates, parsed once per distinct value.

    A dict subclass with __missing__, so a hit is a plain subscript (this runs twice per open invoice).
    """

    def __missing__(self, raw: Any) -> date | None:
        value = self[raw] = None if raw is None else raw if isinstance(raw, date) else date.fromisoformat(raw)
        return value


class _LocalDays(dict[Any, date]):
    """Raw timestamps (naive UTC text on SQLite, aware datetimes on PostgreSQL) to the owner's local day."""

    def __init__(self, tz: ZoneInfo) -> None:
        super().__init__()
        self.tz = tz

    def __missing__(self, raw: Any) -> date:
        stamp = raw if isinstance(raw, datetime) else datetime.fromisoformat(raw)
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)  # stored as naive UTC on SQLite
        day = self[raw] = stamp.astimezone(self.tz).date()
        return day


def invoice_snapshots(
    session: Session,
    business_id: int,
    *,
    exclude_clients: Iterable[int] = (),
    tz: str = "Europe/Paris",
    due_by: date | None = None,
) -> list[InvoiceSnapshot]:
    """The policy's view of every unpaid invoice of the business (with `due_by`: only those whose next possible
    action has come by that day, storage.schedule's indexed date): one query for the invoices, one for the history
    of steps sent. Read on the raw cursor, balances computed in SQL as cents: this runs over every open invoice."""
    # One pause for the whole read: each re-enable costs a pass over every new tuple.
    with paused_gc():
        return _invoice_snapshots(session, business_id, set(exclude_clients), tz, due_by)


def _invoice_snapshots(
    session: Session, business_id: int, excluded: set[int], tz: str, due_by: date | None
) -> list[InvoiceSnapshot]:
    dates, local_days = _DateCache(), _LocalDays(ZoneInfo(tz))
    it, ct = Invoice.__table__, Client.__table__  # type: ignore[attr-defined]
    rt, rit = Reminder.__table__, ReminderInvoice.__table__  # type: ignore[attr-defined]
    rows_stmt = (
        core_select(
            it.c.id,
            it.c.client_id,
            it.c.due_date,
            it.c.amount - it.c.amount_paid,
            it.c.state,
            ct.c.profile,
            it.c.promised_until,
        )
        # Indexed: `+ 0` keeps SQLite from driving the read from the client table through ix_invoice_client_id
        # (its choice for a business of 10,000 clients, which reads every invoice); the invoices whose date has come
        # are found by ix_invoice_next_action, then each client by its key.
        .join(ct, ct.c.id == (it.c.client_id if due_by is None else it.c.client_id + 0))
        .where(
            it.c.business_id == business_id,
            it.c.state.in_([s.value for s in _LADDER_STATES]),
            it.c.amount > it.c.amount_paid,
        )
    )
    history: dict[int, tuple[str, date]] = {}
    sent_stmt = (
        core_select(rit.c.invoice_id, rit.c.step, rt.c.sent_at)
        .join(rt, rt.c.id == rit.c.reminder_id)
        .where(
            rt.c.state == ReminderState.SENT.value,
            rt.c.kind == LADDER_KIND,  # a thanks or a penalty claim sent is no step of the ladder
        )
        .order_by(rt.c.sent_at)
    )
    if due_by is None:
        sent_stmt = sent_stmt.where(rt.c.business_id == business_id)
    else:
        # Only the history of the invoices whose date has come, found through them (ix_invoice_next_action, then
        # reminderinvoice.invoice_id): the cost follows what is due, not the whole past.
        due_ids = core_select(it.c.id).where(it.c.business_id == business_id, it.c.next_action_on <= due_by)
        sent_stmt = sent_stmt.where(rit.c.invoice_id.in_(due_ids))
        rows_stmt = rows_stmt.where(it.c.next_action_on <= due_by)
    sent = _fetch_raw(session, sent_stmt)
    for invoice_id, step, sent_at in sent:  # oldest first: the last one wins
        history[invoice_id] = (step, local_days[sent_at] if sent_at is not None else date.min)
    rows = _fetch_raw(session, rows_stmt)
    new, cls = tuple.__new__, InvoiceSnapshot
    never = (None, None)
    get_history = history.get
    return [
        new(cls, (inv_id, client_id, dates[due], Decimal(cents).scaleb(-2), state, profile,
                  *get_history(inv_id, never), dates[promised], None))
        for inv_id, client_id, due, cents, state, profile, promised in rows
        if client_id not in excluded
    ]  # fmt: skip


def due_today(
    session: Session,
    business_id: int,
    today: date,
    ladder: Ladder = DEFAULT_LADDER,
    *,
    exclude_clients: Iterable[int] = (),
    tz: str = "Europe/Paris",
    full_scan: bool = False,
) -> list[DueReminder]:
    """What the policy says is due `today` for the business: read the unpaid invoices whose next possible action
    has come (storage.schedule keeps that date; `full_scan` reads every unpaid invoice instead, the same answer
    at the cost of the whole book), decide, group by client. A client's reminder covers only their invoices with a
    step due, so the invoices not yet due are never needed."""
    session.flush()  # the raw read bypasses autoflush: the dates of this transaction's changes are written first
    # One collector pause around the read and the policy: each re-enable costs a pass over every new tuple.
    with paused_gc():
        snapshots = invoice_snapshots(
            session, business_id, exclude_clients=exclude_clients, tz=tz, due_by=None if full_scan else today
        )
        return due_reminders(snapshots, today, ladder)


def reminder_views(session: Session, reminder_ids: Sequence[int], today: date) -> list[ReminderView]:
    """Views of the given reminders, in the given order (unknown ids are left out)."""
    if not reminder_ids:
        return []
    # One statement for the reminders, their clients and their invoices (a card is redrawn on every tap).
    rows = session.exec(
        select(Reminder, Client, ReminderInvoice, Invoice)
        .join(Client, col(Client.id) == col(Reminder.client_id))
        .outerjoin(ReminderInvoice, col(ReminderInvoice.reminder_id) == col(Reminder.id))
        .outerjoin(Invoice, col(Invoice.id) == col(ReminderInvoice.invoice_id))
        .where(col(Reminder.id).in_(list(reminder_ids)))
        .order_by(col(Invoice.due_date), col(Invoice.id))
    ).all()
    reminders: dict[int | None, Reminder] = {}
    clients: dict[int | None, Client] = {}
    lines: dict[int, list[InvoiceLineView]] = defaultdict(list)
    for reminder, client, link, inv in rows:
        reminders[reminder.id] = reminder
        clients[client.id] = client
        if link is None or inv is None or inv.id is None:
            continue
        lines[link.reminder_id].append(
            InvoiceLineView(
                invoice_id=inv.id,
                number=inv.number,
                issue_date=inv.issue_date,
                due_date=inv.due_date,
                amount=inv.amount,
                amount_paid=inv.amount_paid,
                currency=inv.currency,
                state=inv.state,
                step=link.step,
                days_overdue=(today - inv.due_date).days,
            )
        )
    views = []
    for rid in reminder_ids:
        r = reminders.get(rid)
        if r is None or r.id is None:
            continue
        c = clients[r.client_id]
        views.append(
            ReminderView(
                reminder_id=r.id,
                version=r.version,
                business_id=r.business_id,
                client_id=r.client_id,
                client_name=c.name,
                # Addresses a bounce reported as failing are never written to (issue 11).
                client_emails=tuple(e for e in c.email_list if e.lower() not in c.failing_emails.lower().split(",")),
                client_phone=c.phone,
                client_language=c.language,
                client_profile=c.profile,
                step=r.step,
                state=r.state,
                planned_date=r.planned_date,
                snoozed_until=r.snoozed_until,
                edited_subject=r.edited_subject,
                edited_body=r.edited_body,
                sent_at=r.sent_at,
                sent_to=r.sent_to,
                promise_broken=r.promise_broken,
                invoices=tuple(lines.get(rid, [])),
                kind=r.kind,
            )
        )
    return views


def reminder_view(session: Session, reminder_id: int, today: date) -> ReminderView | None:
    """One reminder's view, or None."""
    found = reminder_views(session, [reminder_id], today)
    return found[0] if found else None


def pending_views(session: Session, business_id: int, today: date) -> list[ReminderView]:
    """The reminders waiting for the owner's decision, oldest first."""
    ids = session.exec(
        select(Reminder.id)
        .where(Reminder.business_id == business_id, col(Reminder.state).in_(list(_AWAITING_OWNER)))
        .order_by(col(Reminder.planned_date), col(Reminder.client_id))
    ).all()
    return reminder_views(session, [i for i in ids if i is not None], today)


def client_reminders(
    session: Session, *, business_id: int, client_id: int, today: date, limit: int = 20
) -> list[ReminderView]:
    """A client's reminders, newest planned first (at most `limit`): the history /client shows."""
    ids = session.exec(
        select(Reminder.id)
        .where(Reminder.business_id == business_id, Reminder.client_id == client_id)
        .order_by(col(Reminder.planned_date).desc(), col(Reminder.id).desc())
        .limit(limit)
    ).all()
    return reminder_views(session, [i for i in ids if i is not None], today)


def reminder_version(session: Session, *, business_id: int, reminder_id: int) -> tuple[int, str] | None:
    """The version and state of this business's reminder (what a card's button is checked against), or None."""
    row = session.exec(
        select(Reminder.version, Reminder.state).where(Reminder.id == reminder_id, Reminder.business_id == business_id)
    ).first()
    return (row[0], row[1]) if row is not None else None


# --- materialising what is due -------------------------------------------------------------------------------


def refresh_due(
    session: Session,
    *,
    business: Business | BusinessRow,
    today: date,
    ladder: Ladder | None = None,
    actor: str = "system",
) -> list[ReminderView]:
    """Bring the reminders waiting for the owner in line with what the policy says is due `today`; idempotent.

    - a snoozed reminder whose day has come is pending again;
    - a client with a reminder in flight (snoozed to a later day, approved, sending) gets no second one;
    - a pending reminder that still matches today's step is kept (with its edits, its card and its id) and its
      invoices are brought up to date; one that no longer matches (step changed, invoices paid) is cancelled;
    - messages drafted outside the ladder (EXTRA_KINDS) are left alone, whatever their state, and do not hold the
      client's ladder reminder back (only their snooze ending makes them pending again).
    Returns the reminders waiting for the owner.
    """
    assert business.id is not None
    if session.get_bind().dialect.name == "postgresql":
        # Two workers refreshing at once would race on the same rows; one waits for the other.
        session.execute(text("SELECT pg_advisory_xact_lock(:k, :b)"), {"k": _PG_REFRESH_LOCK, "b": business.id})
    ladder = ladder or business_ladder(business)
    open_reminders = session.exec(
        select(Reminder).where(Reminder.business_id == business.id, col(Reminder.state).in_(list(OPEN_REMINDER_STATES)))
    ).all()
    in_flight: set[int] = set()
    pending_by_client: dict[int, Reminder] = {}
    for r in open_reminders:
        if r.state == ReminderState.SNOOZED and r.snoozed_until is not None and r.snoozed_until <= today:
            _change_state(session, r, ReminderState.PENDING, actor, "snooze_ended", {"until": r.snoozed_until})
        if r.kind != LADDER_KIND:
            continue
        if r.state == ReminderState.PENDING:
            pending_by_client[r.client_id] = r
        else:
            in_flight.add(r.client_id)

    # A client whose e-mail reply waits for the owner gets no step meanwhile (issue 11; storage.received).
    from storage.received import clients_awaiting_owner  # storage.received builds on this module

    replied = clients_awaiting_owner(session, business_id=business.id)
    due = due_today(session, business.id, today, ladder, exclude_clients=in_flight | replied, tz=business.timezone)
    due_clients = set()
    for item in due:
        due_clients.add(item.client_id)
        existing = pending_by_client.get(item.client_id)
        if existing is not None and existing.step == item.step.name:
            _sync_links(session, existing, item)
            if item.promise_broken and not existing.promise_broken:
                existing.promise_broken = True
                session.add(existing)
            continue
        if existing is not None:
            _change_state(session, existing, ReminderState.CANCELLED, actor, "superseded", {"by_step": item.step.name})
        _create(session, business.id, item, today, actor)
    for client_id, r in pending_by_client.items():
        if client_id not in due_clients and r.state == ReminderState.PENDING:
            reason = "client_replied" if client_id in replied else "no_longer_due"
            _change_state(session, r, ReminderState.CANCELLED, actor, reason, {})
    session.flush()
    return pending_views(session, business.id, today)


def _create(session: Session, business_id: int, item: DueReminder, today: date, actor: str) -> Reminder:
    existing = session.exec(
        select(Reminder).where(
            Reminder.client_id == item.client_id, Reminder.step == item.step.name, Reminder.planned_date == today
        )
    ).first()
    if existing is not None:
        # Proposed earlier today and then cancelled or handled: do not propose the same step twice a day.
        return existing
    reminder = Reminder(
        business_id=business_id,
        client_id=item.client_id,
        step=item.step.name,
        planned_date=today,
        promise_broken=item.promise_broken,
    )
    session.add(reminder)
    session.flush()
    assert reminder.id is not None
    for d in item.invoices:
        session.add(ReminderInvoice(reminder_id=reminder.id, invoice_id=d.invoice.invoice_id, step=d.step.name))
    if item.promise_broken:
        for d in item.invoices:
            if d.promise_broken:
                inv = session.get(Invoice, d.invoice.invoice_id)
                if inv is not None and inv.state == InvoiceState.PROMISED:
                    # Through the state machine: back in the ladder, its evidence entry, the owner's task.
                    pass_day(session, inv, today, actor=actor)
    session.flush()
    record(
        session,
        actor=actor,
        kind="reminder_proposed",
        business_id=business_id,
        client_id=item.client_id,
        reminder_id=reminder.id,
        payload={
            "step": item.step.name,
            "day": today.isoformat(),
            "promise_broken": item.promise_broken,
            "invoices": [
                {"invoice_id": d.invoice.invoice_id, "step": d.step.name, "balance": str(d.invoice.balance)}
                for d in item.invoices
            ],
        },
    )
    return reminder


def propose_outside_ladder(
    session: Session,
    *,
    business_id: int,
    client_id: int,
    kind: str,
    invoice_ids: Sequence[int],
    today: date,
    actor: str,
) -> int:
    """Propose a message drafted outside the ladder (`kind` in EXTRA_KINDS) covering `invoice_ids` of the client,
    pending the owner's approval like any reminder; returns its id.

    Idempotent for the same client, kind and day: the draft already proposed is returned (invoices not yet on it are
    added, which moves its version on); one dropped earlier today is proposed again; one already approved or sent
    today raises ActionError. Evidence `reminder_proposed` (with the kind) is written in the same transaction.
    """
    if kind not in EXTRA_KINDS:
        raise ValueError(f"unknown kind of draft outside the ladder: {kind!r}")
    ids = sorted(set(invoice_ids))
    if not ids:
        raise ActionError("a draft needs at least one invoice")
    invoices = _invoices(session, business_id, ids)
    if any(inv.client_id != client_id for inv in invoices):
        raise ActionError("these invoices are not all the client's")
    stmt = select(Reminder).where(
        Reminder.business_id == business_id,
        Reminder.client_id == client_id,
        Reminder.step == kind,
        Reminder.planned_date == today,
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    existing = session.exec(stmt).first()
    if existing is not None and existing.id is not None:
        if existing.state in (ReminderState.PENDING, ReminderState.FAILED, ReminderState.SNOOZED):
            linked = set(invoice_ids_of(session, existing.id))
            missing = [i for i in ids if i not in linked]
            for invoice_id in missing:
                session.add(ReminderInvoice(reminder_id=existing.id, invoice_id=invoice_id, step=kind))
            if missing:
                bump(
                    session,
                    existing,
                    actor=actor,
                    kind="reminder_invoices_added",
                    payload={"kind": kind, "invoices": missing},
                )
            session.flush()
            return existing.id
        if existing.state not in (ReminderState.CANCELLED, ReminderState.SKIPPED):
            raise ActionError(f"this {kind} message is already {existing.state} today")
        for link in session.exec(select(ReminderInvoice).where(ReminderInvoice.reminder_id == existing.id)).all():
            session.delete(link)
        session.flush()
        reminder = bump(session, existing, state=ReminderState.PENDING, edited_subject=None, edited_body=None)
    else:
        reminder = Reminder(business_id=business_id, client_id=client_id, step=kind, kind=kind, planned_date=today)
        session.add(reminder)
        session.flush()
    assert reminder.id is not None
    for invoice_id in ids:
        session.add(ReminderInvoice(reminder_id=reminder.id, invoice_id=invoice_id, step=kind))
    session.flush()
    record(
        session,
        actor=actor,
        kind="reminder_proposed",
        business_id=business_id,
        client_id=client_id,
        reminder_id=reminder.id,
        payload={
            "kind": kind,
            "step": kind,
            "day": today.isoformat(),
            "invoices": [{"invoice_id": inv.id, "number": inv.number, "balance": str(inv.balance)} for inv in invoices],
        },
    )
    return reminder.id


def _sync_links(session: Session, reminder: Reminder, item: DueReminder) -> None:
    assert reminder.id is not None
    current = {
        link.invoice_id: link
        for link in session.exec(select(ReminderInvoice).where(ReminderInvoice.reminder_id == reminder.id)).all()
    }
    wanted = {d.invoice.invoice_id: d.step.name for d in item.invoices}
    changed = False
    for invoice_id, link in current.items():
        if invoice_id not in wanted:
            session.delete(link)
            changed = True
        elif link.step != wanted[invoice_id]:
            link.step = wanted[invoice_id]
            session.add(link)
            changed = True
    for invoice_id, step in wanted.items():
        if invoice_id not in current:
            session.add(ReminderInvoice(reminder_id=reminder.id, invoice_id=invoice_id, step=step))
            changed = True
    if changed:
        bump(session, reminder)


def bump(
    session: Session,
    reminder: Reminder,
    *,
    actor: str | None = None,
    kind: str | None = None,
    payload: dict[str, Any] | None = None,
    invoice_id: int | None = None,
    at: datetime | None = None,
    **fields: Any,
) -> Reminder:
    """Change a reminder: set `fields`, move its version on (so that every card showing the old one is stale) and,
    with `kind`, record the change in the evidence log, in the same transaction. Every change of a reminder goes
    through here."""
    for name, value in fields.items():
        setattr(reminder, name, value)
    reminder.version += 1
    reminder.updated_at = at if at is not None else utcnow()
    session.add(reminder)
    if kind is not None:
        if actor is None:
            raise ValueError(f"a recorded reminder change ({kind}) needs an actor")
        record(
            session,
            actor=actor,
            kind=kind,
            business_id=reminder.business_id,
            client_id=reminder.client_id,
            invoice_id=invoice_id,
            reminder_id=reminder.id,
            payload=payload if payload is not None else {},
        )
    return reminder


def _change_state(
    session: Session, reminder: Reminder, state: ReminderState, actor: str, reason: str, extra: dict[str, Any]
) -> None:
    previous = reminder.state
    bump(
        session,
        reminder,
        state=state,
        actor=actor,
        kind="reminder_state",
        payload={"from": previous, "to": str(state), "reason": reason, **{k: str(v) for k, v in extra.items()}},
    )


# --- owner actions -------------------------------------------------------------------------------------------


def lock_awaiting(session: Session, reminder_id: int, business_id: int, expected_version: int | None) -> Reminder:
    """The reminder, locked for this transaction, if it still waits for the owner (at `expected_version` when
    given); else StaleReminderError or UnknownReminderError. Every owner action starts here."""
    return _load_for_action(session, reminder_id, business_id, expected_version, states=_AWAITING_OWNER)


def _load_for_action(
    session: Session, reminder_id: int, business_id: int, expected_version: int | None, *, states: Iterable[str]
) -> Reminder:
    """The reminder, locked for this transaction, checked against the card's version and the allowed states."""
    stmt = select(Reminder).where(Reminder.id == reminder_id, Reminder.business_id == business_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    reminder = session.exec(stmt).first()
    if reminder is None:
        raise UnknownReminderError(f"reminder {reminder_id} not found")
    if expected_version is not None and reminder.version != expected_version:
        raise StaleReminderError(f"reminder {reminder_id} changed (version {reminder.version})")
    if reminder.state not in set(states):
        raise StaleReminderError(f"reminder {reminder_id} is {reminder.state}")
    return reminder


def snooze(
    session: Session,
    *,
    reminder_id: int,
    business_id: int,
    until: date,
    today: date,
    actor: str,
    expected_version: int | None = None,
) -> Reminder:
    """Put a reminder off until `until` (it comes back that day, at the digest)."""
    if until <= today:
        raise ActionError("the new date must be after today")
    reminder = _load_for_action(session, reminder_id, business_id, expected_version, states=_AWAITING_OWNER)
    reminder.snoozed_until = until
    _change_state(session, reminder, ReminderState.SNOOZED, actor, "snoozed", {"until": until})
    return reminder


def edit_draft(
    session: Session,
    *,
    reminder_id: int,
    business_id: int,
    subject: str | None,
    body: str,
    actor: str,
    expected_version: int | None = None,
) -> Reminder:
    """Replace the drafted text (and optionally the subject) of a reminder waiting for the owner."""
    reminder = _load_for_action(session, reminder_id, business_id, expected_version, states=_AWAITING_OWNER)
    if subject is not None:
        reminder.edited_subject = subject
    return bump(
        session,
        reminder,
        edited_body=body,
        actor=actor,
        kind="draft_edited",
        payload={"subject": subject, "body": body},
    )


def undo_edit(
    session: Session, *, reminder_id: int, business_id: int, actor: str, expected_version: int | None = None
) -> Reminder:
    """Drop the owner's edits of a reminder waiting for the owner: the drafted text of the templates comes back."""
    reminder = lock_awaiting(session, reminder_id, business_id, expected_version)
    return bump(session, reminder, edited_subject=None, edited_body=None, actor=actor, kind="draft_edit_undone")


def _invoices(session: Session, business_id: int, invoice_ids: Iterable[int]) -> list[Invoice]:
    ids = list(invoice_ids)
    stmt = select(Invoice).where(Invoice.business_id == business_id, col(Invoice.id).in_(ids))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    found = list(session.exec(stmt.order_by(col(Invoice.due_date), col(Invoice.id))).all())
    if len(found) != len(set(ids)):
        raise ActionError("unknown invoice")
    return found


def invoice_ids_of(session: Session, reminder_id: int) -> list[int]:
    """The invoices a reminder covers."""
    return list(
        session.exec(select(ReminderInvoice.invoice_id).where(ReminderInvoice.reminder_id == reminder_id)).all()
    )


def _withdraw_from_open_reminders(session: Session, invoice_ids: Iterable[int], actor: str, reason: str) -> None:
    """Take invoices out of reminders still waiting (pending, snoozed, failed); cancel the ones left empty."""
    ids = list(invoice_ids)
    links = session.exec(
        select(ReminderInvoice, Reminder)
        .join(Reminder, col(Reminder.id) == col(ReminderInvoice.reminder_id))
        .where(
            col(ReminderInvoice.invoice_id).in_(ids),
            col(Reminder.state).in_([ReminderState.PENDING, ReminderState.SNOOZED, ReminderState.FAILED]),
        )
    ).all()
    touched: dict[int, Reminder] = {}
    for link, reminder in links:
        session.delete(link)
        assert reminder.id is not None
        touched[reminder.id] = reminder
    session.flush()
    for rid, reminder in touched.items():
        left = session.exec(select(ReminderInvoice.invoice_id).where(ReminderInvoice.reminder_id == rid)).first()
        if left is None:
            _change_state(session, reminder, ReminderState.CANCELLED, actor, reason, {})
        else:
            bump(session, reminder)


def record_payment(
    session: Session,
    *,
    business_id: int,
    invoice_ids: Sequence[int],
    amount: Decimal | None,
    paid_on: date,
    actor: str,
    note: str = "",
) -> list[Payment]:
    """Record money received: `amount=None` pays the invoices in full; a partial amount goes to the oldest first.

    Fully paid invoices leave the ladder and their waiting reminders are withdrawn.
    """
    invoices = [i for i in _invoices(session, business_id, invoice_ids) if i.balance > 0]
    if not invoices:
        raise ActionError("nothing left to pay on these invoices")
    owed = sum((i.balance for i in invoices), Decimal("0.00"))
    if amount is not None:
        if amount <= 0:
            raise ActionError("the amount must be positive")
        if amount > owed:
            raise ActionError(f"the amount is more than what is owed ({owed})")
    remaining = owed if amount is None else amount
    payments = []
    paid_ids: list[int] = []
    partly_ids: list[int] = []
    for inv in invoices:
        if remaining <= 0:
            break
        part = min(inv.balance, remaining)
        remaining -= part
        assert inv.id is not None
        _apply(session, inv, PaymentReceived(part, paid_on), actor=actor, details={"note": note})
        (paid_ids if inv.balance == 0 else partly_ids).append(inv.id)
        payment = Payment(invoice_id=inv.id, amount=part, paid_on=paid_on, note=note)
        session.add(payment)
        payments.append(payment)
    settle_reminders(session, paid_ids=paid_ids, partly_ids=partly_ids, actor=actor, reason="paid")
    return payments


def settle_reminders(
    session: Session, *, paid_ids: Sequence[int], partly_ids: Sequence[int], actor: str, reason: str
) -> None:
    """After money came in (a payment, a credit note): invoices now settled leave the reminders still waiting, and
    the waiting reminders of invoices partly settled move on a version (their cards showed the old balance, so their
    buttons, a second submit of the same payment among them, are stale from now on)."""
    if paid_ids:
        _withdraw_from_open_reminders(session, paid_ids, actor, reason)
    if partly_ids:
        for reminder in _waiting_reminders(session, partly_ids):
            bump(session, reminder)
    session.flush()


def _waiting_reminders(session: Session, invoice_ids: Sequence[int]) -> list[Reminder]:
    """The reminders still waiting (pending, snoozed, failed) that hold any of these invoices."""
    return list(
        session.exec(
            select(Reminder)
            .join(ReminderInvoice, col(Reminder.id) == col(ReminderInvoice.reminder_id))
            .where(
                col(ReminderInvoice.invoice_id).in_(invoice_ids),
                col(Reminder.state).in_([ReminderState.PENDING, ReminderState.SNOOZED, ReminderState.FAILED]),
            )
            .distinct()
        ).all()
    )


def _apply(
    session: Session, inv: Invoice, event: Event, *, actor: str, details: dict[str, Any] | None = None
) -> Transition:
    """Move an invoice by the state machine and log it in the same transaction; an event that does not fit its
    state is the owner's ActionError."""
    try:
        return apply_to_invoice(session, inv, event, actor=actor, details=details)
    except (IllegalTransition, InvalidStatus) as exc:
        raise ActionError(f"invoice {inv.number}: {exc}") from exc


def open_dispute(
    session: Session, *, business_id: int, invoice_ids: Sequence[int], reason: str, actor: str
) -> list[Invoice]:
    """Mark invoices as disputed: they leave the ladder until the owner closes the dispute."""
    reason = reason.strip()
    if not reason:
        raise ActionError("a reason is needed")
    invoices = _invoices(session, business_id, invoice_ids)
    for inv in invoices:
        _apply(session, inv, Dispute(reason), actor=actor)
    _withdraw_from_open_reminders(session, [i.id for i in invoices if i.id is not None], actor, "disputed")
    return invoices


def close_dispute(
    session: Session, *, business_id: int, invoice_id: int, actor: str, outcome: str = "resolved"
) -> Invoice:
    """End a dispute: the invoice is chased again (or stays paid / written off, per `outcome`)."""
    (inv,) = _invoices(session, business_id, [invoice_id])
    if inv.state != InvoiceState.DISPUTED:
        # Said the way the state machine says it (a write-off would fit an open invoice, not "closing" a dispute).
        illegal = IllegalTransition(
            "this invoice is not disputed", "not_when.resolve_dispute", state=InvoiceState(inv.state)
        )
        illegal.number = inv.number
        raise ActionError(f"invoice {inv.number}: {illegal}") from illegal
    _apply(session, inv, WriteOff() if outcome == "written_off" else ResolveDispute(), actor=actor)
    return inv


def record_promise(
    session: Session, *, business_id: int, invoice_ids: Sequence[int], until: date, today: date, actor: str
) -> list[Invoice]:
    """Record the client's promise to pay by `until`: reminders pause until then, then the follow-up comes."""
    if until < today:
        raise ActionError("the promised date is in the past")
    invoices = _invoices(session, business_id, invoice_ids)
    for inv in invoices:
        _apply(session, inv, Promise(until, today), actor=actor)  # the machine refuses the states without a ladder
    _withdraw_from_open_reminders(session, [i.id for i in invoices if i.id is not None], actor, "promised")
    return invoices


def mark_reminder_sent_manually(
    session: Session, *, reminder_id: int, business_id: int, actor: str, how: str
) -> Reminder:
    """The owner handled the reminder outside Relance (a phone call, a letter posted): the ladder moves on."""
    reminder = _load_for_action(session, reminder_id, business_id, None, states=_AWAITING_OWNER)
    reminder.sent_at = utcnow()
    reminder.sent_to = how
    _change_state(session, reminder, ReminderState.SENT, actor, "sent_manually", {"how": how})
    return reminder


def drop_extra_draft(
    session: Session, *, reminder_id: int, business_id: int, actor: str, expected_version: int | None
) -> Reminder:
    """Ne pas envoyer: a message drafted outside the ladder, still waiting for the owner at `expected_version`, is
    cancelled (evidence `reminder_state`, reason "dropped"); a ladder reminder cannot be dropped this way."""
    reminder = lock_awaiting(session, reminder_id, business_id, expected_version)
    if reminder.kind == LADDER_KIND:
        raise ActionError("only a message drafted outside the ladder can be dropped")
    _change_state(session, reminder, ReminderState.CANCELLED, actor, "dropped", {"kind": reminder.kind})
    return reminder
