"""Each invoice's next possible action date (`invoice.next_action_on`), kept right in the transaction of every change.

The morning scan (storage.reminders.due_today) reads only the invoices whose date has come, so the date must never
be later than what the policy (dunning.policy.next_action_date) says. Rather than a call in each writer, which a new
writer could forget, one listener on every ORM session recomputes it at each flush for the invoices the flush
touched: an invoice created or changed (state, amounts, dates, plan, client), a ladder reminder sent or un-sent or
its invoices changed (the history of steps), a plan instalment, a client's profile, a business's ladder or time zone
(then all its invoices). Writers that bypass the ORM (the CSV import's bulk statements) call `recompute` themselves.
`mismatches` re-derives every stored date for `relance verify` (after a restore, say).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, event, inspect, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from dunning.invoice_states import Instalment
from dunning.ladder import Ladder
from dunning.policy import InvoiceSnapshot, next_action_date
from dunning.states import InvoiceState, ReminderState
from storage.models import Business, Client, Invoice, PlanInstalment, Reminder, ReminderInvoice

#: Invoices per read (well under SQLite's bound-parameter limit).
CHUNK = 500
_PENDING = "relance.next_action.pending"
_LADDER_KIND = "ladder"
#: The invoice columns the date depends on.
_INVOICE_FIELDS = (
    "business_id",
    "client_id",
    "state",
    "amount",
    "amount_paid",
    "due_date",
    "promised_until",
    "plan_id",
    "plan_paid",
    "plan_missed",
)
#: States in which nothing will ever happen and no date is stored (an invoice leaves them only by a change).
_FINAL = (InvoiceState.PAID.value, InvoiceState.CANCELLED.value, InvoiceState.WRITTEN_OFF.value)


@dataclass(frozen=True, slots=True)
class Mismatch:
    """An invoice whose stored next action date differs from the policy's."""

    business_id: int
    invoice_id: int
    number: str
    stored: date | None
    expected: date | None


@dataclass(slots=True)
class _Touched:
    invoices: set[int] = field(default_factory=set)
    reminders: set[int] = field(default_factory=set)
    clients: set[int] = field(default_factory=set)
    businesses: set[int] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.invoices or self.reminders or self.clients or self.businesses)


# --- computing -----------------------------------------------------------------------------------------------


class _Business:
    """A business's ladder and time zone, read once per batch."""

    def __init__(self, conn: Connection, business_id: int) -> None:
        from storage.reminders import business_ladder  # storage.reminders reads through the date this module keeps

        bt = Business.__table__  # type: ignore[attr-defined]
        row = conn.execute(select(bt.c.slug, bt.c.ladder_toml, bt.c.timezone).where(bt.c.id == business_id)).one()
        self.ladder: Ladder = business_ladder(cast(Any, row))  # a row with the business's slug and ladder
        self.tz = ZoneInfo(row.timezone or "Europe/Paris")  # an old row may hold none: the default zone


def ladder_of(conn: Connection, business_id: int) -> Ladder:
    """The business's ladder (what the dates of its invoices follow)."""
    return _Business(conn, business_id).ladder


def _local_day(stamp: datetime | str | None, tz: ZoneInfo) -> date:
    if stamp is None:
        return date.min
    value = stamp if isinstance(stamp, datetime) else datetime.fromisoformat(stamp)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz).date()


def _expected(conn: Connection, ids: list[int]) -> Iterator[tuple[int, int, str, date | None, date | None]]:
    """(business id, invoice id, number, stored date, policy's date) of the invoices `ids` (at most CHUNK)."""
    it, ct = Invoice.__table__, Client.__table__  # type: ignore[attr-defined]
    rt, rit = Reminder.__table__, ReminderInvoice.__table__  # type: ignore[attr-defined]
    pt = PlanInstalment.__table__  # type: ignore[attr-defined]
    rows = conn.execute(
        select(
            it.c.id, it.c.business_id, it.c.client_id, it.c.number, it.c.due_date, it.c.amount, it.c.amount_paid,
            it.c.state, it.c.promised_until, it.c.plan_id, it.c.plan_paid, it.c.plan_missed, it.c.next_action_on,
            ct.c.profile,
        )
        .join(ct, ct.c.id == it.c.client_id)
        .where(it.c.id.in_(ids))
    ).all()  # fmt: skip
    sent = conn.execute(
        select(rit.c.invoice_id, rit.c.step, rt.c.sent_at, rt.c.business_id)
        .join(rt, rt.c.id == rit.c.reminder_id)
        .where(rit.c.invoice_id.in_(ids), rt.c.state == ReminderState.SENT.value, rt.c.kind == _LADDER_KIND)
        .order_by(rt.c.sent_at)
    ).all()
    planned = [r.id for r in rows if r.state == InvoiceState.PAYMENT_PLAN.value and r.plan_id is not None]
    instalments: dict[tuple[int, int], list[Instalment]] = {}
    if planned:
        for inst in conn.execute(
            select(pt.c.plan_id, pt.c.invoice_id, pt.c.due_date, pt.c.amount)
            .where(pt.c.invoice_id.in_(planned))
            .order_by(pt.c.seq)
        ):
            instalments.setdefault((inst.plan_id, inst.invoice_id), []).append(Instalment(inst.due_date, inst.amount))
    businesses: dict[int, _Business] = {}

    def business(business_id: int) -> _Business:
        if business_id not in businesses:
            businesses[business_id] = _Business(conn, business_id)
        return businesses[business_id]

    history: dict[int, tuple[str, date]] = {}
    for invoice_id, step, sent_at, business_id in sent:  # oldest first: the last one wins
        history[invoice_id] = (step, _local_day(sent_at, business(business_id).tz))
    for r in rows:
        last_step, last_sent_on = history.get(r.id, (None, None))
        snapshot = InvoiceSnapshot(
            r.id, r.client_id, r.due_date, r.amount - r.amount_paid, r.state, r.profile, last_step, last_sent_on,
            r.promised_until, None,
        )  # fmt: skip
        expected = next_action_date(
            snapshot,
            business(r.business_id).ladder,
            plan=instalments.get((r.plan_id, r.id), ()),
            plan_paid=r.plan_paid,
            plan_missed=r.plan_missed,
        )
        yield r.business_id, r.id, r.number, r.next_action_on, expected


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def _write(conn: Connection, changes: dict[int, date | None]) -> None:
    it = Invoice.__table__  # type: ignore[attr-defined]
    if changes:
        conn.execute(
            update(it).where(it.c.id == bindparam("b_id")).values(next_action_on=bindparam("b_on")),
            [{"b_id": k, "b_on": v} for k, v in changes.items()],
        )


def recompute_connection(conn: Connection, invoice_ids: Iterable[int]) -> dict[int, date | None]:
    """Bring the stored date of the invoices `invoice_ids` in line with the policy; returns the ones changed."""
    changed: dict[int, date | None] = {}
    for chunk in _chunks(invoice_ids):
        batch = {inv_id: want for _, inv_id, _, stored, want in _expected(conn, chunk) if stored != want}
        _write(conn, batch)
        changed.update(batch)
    return changed


def recompute(session: Session, invoice_ids: Iterable[int]) -> int:
    """`recompute_connection` in the session's transaction, for writers that bypass the ORM; how many changed."""
    changed = recompute_connection(session.connection(), invoice_ids)
    _refresh_loaded(session, changed)
    return len(changed)


def business_invoice_ids(conn: Connection, business_id: int) -> list[int]:
    """The invoices of the business that have or may need a date (every one not settled, and any still dated)."""
    it = Invoice.__table__  # type: ignore[attr-defined]
    return list(
        conn.execute(
            select(it.c.id).where(
                it.c.business_id == business_id, (it.c.state.not_in(_FINAL)) | (it.c.next_action_on.is_not(None))
            )
        ).scalars()
    )


def mismatches(session: Session, business_id: int) -> tuple[int, list[Mismatch]]:
    """How many invoices of the business were checked, and those whose stored date is not the policy's."""
    conn = session.connection()
    ids = business_invoice_ids(conn, business_id)
    found = [
        Mismatch(bid, inv_id, number, stored, want)
        for chunk in _chunks(ids)
        for bid, inv_id, number, stored, want in _expected(conn, chunk)
        if stored != want
    ]
    return len(ids), found


@dataclass(frozen=True, slots=True)
class ScheduleCheck:
    """What `check` found for a business: invoices checked, those wrong (before any fix) and whether they were fixed."""

    checked: int
    wrong: tuple[Mismatch, ...]
    fixed: bool = False

    @property
    def ok(self) -> bool:
        """True when every stored date is the policy's (or was just put right)."""
        return not self.wrong or self.fixed


def check(engine: Engine, business_id: int, *, fix: bool = False) -> ScheduleCheck:
    """Recompute every stored date of the business (`relance verify`, after a restore say); with `fix`, write the
    policy's date where it differs, in one transaction. Reading alone changes nothing."""
    with Session(engine) as session:
        checked, wrong = mismatches(session, business_id)
        if fix and wrong:
            recompute(session, [m.invoice_id for m in wrong])
            session.commit()
    return ScheduleCheck(checked, tuple(wrong), fixed=fix and bool(wrong))


def _refresh_loaded(session: Session, changed: dict[int, date | None]) -> None:
    """Loaded Invoice objects see the new date without being marked changed (which would flush again)."""
    if not changed:
        return
    mapper = inspect(Invoice)
    for invoice_id, value in changed.items():
        obj = session.identity_map.get(mapper.identity_key_from_primary_key((invoice_id,)))
        if obj is not None:
            set_committed_value(obj, "next_action_on", value)


# --- the listener --------------------------------------------------------------------------------------------


def _changed(obj: Any, names: Collection[str]) -> bool:
    attrs = inspect(obj).attrs
    return any(attrs[name].history.has_changes() for name in names)


def _sent_ladder(reminder: Reminder | None) -> bool:
    """Whether a reminder counts in the ladder's history (unknown: assume it does)."""
    return reminder is None or (reminder.state == ReminderState.SENT and reminder.kind == _LADDER_KIND)


def _link_counts(session: Session, link: ReminderInvoice) -> bool:
    reminder = session.identity_map.get(inspect(Reminder).identity_key_from_primary_key((link.reminder_id,)))
    return _sent_ladder(reminder if isinstance(reminder, Reminder) else None)


def _note(session: Session, touched: _Touched, obj: Any, *, new: bool = False, deleted: bool = False) -> None:
    if isinstance(obj, Invoice):
        if not deleted and obj.id is not None and (new or _changed(obj, _INVOICE_FIELDS)):
            touched.invoices.add(obj.id)
    elif isinstance(obj, Reminder):
        if obj.id is None:
            return
        if new:
            if _sent_ladder(obj):
                touched.reminders.add(obj.id)
        elif _changed(obj, ("state", "sent_at", "kind")):
            old_state = inspect(obj).attrs.state.history.deleted
            if _sent_ladder(obj) or ReminderState.SENT.value in old_state:
                touched.reminders.add(obj.id)
    elif isinstance(obj, ReminderInvoice):
        if (new or deleted or _changed(obj, ("step",))) and _link_counts(session, obj):
            touched.invoices.add(obj.invoice_id)
    elif isinstance(obj, PlanInstalment):
        touched.invoices.add(obj.invoice_id)
    elif new or deleted or getattr(obj, "id", None) is None:
        return  # a new client or business has no invoice yet
    elif isinstance(obj, Client) and _changed(obj, ("profile",)):
        touched.clients.add(cast(int, obj.id))
    elif isinstance(obj, Business) and _changed(obj, ("ladder_toml", "timezone")):
        touched.businesses.add(cast(int, obj.id))


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    """Note what the flush changed (the attribute histories are still there)."""
    touched: _Touched = session.info.setdefault(_PENDING, _Touched())
    for obj in session.new:
        _note(session, touched, obj, new=True)
    for obj in session.dirty:
        _note(session, touched, obj)
    for obj in session.deleted:
        _note(session, touched, obj, deleted=True)


@event.listens_for(Session, "after_flush_postexec")
def _after_flush_postexec(session: Session, _context: Any) -> None:
    """Recompute the dates of what the flush touched, in its transaction."""
    touched: _Touched | None = session.info.pop(_PENDING, None)
    if not touched:
        return
    conn = session.connection()
    it, rit = Invoice.__table__, ReminderInvoice.__table__  # type: ignore[attr-defined]
    ids = set(touched.invoices)
    for chunk in _chunks(touched.reminders):
        ids.update(conn.execute(select(rit.c.invoice_id).where(rit.c.reminder_id.in_(chunk))).scalars())
    for chunk in _chunks(touched.clients):
        ids.update(conn.execute(select(it.c.id).where(it.c.client_id.in_(chunk))).scalars())
    for business_id in touched.businesses:
        ids.update(business_invoice_ids(conn, business_id))
    _refresh_loaded(session, recompute_connection(conn, ids))
