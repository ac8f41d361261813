"""SQLModel tables: Business, Client, Invoice, Reminder (+ its invoices), Payment, bank statement lines and the
evidence log."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlmodel import Field, SQLModel

from storage.names import client_name_key
from storage.types import Money, UTCDateTime, utcnow


def _money(**kw: object) -> Decimal:
    return Field(sa_type=Money, **kw)  # type: ignore[call-overload]


def _stamp(**kw: object) -> datetime:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kw)  # type: ignore[call-overload]


class Business(SQLModel, table=True):
    """The company that is owed money; one per install by default, several supported."""

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(index=True, unique=True, max_length=64)
    name: str = Field(max_length=200)
    address: str = Field(default="", max_length=500)
    siren: str = Field(default="", max_length=20)
    iban: str = Field(default="", max_length=40)
    bic: str = Field(default="", max_length=20)
    phone: str = Field(default="", max_length=40)
    email: str = Field(default="", max_length=254)
    reply_to: str = Field(default="", max_length=254)
    owner_chat_ids: str = Field(default="", max_length=500)  # comma-separated Telegram user ids
    timezone: str = Field(default="Europe/Paris", max_length=64)
    digest_time: str = Field(default="08:30", max_length=5)
    ladder_toml: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    paused: bool = False
    send_window_start: str = Field(default="08:00", max_length=5)  # e-mails leave between these times
    send_window_end: str = Field(default="18:00", max_length=5)
    preferred_weekdays: str = Field(default="", max_length=20)  # e.g. "1,2" (Tue, Wed; Monday is 0); empty = any
    formal_notice_days: int = 8  # deadline given in the mise en demeure
    # JSON: the value of each setting when it was last applied, so that a value the owner changed in the chat
    # stays until the setting itself gets a new value (bot/business.py).
    settings_applied: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # TOML: late-payment rates the owner added from the chat (/taux), merged over the shipped table and RATES_FILE.
    rates_toml: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The business's intra-EU VAT number (e.g. FR40123456824): with the SIREN, an e-invoice from another seller is
    # refused.
    vat_number: str = Field(default="", max_length=20)
    created_at: datetime = _stamp()
    # A business of a shared deployment (`relance business set`): its own templates folder, mail servers (the
    # passwords are in business_secret, encrypted) and Slack workspace; None: the deployment's settings.
    templates_dir: str | None = Field(default=None, max_length=500)
    smtp_host: str | None = Field(default=None, max_length=255)
    smtp_port: int | None = None
    smtp_username: str | None = Field(default=None, max_length=254)
    smtp_security: str | None = Field(default=None, max_length=10)
    imap_host: str | None = Field(default=None, max_length=255)
    imap_port: int | None = None
    imap_username: str | None = Field(default=None, max_length=254)
    imap_folder: str | None = Field(default=None, max_length=200)
    slack_team_id: str | None = Field(default=None, max_length=32)

    @property
    def owner_ids(self) -> list[int]:
        """The owners' Telegram user ids."""
        return [int(p) for p in (p.strip() for p in self.owner_chat_ids.split(",")) if p]


def _name_key_default(context: DefaultExecutionContext) -> str:
    return client_name_key(str(context.get_current_parameters()["name"]))


class Client(SQLModel, table=True):
    """A debtor of the business."""

    __table_args__ = (
        UniqueConstraint("business_id", "name", name="uq_client_business_name"),
        # One client per spelling-insensitive name (case, quotes, spaces): see storage.names.client_name_key.
        Index("uq_client_business_name_key", "business_id", "name_key", unique=True),
        # An e-invoice's buyer is matched by SIREN, then VAT number (storage.einvoices).
        Index("ix_client_business_siren", "business_id", "siren"),
        Index("ix_client_business_vat_number", "business_id", "vat_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    business_id: int = Field(foreign_key="business.id", index=True)
    name: str = Field(max_length=200)
    # Filled from `name` on insert when not given (ORM and Core inserts alike), so no writer can forget it.
    name_key: str | None = Field(default=None, sa_column=Column(String(200), nullable=False, default=_name_key_default))
    emails: str = Field(default="", max_length=1000)  # comma-separated; the first is the main address
    phone: str = Field(default="", max_length=40)
    address: str = Field(default="", max_length=300)  # postal address, one line per line (for letters)
    language: str = Field(default="fr", max_length=2)  # fr | en
    profile: str = Field(default="standard", max_length=20)  # dunning.ClientProfile
    is_consumer: bool = False
    contractual_rate: Decimal | None = Field(default=None, max_digits=6, decimal_places=3)
    notes: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    siren: str | None = Field(default=None, max_length=9)  # from an e-invoice's buyer, validated
    siret: str | None = Field(default=None, max_length=14)
    vat_number: str | None = Field(default=None, max_length=20)  # with its country prefix, e.g. FR40123456824
    # Comma-separated addresses a bounce reported as failing (lower case): never sent to until the owner changes them.
    failing_emails: str = Field(default="", max_length=1000)
    created_at: datetime = _stamp()

    @property
    def email_list(self) -> list[str]:
        """The client's e-mail addresses, main one first."""
        return [e.strip() for e in self.emails.split(",") if e.strip()]


class Invoice(SQLModel, table=True):
    """An invoice issued to a client; `amount` includes tax."""

    __table_args__ = (
        UniqueConstraint("business_id", "number", name="uq_invoice_business_number"),
        Index("ix_invoice_open", "business_id", "state", "due_date"),
        # The morning scan reads only the invoices whose next possible action has come (storage keeps the date).
        Index("ix_invoice_next_action", "business_id", "next_action_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    business_id: int = Field(foreign_key="business.id")
    client_id: int = Field(foreign_key="client.id", index=True)
    number: str = Field(max_length=64)
    issue_date: date
    due_date: date
    amount: Decimal = _money()
    currency: str = Field(default="EUR", max_length=3)
    # Paid or credited: everything that lowered the balance; `amount_credited` is its part from credit notes
    # (storage.invoice_status splits them for the state machine).
    amount_paid: Decimal = _money(default=Decimal("0.00"))
    amount_credited: Decimal = _money(default=Decimal("0.00"))
    amount_written_off: Decimal = _money(default=Decimal("0.00"))
    amount_overpaid: Decimal = _money(default=Decimal("0.00"))
    last_paid_on: date | None = None
    broken_promise: date | None = None  # the date of the last promise not kept, for the next reminder to say
    state: str = Field(default="open", max_length=16)  # dunning.InvoiceState
    promised_until: date | None = None
    dispute_reason: str | None = Field(default=None, max_length=500)
    pdf_path: str | None = Field(default=None, max_length=500)
    pdf_sha256: str | None = Field(default=None, max_length=64)  # of the PDF at pdf_path, as imported
    # Imported from an e-invoice: "pdf" (a Factur-X PDF, at pdf_path) or "xml" (a CII / UBL file, at xml_path: never
    # attached as a PDF); None for an invoice from the CSV import or typed in.
    document_kind: str | None = Field(default=None, max_length=3)
    xml_path: str | None = Field(default=None, max_length=500)
    xml_sha256: str | None = Field(default=None, max_length=64)
    # The payment plan the invoice follows (state payment_plan): what was paid since it started and how many of its
    # instalments were reported missed (storage.invoice_status gives them to the state machine).
    # payment_plan.id; no foreign key, as adding one would make SQLite rebuild the invoice table, which payments and
    # reminders reference (storage keeps it right: only the plan's own functions set it).
    plan_id: int | None = None
    plan_paid: Decimal = _money(default=Decimal("0.00"))
    plan_missed: int = 0
    # The first day something may happen to the invoice (its next step, the end of a snooze, a promise's or an
    # instalment's date); None when nothing ever will (closed). Updated in the transaction of every change.
    next_action_on: date | None = None
    created_at: datetime = _stamp()
    updated_at: datetime = _stamp()

    @property
    def balance(self) -> Decimal:
        """What is still owed on this invoice."""
        return self.amount - self.amount_paid - self.amount_written_off


class Reminder(SQLModel, table=True):
    """One proposed message to one client on one day, covering one or more of their invoices."""

    __table_args__ = (
        UniqueConstraint("client_id", "step", "planned_date", name="uq_reminder_client_step_date"),
        Index("ix_reminder_business_state", "business_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    business_id: int = Field(foreign_key="business.id")
    client_id: int = Field(foreign_key="client.id", index=True)
    step: str = Field(max_length=32)
    planned_date: date
    state: str = Field(default="pending", max_length=16)  # dunning.ReminderState
    snoozed_until: date | None = None
    edited_subject: str | None = Field(default=None, max_length=300)
    edited_body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_to: str | None = Field(default=None, max_length=1000)
    promise_broken: bool = False  # proposed because a promise to pay was not kept
    # "ladder" for a step of the ladder; otherwise a message drafted outside it, approved like a reminder but never
    # part of the ladder's history: "thanks" (merci pour votre règlement), "penalty_claim" (late-payment penalties of
    # an invoice paid late), "plan_schedule" (a payment plan's schedule), "plan_reminder" (a missed instalment).
    kind: str = Field(default="ladder", max_length=16)
    version: int = 0  # bumped on each state change; cards carry it so a stale tap is recognised
    created_at: datetime = _stamp()
    updated_at: datetime = _stamp()


class ReminderInvoice(SQLModel, table=True):
    """Which invoices a reminder covers."""

    reminder_id: int = Field(foreign_key="reminder.id", primary_key=True)
    invoice_id: int = Field(foreign_key="invoice.id", primary_key=True, index=True)
    step: str = Field(max_length=32)  # this invoice's own step (the reminder shows the highest of them)


class Payment(SQLModel, table=True):
    """Money received on an invoice (full or partial)."""

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    amount: Decimal = _money()
    paid_on: date
    note: str = Field(default="", max_length=500)
    created_at: datetime = _stamp()
    # The bank statement line it was read from (None when the owner recorded it by hand or by a CSV import).
    statement_line_id: int | None = Field(default=None, foreign_key="statement_line.id", index=True)


class StatementLineRecord(SQLModel, table=True):
    """A bank statement credit read for a business, and what became of it: recorded (as payments, which point
    back to it), doubtful (the owner confirms), unmatched or overpaid. Its line id is unique per business, so a
    statement imported twice records nothing twice."""

    __tablename__ = "statement_line"
    __table_args__ = (UniqueConstraint("business_id", "line_id", name="uq_statement_line_business_line"),)

    id: int | None = Field(default=None, primary_key=True)
    business_id: int = Field(foreign_key="business.id")
    line_id: str = Field(max_length=64)  # services.statements: SHA-256 of account, date, amount and reference
    file_name: str = Field(max_length=255)
    account: str = Field(max_length=64)
    booking_date: date
    amount: Decimal = _money()
    currency: str = Field(max_length=3)
    counterparty: str = Field(max_length=200)
    remittance: str = Field(max_length=500)
    outcome: str = Field(max_length=16)  # recorded | doubtful | unmatched | overpaid
    created_at: datetime = _stamp()


class PaymentPlan(SQLModel, table=True):
    """A payment plan (échéancier) agreed with a client over some of their invoices: proposed (its schedule e-mail
    drafted), active once the owner approves that e-mail, then ended (by the owner, or paid) or cancelled."""

    __tablename__ = "payment_plan"

    id: int | None = Field(default=None, primary_key=True)
    business_id: int = Field(foreign_key="business.id", index=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    state: str = Field(default="proposed", max_length=16)  # proposed | active | ended | cancelled
    reminder_id: int | None = Field(default=None, foreign_key="reminder.id")  # the schedule e-mail
    started_on: date | None = None
    ended_on: date | None = None
    created_at: datetime = _stamp()
    updated_at: datetime = _stamp()


class PlanInstalment(SQLModel, table=True):
    """One instalment of a plan for one of its invoices (an instalment of the schedule may be split over two)."""

    __tablename__ = "plan_instalment"
    __table_args__ = (UniqueConstraint("plan_id", "invoice_id", "seq", name="uq_plan_instalment_plan_invoice_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="payment_plan.id", index=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    seq: int  # position in the schedule, from 1
    due_date: date
    amount: Decimal = _money()


class OwnerTask(SQLModel, table=True):
    """A question for the owner raised by an invoice's transition or the daily check (an over-payment to refund or
    assign, a late payment whose penalties can be claimed, a broken promise, a missed instalment, a credit note to
    assign): shown as a card until handled. `dedupe_key` makes raising the same question twice a no-op."""

    __tablename__ = "owner_task"
    __table_args__ = (
        UniqueConstraint("business_id", "dedupe_key", name="uq_owner_task_business_dedupe"),
        Index("ix_owner_task_business_state", "business_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    business_id: int = Field(foreign_key="business.id")
    kind: str = Field(max_length=24)  # dunning.invoice_states.CardKind, or "credit_note"
    dedupe_key: str = Field(max_length=128)
    client_id: int | None = Field(default=None, foreign_key="client.id")
    invoice_id: int | None = Field(default=None, foreign_key="invoice.id", index=True)
    payload: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))  # JSON
    state: str = Field(default="open", max_length=16)  # open | done | dismissed
    outcome: str | None = Field(default=None, max_length=32)  # what the owner chose
    version: int = 0  # bumped when handled: a stale tap is recognised
    created_at: datetime = _stamp()
    handled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ReceivedEmail(SQLModel, table=True):
    """A message that arrived in the business's mailbox and was linked to a client (and to a reminder when it
    answers one): a reply, an automatic answer or a bounce. Stored raw on disk (`raw_path`, its SHA-256 in the
    evidence log); a reply waits for the owner (`state` open) and holds the client's ladder until handled."""

    __tablename__ = "received_email"
    __table_args__ = (
        UniqueConstraint("business_id", "message_id", name="uq_received_email_business_message"),
        Index("ix_received_email_business_state", "business_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    business_id: int = Field(foreign_key="business.id")
    client_id: int = Field(foreign_key="client.id", index=True)
    reminder_id: int | None = Field(default=None, foreign_key="reminder.id")  # the reminder it answers, if known
    message_id: str = Field(max_length=300)  # its Message-ID (or a hash of the raw message when it has none)
    sender: str = Field(max_length=254)
    subject: str = Field(default="", max_length=300)
    received_at: datetime = Field(sa_type=UTCDateTime)
    kind: str = Field(max_length=16)  # reply | auto_reply | bounce
    text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))  # the reply's own text
    attachments: str = Field(default="[]", sa_column=Column(Text, nullable=False, server_default="[]"))  # JSON names
    raw_path: str = Field(max_length=500)
    raw_sha256: str = Field(max_length=64)
    state: str = Field(default="open", max_length=16)  # open | handled (replies); noted (automatic answers, bounces)
    outcome: str | None = Field(default=None, max_length=32)  # what the owner chose
    version: int = 0
    created_at: datetime = _stamp()


class RegisteredLetter(SQLModel, table=True):
    """The registered letter (LRAR) carrying a formal notice, tracked from posting to its acknowledgment of receipt."""

    __tablename__ = "registered_letter"

    id: int | None = Field(default=None, primary_key=True)
    business_id: int = Field(foreign_key="business.id", index=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    reminder_id: int = Field(foreign_key="reminder.id", unique=True)  # the formal notice it carries
    tracking_number: str = Field(max_length=16)  # La Poste's, checked
    sent_on: date
    first_presented_on: date | None = None  # the deadline runs from it when known
    received_on: date | None = None
    outcome: str = Field(default="sent", max_length=16)  # sent | received | unclaimed | returned
    proof_path: str | None = Field(default=None, max_length=500)  # the scanned acknowledgment
    proof_sha256: str | None = Field(default=None, max_length=64)
    version: int = 0
    created_at: datetime = _stamp()
    updated_at: datetime = _stamp()


class EvidenceEntry(SQLModel, table=True):
    """One append-only, hash-chained entry of the evidence log."""

    __tablename__ = "evidence"
    # Each business has its own chain: this index finds a chain's head and walks it in order.
    __table_args__ = (UniqueConstraint("business_id", "chain_seq", name="uq_evidence_business_chain_seq"),)

    seq: int | None = Field(default=None, primary_key=True)  # insertion order over all businesses (not hashed)
    chain_seq: int  # position in its business's chain, from 1: the "seq" of the hashed canonical form
    created_at: datetime = _stamp()
    actor: str = Field(max_length=64)  # "owner:<telegram id>", "system", "cli", "stranger:<id>"
    kind: str = Field(max_length=40)  # not indexed: nothing reads the log by kind alone, and appends stay cheap
    business_id: int = Field(foreign_key="business.id")
    client_id: int | None = None  # not indexed, like kind
    invoice_id: int | None = Field(default=None, index=True)
    reminder_id: int | None = Field(default=None, index=True)
    payload: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class Outbox(SQLModel, table=True):
    """An e-mail approved for delivery; unique per reminder, so a reminder is queued at most once."""

    id: int | None = Field(default=None, primary_key=True)
    business_id: int = Field(foreign_key="business.id")
    reminder_id: int = Field(foreign_key="reminder.id", unique=True)
    state: str = Field(default="queued", max_length=16, index=True)  # queued|sending|sent|failed|unknown
    message_id: str = Field(max_length=300, unique=True)  # chosen before the first attempt, kept on retries
    mail_from: str = Field(max_length=254)
    recipients: str = Field(max_length=1000)  # comma-separated
    subject: str = Field(max_length=300)
    raw_message: bytes = Field(sa_type=LargeBinary)  # the exact MIME message handed to the SMTP server
    attempts: int = 0
    not_before: datetime = _stamp()  # next attempt, or the opening of the sending window
    last_reply: str | None = Field(default=None, max_length=1000)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _stamp()
    updated_at: datetime = _stamp()
    #: The process that claimed it last (storage/workers.py): a row left `sending` by a dead one is `unknown`.
    claimed_by: str | None = Field(default=None, max_length=120)
    #: When the chats were told of its last outcome (None: not yet; told by the next process if its own died).
    reported_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DigestRun(SQLModel, table=True):
    """The morning digest sent to a business on a given local day (so it goes out once per day)."""

    __table_args__ = (UniqueConstraint("business_id", "day", name="uq_digest_business_day"),)

    id: int | None = Field(default=None, primary_key=True)
    business_id: int = Field(foreign_key="business.id")
    day: date
    sent_at: datetime = _stamp()
    head_hash: str = Field(default="", max_length=64)
    #: When every chat had it; None: claimed but not (yet) delivered, reported in the next digest.
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: The process delivering it (storage/workers.py): undelivered and claimed by a dead one, it is taken up again.
    claimed_by: str | None = Field(default=None, max_length=120)


class Card(SQLModel, table=True):
    """A chat message that shows a reminder, so the bot can refresh it when the reminder changes."""

    # The same message id in two chats, from two bots or in two businesses is two cards.
    __table_args__ = (
        UniqueConstraint(
            "business_id", "channel", "chat_id", "message_id", name="uq_card_business_channel_chat_message"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    business_id: int = Field(foreign_key="business.id")
    channel: str = Field(default="telegram", max_length=64)  # the chat adapter (and bot) that shows the card
    reminder_id: int = Field(foreign_key="reminder.id", index=True)
    # Text: Telegram's numeric ids as digits, Slack's channel ids and message timestamps as they are.
    chat_id: str = Field(max_length=64)
    message_id: str = Field(max_length=64)
    created_at: datetime = _stamp()


class BusinessOwner(SQLModel, table=True):
    """An owner of a business in one chat (`telegram`: the numeric user id; `slack`: the member id U…)."""

    __tablename__ = "business_owner"
    __table_args__ = (
        UniqueConstraint("business_id", "channel", "user_id", name="uq_business_owner"),
        Index("ix_business_owner_channel_user", "channel", "user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    business_id: int = Field(foreign_key="business.id")
    channel: str = Field(max_length=16)
    user_id: str = Field(max_length=64)


class OwnerChoice(SQLModel, table=True):
    """The business an owner of several picked last (`/entreprise`), per chat."""

    __tablename__ = "owner_choice"

    channel: str = Field(primary_key=True, max_length=16)
    user_id: str = Field(primary_key=True, max_length=64)
    business_id: int = Field(foreign_key="business.id")
    chosen_at: datetime = _stamp()


class BusinessSecret(SQLModel, table=True):
    """A business's secret (SMTP or IMAP password, Slack token), encrypted (Fernet token, text); never the plaintext."""

    __tablename__ = "business_secret"
    __table_args__ = (UniqueConstraint("business_id", "name", name="uq_business_secret"),)

    id: int | None = Field(default=None, primary_key=True)
    business_id: int = Field(foreign_key="business.id")
    name: str = Field(max_length=40)
    ciphertext: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = _stamp()
