"""The vocabularies shared by the policy, the storage and the chat: invoice states, reminder states, profiles."""

from __future__ import annotations

from enum import StrEnum

from dunning.invoice_states import State as InvoiceState

__all__ = ["OPEN_REMINDER_STATES", "ClientProfile", "InvoiceState", "ReminderState"]


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
