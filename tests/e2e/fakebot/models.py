"""What the fake Bot API server stores: messages as currently displayed, button taps, files, the call log."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class TelegramError(Exception):
    """A Bot API error, answered as {"ok": false, "error_code": ..., "description": ...}."""

    def __init__(self, error_code: int, description: str) -> None:
        super().__init__(f"{error_code} {description}")
        self.error_code = error_code
        self.description = description


@dataclass(frozen=True)
class Button:
    """One inline keyboard button as displayed."""

    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass
class StoredMessage:
    """A message in a chat as it is currently displayed (after every edit)."""

    chat_id: int
    message_id: int
    from_bot: bool
    sender: dict[str, Any]
    date: int
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    source: str | None = None  # the text as the bot sent it (HTML source, before parsing)
    reply_markup: dict[str, Any] | None = None
    document: dict[str, Any] | None = None
    photo: list[dict[str, Any]] | None = None
    caption: str | None = None
    caption_entities: list[dict[str, Any]] = field(default_factory=list)
    reply_to_message_id: int | None = None
    edit_date: int | None = None
    edits: int = 0
    deleted: bool = False

    @property
    def shown(self) -> str:
        """What the user reads: the text, or the caption of a document or photo."""
        return self.text if self.text is not None else (self.caption or "")

    @property
    def buttons(self) -> list[list[Button]]:
        """The inline keyboard, row by row (empty when none)."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [[Button(b.get("text", ""), b.get("callback_data"), b.get("url")) for b in row] for row in rows]

    @property
    def button_labels(self) -> list[str]:
        """Every button label, in reading order."""
        return [b.text for row in self.buttons for b in row]

    def button(self, label: str) -> Button:
        """The button whose label contains `label` (first one); KeyError when none does."""
        for row in self.buttons:
            for b in row:
                if label in b.text:
                    return b
        raise KeyError(f"no button {label!r} on message {self.message_id}: {self.button_labels}")

    def to_api(self, chat: dict[str, Any]) -> dict[str, Any]:
        """The Bot API Message object."""
        payload: dict[str, Any] = {
            "message_id": self.message_id,
            "from": self.sender,
            "chat": chat,
            "date": self.date,
        }
        if self.text is not None:
            payload["text"] = self.text
            if self.entities:
                payload["entities"] = self.entities
        if self.document is not None:
            payload["document"] = self.document
        if self.photo is not None:
            payload["photo"] = self.photo
        if self.caption is not None:
            payload["caption"] = self.caption
            if self.caption_entities:
                payload["caption_entities"] = self.caption_entities
        if self.reply_markup is not None and "inline_keyboard" in self.reply_markup:
            payload["reply_markup"] = self.reply_markup
        if self.edit_date is not None:
            payload["edit_date"] = self.edit_date
        return payload

    def view(self) -> dict[str, Any]:
        """A JSON view for the control API."""
        return {
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "from_bot": self.from_bot,
            "text": self.shown,
            "source": self.source,
            "buttons": [
                [{"text": b.text, "callback_data": b.callback_data, "url": b.url} for b in r] for r in self.buttons
            ],
            "document": self.document,
            "photo": self.photo is not None,
            "edits": self.edits,
            "deleted": self.deleted,
        }


@dataclass
class Tap:
    """A button press injected by the test, and how the bot answered it."""

    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    created: float
    answered: bool = False
    answer_text: str | None = None
    show_alert: bool = False
    url: str | None = None
    answered_at: float | None = None

    def view(self) -> dict[str, Any]:
        """A JSON view for the control API."""
        return dict(self.__dict__)


@dataclass
class StoredFile:
    """A file the bot or the user uploaded."""

    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    file_name: str | None = None
    mime_type: str | None = None


@dataclass
class ApiCall:
    """One Bot API call the bot made, and what the fake answered."""

    method: str
    params: dict[str, Any]
    status: int
    description: str | None
    at: float

    @property
    def ok(self) -> bool:
        """Whether the call succeeded."""
        return self.status == 200
