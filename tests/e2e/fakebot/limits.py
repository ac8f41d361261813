"""Telegram's flood limits, played by the fake Bot API when asked: new messages beyond `overall` a second for the bot
or one per `per_chat` seconds in a chat get a 429 with `retry_after`, as Telegram answers them."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

#: The methods that post a new message (the ones Telegram's flood limits count).
_MESSAGE_METHODS = {"copymessage", "copymessages", "forwardmessage", "forwardmessages"}


def is_message(method: str) -> bool:
    """True for sendMessage, sendDocument… and copies or forwards."""
    name = method.lower()
    return name.startswith("send") or name in _MESSAGE_METHODS


@dataclass
class FloodLimits:
    """A token bucket for the bot (`overall` messages a second, bursts of `overall`) and one per chat (one message
    per `per_chat` seconds); `check` returns the seconds to wait (a 429) or None (accepted, counted)."""

    overall: float = 30.0
    per_chat: float = 1.0
    clock: object = time.monotonic
    refused: int = 0
    accepted: int = 0
    _tokens: float = field(default=-1.0, init=False)
    _at: float = field(default=0.0, init=False)
    _chat_last: dict[str, float] = field(default_factory=dict, init=False)

    def _now(self) -> float:
        return float(self.clock())  # type: ignore[operator]

    def check(self, method: str, chat_id: object) -> int | None:
        """None when the message may go out now (counted); else Telegram's retry_after (whole seconds, >= 1)."""
        if not is_message(method) or chat_id is None:
            return None
        now = self._now()
        if self._tokens < 0:
            self._tokens, self._at = self.overall, now
        self._tokens = min(self.overall, self._tokens + (now - self._at) * self.overall)
        self._at = now
        chat = str(chat_id)
        last = self._chat_last.get(chat)
        wait = 0.0
        if last is not None and now - last < self.per_chat:
            wait = self.per_chat - (now - last)
        if self._tokens < 1:
            wait = max(wait, (1 - self._tokens) / self.overall)
        if wait > 0:
            self.refused += 1
            return max(1, math.ceil(wait))
        self._tokens -= 1
        self._chat_last[chat] = now
        self.accepted += 1
        return None
