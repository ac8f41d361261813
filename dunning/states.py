"""The vocabularies shared by the policy, the storage and the chat: invoice states, reminder states, profiles."""

from __future__ import annotations

from enum import StrEnum


class InvoiceState(StrEnum):
    """Where an invoice stands."""

    OPEN = "open"
    PAID = "paid"
    DISPUTED = "disputed"
    PROMISED = "promised"
    WRITTEN_OFF = "written_off"


class ReminderState(StrEnum):
    """Where a reminder stands; pending, snoozed and failed ones still wait for the owner."""

    PENDING = "pending"
    SNOOZED = "snoozed"
    APPROVED = "approved"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


#: Reminders that are still "in flight": a client has at most one of these at a time.
OPEN_REMINDER_STATES = frozenset(
    {
        ReminderState.PENDING,
        ReminderState.SNOOZED,
        ReminderState.APPROVED,
        ReminderState.SENDING,
        ReminderState.FAILED,
    }
)


class ClientProfile(StrEnum):
    """How a client is treated by the ladder."""

    STANDARD = "standard"
    LOYAL = "loyal"
    LATE_PAYER = "late_payer"
    KEY_ACCOUNT = "key_account"
    IN_DIFFICULTY = "in_difficulty"
