"""What every chat adapter (Telegram, Slack) offers the process: the runtime (bot/runtime.py) starts each configured
adapter over the same services and one scheduler, hands each the day's digest and every e-mail outcome."""

from __future__ import annotations

from typing import Protocol

from services.core import DigestData
from services.outbox import DeliveryResult


class AdapterStartError(Exception):
    """An adapter could not start: `message` is one line for the owner (never a token), `exit_code` 1 for a network
    problem, 2 for a refused token or a bad setting."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class ChatAdapter(Protocol):
    """One chat door of the process."""

    #: "telegram" or "slack" (logs and errors).
    name: str

    async def start(self) -> None:
        """Connect and begin receiving (raises AdapterStartError)."""

    async def stop(self) -> None:
        """Stop receiving and close connections."""

    async def deliver_digest(self, data: DigestData) -> None:
        """The day's digest (header and cards) to each of this adapter's owners; cards registered."""

    async def on_outcome(self, result: DeliveryResult) -> None:
        """An e-mail's outcome: refresh the reminder's cards in this chat, tell the owners of failures."""
