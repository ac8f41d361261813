"""One bot account on the fake Bot API server: its updates, chats and messages, the Bot API methods, owner routes."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from .httpserver import UploadedFile
from .models import ApiCall, StoredFile, StoredMessage, Tap, TelegramError
from .telegram_html import EntityParseError, Parsed, parse_html, strip_text

if TYPE_CHECKING:
    from .server import FakeTelegram

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_CALLBACK_ANSWER = 200
MAX_DOWNLOAD = 20 * 1024 * 1024
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)
CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
WEBHOOK_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
UPDATE_TYPES = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "callback_query",
    "inline_query",
    "chosen_inline_result",
    "my_chat_member",
    "chat_member",
)
# Sent only when asked for explicitly in allowed_updates (Bot API docs).
_OPT_IN_TYPES = {"chat_member", "message_reaction", "message_reaction_count"}
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"RIFF")


@dataclass
class _Update:
    update_id: int
    kind: str
    payload: dict[str, Any]


@dataclass
class Webhook:
    """The webhook set with setWebhook, and how its deliveries went (Telegram's getWebhookInfo fields)."""

    url: str
    secret_token: str | None
    generation: int
    last_error_date: int | None = None
    last_error_message: str | None = None
    #: (update_id, HTTP status or None when the bot could not be reached), in order.
    deliveries: list[tuple[int, int | None]] = field(default_factory=list)


def _param(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    return None if value == "" and name != "text" else value


def _int(params: dict[str, Any], name: str, *, required: bool = True, empty: str | None = None) -> int | None:
    value = _param(params, name)
    if value is None:
        if required:
            raise TelegramError(400, empty or f"Bad Request: {name} is empty")
        return None
    if isinstance(value, bool):
        raise TelegramError(400, f"Bad Request: invalid {name} specified")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise TelegramError(400, f"Bad Request: invalid {name} specified") from None


def _json(params: dict[str, Any], name: str, what: str | None = None) -> Any:
    value = _param(params, name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise TelegramError(400, f"Bad Request: can't parse {what or name} JSON object") from None
    return value


def _bool(params: dict[str, Any], name: str) -> bool:
    value = _param(params, name)
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


def _format(text: Any, parse_mode: Any, entities: Any, *, limit: int, kind: str) -> Parsed:
    """Apply the parse mode and Telegram's length rules to a text or a caption."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    mode = (parse_mode or "").strip()
    if mode.upper() == "HTML":
        try:
            parsed = parse_html(text)
        except EntityParseError as exc:
            raise TelegramError(400, f"Bad Request: can't parse entities: {exc}") from None
    elif not mode:
        parsed = Parsed(text, list(entities or []))
    else:
        # The fake only speaks HTML (the bot's default); say so instead of guessing Markdown rules.
        raise TelegramError(400, "Bad Request: unsupported parse_mode")
    parsed = strip_text(parsed)
    if kind == "text" and not parsed.text:
        raise TelegramError(400, "Bad Request: message text is empty")
    if len(parsed.text) > limit:
        raise TelegramError(
            400, "Bad Request: message is too long" if kind == "text" else "Bad Request: message caption is too long"
        )
    return parsed


def _markup(value: Any, *, inline_only: bool = False) -> dict[str, Any] | None:
    """Validate a reply markup like Telegram does."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TelegramError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in value:
        if inline_only:
            raise TelegramError(400, "Bad Request: inline keyboard expected")
        if not any(k in value for k in ("keyboard", "remove_keyboard", "force_reply")):
            raise TelegramError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        return value
    rows = value["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise TelegramError(
            400, 'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
        )
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise TelegramError(
                    400, 'Bad Request: can\'t parse inline keyboard button: Field "text" must be of type String'
                )
            if not button["text"].strip():
                raise TelegramError(400, "Bad Request: can't parse inline keyboard button: Text must be non-empty")
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
                    raise TelegramError(400, "Bad Request: BUTTON_DATA_INVALID")
            elif "url" in button:
                if not re.match(r"(https?|tg)://\S+$", str(button["url"])):
                    raise TelegramError(400, "Bad Request: BUTTON_URL_INVALID")
            elif not any(
                k in button
                for k in (
                    "switch_inline_query",
                    "switch_inline_query_current_chat",
                    "pay",
                    "web_app",
                    "login_url",
                    "copy_text",
                    "callback_game",
                    "switch_inline_query_chosen_chat",
                )
            ):
                raise TelegramError(
                    400,
                    "Bad Request: can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard",
                )
    return value


def _inline(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """Only inline keyboards stay attached to a message."""
    return markup if markup and "inline_keyboard" in markup and markup["inline_keyboard"] else None


def _png_size(content: bytes) -> tuple[int, int]:
    if content.startswith(b"\x89PNG\r\n\x1a\n") and len(content) >= 24:
        return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
    return 640, 480


class FakeBotAccount:
    """A bot on the fake server, and the routes a test uses to play its users (the owner, a stranger)."""

    def __init__(self, server: FakeTelegram, token: str, username: str, first_name: str) -> None:
        self.server = server
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.username = username
        self.first_name = first_name
        self._lock: threading.RLock = server.lock
        # Notified on every change (an update pushed, a call served): lets a benchmark wait without polling.
        self._changed = threading.Condition(self._lock)
        self._updates: list[_Update] = []
        self._update_ids = itertools.count(100_001)
        self._users: dict[int, dict[str, Any]] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._messages: dict[int, dict[int, StoredMessage]] = {}
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._taps: dict[str, Tap] = {}
        self._files: dict[str, StoredFile] = {}
        self._file_seq = itertools.count(1)
        self._calls: list[ApiCall] = []
        self._waiters: set[asyncio.Future[None]] = set()
        self._poll_generation = 0
        self.allowed_updates: list[str] | None = None
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.settings: dict[tuple[str, str], Any] = {}
        self.unknown_methods: list[str] = []
        self.polls = 0
        # Webhook mode: while set, updates are POSTed to its URL (one at a time, in order) and getUpdates is refused.
        self.webhook: Webhook | None = None
        self._webhook_generation = 0
        self._webhook_wake: asyncio.Event | None = None
        self._webhook_task: asyncio.Task[None] | None = None

    # ----------------------------------------------------------------- properties for tests

    @property
    def api_url(self) -> str:
        """The value for TELEGRAM_API_URL."""
        return self.server.url

    @property
    def bot_user(self) -> dict[str, Any]:
        """The bot's User object."""
        return {"id": self.bot_id, "is_bot": True, "first_name": self.first_name, "username": self.username}

    @property
    def webhook_url(self) -> str | None:
        """The URL set with setWebhook (updates go there), or None (long polling)."""
        with self._lock:
            return None if self.webhook is None else self.webhook.url

    def webhook_deliveries(self) -> list[tuple[int, int | None]]:
        """Every POST of an update to the webhook: (update_id, the bot's HTTP status or None), in order."""
        with self._lock:
            return [] if self.webhook is None else list(self.webhook.deliveries)

    @property
    def is_polling(self) -> bool:
        """Whether a getUpdates long poll is waiting right now (the bot is up and listening)."""
        with self._lock:
            return bool(self._waiters)

    # ----------------------------------------------------------------- owner-playing routes

    def add_chat(self, user_id: int, *, first_name: str = "Owner", language_code: str = "fr") -> None:
        """Register a private chat, as if the user had pressed Start before (the bot may write to it)."""
        with self._lock:
            self._user(user_id, first_name, language_code)

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        language_code: str = "fr",
        first_name: str | None = None,
        reply_to_message_id: int | None = None,
    ) -> StoredMessage:
        """The user writes `text` (a command when it starts with '/'); returns the message as stored."""
        with self._lock:
            user = self._user(user_id, first_name, language_code)
            message = self._new_message(user_id, from_bot=False, sender=user)
            message.text = text
            if text.startswith("/"):
                command = text.split(maxsplit=1)[0]
                message.entities = [
                    {"type": "bot_command", "offset": 0, "length": len(command.encode("utf-16-le")) // 2}
                ]
            message.reply_to_message_id = reply_to_message_id
            payload = message.to_api(self._chats[user_id])
            if reply_to_message_id is not None and reply_to_message_id in self._messages[user_id]:
                original = self._messages[user_id][reply_to_message_id]
                payload["reply_to_message"] = original.to_api(self._chats[user_id])
            self._push("message", {"message": payload})
            return copy.deepcopy(message)

    def send_texts(self, messages: Iterable[tuple[int, str]], *, language_code: str = "fr") -> int:
        """Many users write at once (a flood): (user id, text) pairs pushed under one lock; returns how many."""
        count = 0
        with self._lock:
            for user_id, text in messages:
                user = self._user(user_id, None, language_code)
                message = self._new_message(user_id, from_bot=False, sender=user)
                message.text = text
                if text.startswith("/"):
                    command = text.split(maxsplit=1)[0]
                    message.entities = [
                        {"type": "bot_command", "offset": 0, "length": len(command.encode("utf-16-le")) // 2}
                    ]
                self._push("message", {"message": message.to_api(self._chats[user_id])})
                count += 1
        return count

    def send_group_text(
        self, chat_id: int, user_id: int, text: str, *, chat_type: str = "supergroup", title: str = "Groupe"
    ) -> StoredMessage:
        """A user writes `text` in a group, supergroup or channel the bot is in (chat ids of groups are negative)."""
        if chat_id >= 0 or chat_type not in ("group", "supergroup", "channel"):
            raise ValueError("a group chat has a negative id and type group, supergroup or channel")
        with self._lock:
            user = self._user(user_id, None, None)
            if chat_id not in self._chats:
                self._chats[chat_id] = {"id": chat_id, "type": chat_type, "title": title}
                self._messages[chat_id] = {}
                self._message_ids[chat_id] = itertools.count(1)
            message = self._new_message(chat_id, from_bot=False, sender=user)
            message.text = text
            if text.startswith("/"):
                command = text.split(maxsplit=1)[0]
                message.entities = [
                    {"type": "bot_command", "offset": 0, "length": len(command.encode("utf-16-le")) // 2}
                ]
            payload = message.to_api(self._chats[chat_id])
            if chat_type == "channel":
                payload.pop("from", None)
                self._push("channel_post", {"channel_post": payload})
            else:
                self._push("message", {"message": payload})
            return copy.deepcopy(message)

    def upload_document(
        self,
        user_id: int,
        file_name: str,
        content: bytes,
        *,
        mime_type: str = "text/csv",
        caption: str | None = None,
        language_code: str = "fr",
    ) -> StoredMessage:
        """The user sends a file; the bot can fetch it with getFile and the download path."""
        with self._lock:
            user = self._user(user_id, None, language_code)
            stored = self._store_file(content, "documents", file_name, mime_type)
            message = self._new_message(user_id, from_bot=False, sender=user)
            message.document = self._document_view(stored)
            message.caption = caption
            self._push("message", {"message": message.to_api(self._chats[user_id])})
            return copy.deepcopy(message)

    def tap(self, chat_id: int, message_id: int, data: str, *, user_id: int | None = None) -> Tap:
        """A user taps an inline button with callback `data` on a message; returns the tap to check its answer."""
        with self._lock:
            uid = chat_id if user_id is None else user_id
            user = self._user(uid, None, None)
            message = self._messages.get(chat_id, {}).get(message_id)
            if message is None:
                raise KeyError(f"no message {message_id} in chat {chat_id}")
            tap = Tap(str(uuid.uuid4().int >> 64), uid, chat_id, message_id, data, time.monotonic())
            self._taps[tap.id] = tap
            query = {
                "id": tap.id,
                "from": user,
                "message": message.to_api(self._chats[chat_id]),
                "chat_instance": str(chat_id * 7 + 3),
                "data": data,
            }
            self._push("callback_query", {"callback_query": query})
            return copy.deepcopy(tap)

    def press(self, message: StoredMessage, label: str, *, user_id: int | None = None) -> Tap:
        """Tap the button of `message` whose label contains `label` (as currently displayed)."""
        current = self.message(message.chat_id, message.message_id)
        if current is None:
            raise KeyError(f"message {message.message_id} is gone")
        data = current.button(label).callback_data
        if data is None:
            raise KeyError(f"button {label!r} has no callback data")
        return self.tap(message.chat_id, message.message_id, data, user_id=user_id)

    def tap_state(self, tap_id: str) -> Tap:
        """The tap now: answered or not, and with what text."""
        with self._lock:
            return copy.deepcopy(self._taps[tap_id])

    def history(self, chat_id: int, *, include_deleted: bool = False) -> list[StoredMessage]:
        """The chat's messages as currently displayed, oldest first."""
        with self._lock:
            messages = self._messages.get(chat_id, {}).values()
            return [copy.deepcopy(m) for m in messages if include_deleted or not m.deleted]

    def bot_messages(self, chat_id: int) -> list[StoredMessage]:
        """The messages the bot sent in a chat (not deleted), oldest first."""
        return [m for m in self.history(chat_id) if m.from_bot]

    def message(self, chat_id: int, message_id: int) -> StoredMessage | None:
        """One message as currently displayed."""
        with self._lock:
            found = self._messages.get(chat_id, {}).get(message_id)
            return copy.deepcopy(found) if found else None

    def edit_count(self, chat_id: int, message_id: int) -> int:
        """How many times the bot edited a message (cheap: no copy)."""
        with self._lock:
            found = self._messages.get(chat_id, {}).get(message_id)
            return found.edits if found else 0

    def wait_change(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Block until `predicate()` holds, re-checked at each change of state; False on timeout (thread mode only)."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    def file_content(self, file_id: str) -> bytes:
        """The bytes of a stored file (a document or photo the bot sent)."""
        with self._lock:
            return self._files[file_id].content

    def calls(self, method: str | None = None) -> list[ApiCall]:
        """The Bot API calls received, optionally of one method (case-insensitive)."""
        with self._lock:
            return [copy.deepcopy(c) for c in self._calls if method is None or c.method.lower() == method.lower()]

    def errors(self) -> list[ApiCall]:
        """The calls the fake refused (4xx), long-poll conflicts excepted."""
        return [c for c in self.calls() if not c.ok and c.status != 409]

    def pending_updates(self) -> int:
        """How many updates the bot has not confirmed yet."""
        with self._lock:
            return len(self._updates)

    async def wait_for(
        self,
        predicate: Callable[[], T | Literal[False] | None],
        *,
        timeout: float = 10.0,
        interval: float = 0.005,
        what: str = "",
    ) -> T:
        """Poll `predicate` until it returns a truthy value (returned); AssertionError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}; {self.describe()}")
            await asyncio.sleep(interval)

    def wait_until(
        self,
        predicate: Callable[[], T | Literal[False] | None],
        *,
        timeout: float = 10.0,
        interval: float = 0.005,
        what: str = "",
    ) -> T:
        """Like `wait_for`, blocking (only when the server runs in its own thread)."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}; {self.describe()}")
            time.sleep(interval)

    def describe(self) -> str:
        """A summary of the chats and the last refused calls, for failure messages."""
        with self._lock:
            lines = []
            for chat_id, messages in self._messages.items():
                for m in list(messages.values())[-6:]:
                    who = "bot" if m.from_bot else "user"
                    flag = " (deleted)" if m.deleted else ""
                    lines.append(f"[{chat_id}#{m.message_id} {who}{flag}] {m.shown[:160]!r} {m.button_labels}")
            errors = [f"{c.method}: {c.status} {c.description}" for c in self._calls if not c.ok][-5:]
            return "chat:\n" + "\n".join(lines) + ("\nerrors: " + "; ".join(errors) if errors else "")

    # ----------------------------------------------------------------- internals

    def _user(self, user_id: int, first_name: str | None, language_code: str | None) -> dict[str, Any]:
        user = self._users.get(user_id)
        if user is None:
            user = {"id": user_id, "is_bot": False, "first_name": first_name or f"User {user_id}"}
            if language_code:
                user["language_code"] = language_code
            self._users[user_id] = user
            self._chats[user_id] = {"id": user_id, "type": "private", "first_name": user["first_name"]}
            self._messages[user_id] = {}
            self._message_ids[user_id] = itertools.count(1)
        else:
            if first_name:
                user["first_name"] = first_name
            if language_code:
                user["language_code"] = language_code
        return dict(user)

    def _new_message(self, chat_id: int, *, from_bot: bool, sender: dict[str, Any]) -> StoredMessage:
        message = StoredMessage(chat_id, next(self._message_ids[chat_id]), from_bot, sender, int(time.time()))
        self._messages[chat_id][message.message_id] = message
        return message

    def _push(self, kind: str, payload: dict[str, Any]) -> None:
        update_id = next(self._update_ids)
        self._updates.append(_Update(update_id, kind, {"update_id": update_id, **payload}))
        self._changed.notify_all()
        self._wake()

    def _wake(self) -> None:
        loop = self.server.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake_now)

    def _wake_now(self) -> None:
        with self._lock:
            if self._webhook_wake is not None:
                self._webhook_wake.set()
            for fut in self._waiters:
                if not fut.done():
                    fut.set_result(None)

    def _store_file(self, content: bytes, folder: str, file_name: str | None, mime_type: str | None) -> StoredFile:
        seq = next(self._file_seq)
        suffix = ""
        if file_name and "." in file_name:
            suffix = "." + file_name.rsplit(".", 1)[1]
        stored = StoredFile(
            file_id=f"BQACAgQAAx{self.bot_id}{seq:06d}{uuid.uuid4().hex[:12]}",
            file_unique_id=f"AgAD{seq:06d}",
            file_path=f"{folder}/file_{seq}{suffix}",
            content=content,
            file_name=file_name,
            mime_type=mime_type,
        )
        self._files[stored.file_id] = stored
        return stored

    @staticmethod
    def _document_view(stored: StoredFile) -> dict[str, Any]:
        view: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
        }
        if stored.file_name:
            view["file_name"] = stored.file_name
        if stored.mime_type:
            view["mime_type"] = stored.mime_type
        return view

    def _chat(self, params: dict[str, Any]) -> int:
        chat_id = _int(params, "chat_id")
        assert chat_id is not None
        if chat_id not in self._chats:
            raise TelegramError(400, "Bad Request: chat not found")
        return chat_id

    def _editable(
        self, params: dict[str, Any], *, missing: str = "Bad Request: message to edit not found"
    ) -> StoredMessage:
        if _param(params, "inline_message_id") is not None:
            raise TelegramError(400, "Bad Request: MESSAGE_ID_INVALID")
        chat_id = self._chat(params)
        message_id = _int(params, "message_id", empty="Bad Request: message identifier is not specified")
        assert message_id is not None
        message = self._messages[chat_id].get(message_id)
        if message is None or message.deleted:
            raise TelegramError(400, missing)
        if not message.from_bot:
            raise TelegramError(400, "Bad Request: message can't be edited")
        return message

    def record(
        self, method: str, params: dict[str, Any], files: dict[str, UploadedFile], status: int, description: str | None
    ) -> None:
        """Log one call (file contents replaced by their size)."""
        shown = dict(params)
        for name, f in files.items():
            shown[name] = f"<file {f.filename} {len(f.content)} bytes>"
        with self._lock:
            self._calls.append(ApiCall(method, shown, status, description, time.time()))

    # ----------------------------------------------------------------- Bot API methods

    async def call(self, method: str, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        """Run a Bot API method; raise TelegramError as Telegram would answer."""
        name = method.lower()
        if name == "getupdates":
            return await self._get_updates(params)
        handler = _METHODS.get(name)
        if handler is None:
            with self._lock:
                self.unknown_methods.append(method)
            log.warning("fake Bot API: unknown method %s", method)
            raise TelegramError(404, "Not Found")
        with self._lock:
            result = handler(self, params, files)
            self._changed.notify_all()
            return result

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = _int(params, "offset", required=False)
        limit = min(max(_int(params, "limit", required=False) or 100, 1), 100)
        timeout = min(max(_int(params, "timeout", required=False) or 0, 0), 50)
        allowed = _json(params, "allowed_updates")
        loop = asyncio.get_running_loop()
        with self._lock:
            if self.webhook is not None:
                raise TelegramError(409, WEBHOOK_ACTIVE)
            self.polls += 1
            if allowed is not None:
                self.allowed_updates = list(allowed) or None
            if offset:
                if offset > 0:
                    self._updates = [u for u in self._updates if u.update_id >= offset]
                else:
                    self._updates = self._updates[offset:]
            # A newer poll ends any older one with 409, as Telegram does with two bot instances.
            self._poll_generation += 1
            generation = self._poll_generation
            self._wake_now()
            batch = self._batch(limit)
            if batch or timeout <= 0:
                return batch
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.add(fut)
        deadline = loop.time() + timeout
        try:
            while True:
                remaining = deadline - loop.time()
                if remaining > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(fut), remaining)
                with self._lock:
                    self._waiters.discard(fut)
                    if self._poll_generation != generation:
                        raise TelegramError(409, CONFLICT)
                    batch = self._batch(limit)
                    if batch or loop.time() >= deadline:
                        return batch
                    fut = loop.create_future()
                    self._waiters.add(fut)
        finally:
            with self._lock:
                self._waiters.discard(fut)

    def _allowed(self, kind: str) -> bool:
        if self.allowed_updates is None:
            return kind not in _OPT_IN_TYPES
        return kind in self.allowed_updates

    def _batch(self, limit: int) -> list[dict[str, Any]]:
        allowed = self._allowed

        # Copy only the batch: with thousands of updates waiting (a flood test), copying them all at each poll
        # would make the fake, not the bot, the bottleneck.
        batch: list[dict[str, Any]] = []
        for u in self._updates:
            if allowed(u.kind):
                batch.append(copy.deepcopy(u.payload))
                if len(batch) >= limit:
                    break
        return batch

    def _get_me(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _set_webhook(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        url = str(_param(params, "url") or "")
        if not url:
            return self._delete_webhook(params, files)
        # Telegram wants https; the fake also takes http on loopback, where the bot under test listens.
        if not (url.startswith("https://") or re.match(r"http://(127\.0\.0\.1|localhost)[:/]", url)):
            raise TelegramError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = _param(params, "secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(str(secret)):
            raise TelegramError(400, "Bad Request: secret token contains unallowed characters")
        allowed = _json(params, "allowed_updates")
        if allowed is not None:
            self.allowed_updates = list(allowed) or None
        if _bool(params, "drop_pending_updates"):
            self._updates.clear()
        self._webhook_generation += 1
        self.webhook = Webhook(url, None if secret is None else str(secret), self._webhook_generation)
        # setWebhook is served in the server's loop: the delivery runs there too.
        loop = asyncio.get_running_loop()
        self._webhook_wake = asyncio.Event()
        self._webhook_task = loop.create_task(self._deliver(self.webhook))
        return True

    def _delete_webhook(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        if _bool(params, "drop_pending_updates"):
            self._updates.clear()
        self.webhook = None
        self._webhook_generation += 1
        if self._webhook_wake is not None:
            self._webhook_wake.set()  # the delivery loop sees the change and ends
        return True

    def _get_webhook_info(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        info: dict[str, Any] = {"url": "", "has_custom_certificate": False, "pending_update_count": len(self._updates)}
        if self.webhook is not None:
            info["url"] = self.webhook.url
            info["max_connections"] = 1
            if self.allowed_updates is not None:
                info["allowed_updates"] = list(self.allowed_updates)
            if self.webhook.last_error_date is not None:
                info["last_error_date"] = self.webhook.last_error_date
                info["last_error_message"] = self.webhook.last_error_message
        return info

    async def _deliver(self, hook: Webhook) -> None:
        """POST each pending update to the webhook (JSON, the secret in its header), one at a time, oldest first;
        an update leaves the queue once the bot answered 2xx, else it is retried shortly (as Telegram does)."""
        import aiohttp  # the bot's dependency; only the webhook tests need it here

        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                with self._lock:
                    if self.webhook is not hook or self._webhook_wake is None:
                        return
                    wake = self._webhook_wake
                    update = next((u for u in self._updates if self._allowed(u.kind)), None)
                    if update is None:
                        wake.clear()
                    payload = None if update is None else json.dumps(update.payload)
                if update is None or payload is None:
                    await wake.wait()
                    continue
                headers = {"Content-Type": "application/json"}
                if hook.secret_token is not None:
                    headers[WEBHOOK_SECRET_HEADER] = hook.secret_token
                status: int | None = None
                error = ""
                try:
                    async with session.post(hook.url, data=payload, headers=headers) as response:
                        status = response.status
                        error = f"Wrong response from the webhook: {response.status} {response.reason}"
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    error = f"Connection refused ({type(exc).__name__})"
                with self._lock:
                    hook.deliveries.append((update.update_id, status))
                    delivered = status is not None and 200 <= status < 300
                    if delivered:
                        with contextlib.suppress(ValueError):
                            self._updates.remove(update)
                    else:
                        hook.last_error_date = int(time.time())
                        hook.last_error_message = error
                    self._changed.notify_all()
                if not delivered:
                    await asyncio.sleep(0.2)

    def _send_message(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat_id = self._chat(params)
        parsed = _format(
            params.get("text"), _param(params, "parse_mode"), _json(params, "entities"), limit=MAX_TEXT, kind="text"
        )
        markup = _markup(_json(params, "reply_markup", "reply keyboard markup"))
        message = self._new_message(chat_id, from_bot=True, sender=self.bot_user)
        message.text, message.entities, message.source = parsed.text, parsed.entities, params.get("text")
        message.reply_markup = _inline(markup)
        reply = _json(params, "reply_parameters")
        message.reply_to_message_id = _int(params, "reply_to_message_id", required=False) or (
            int(reply["message_id"]) if isinstance(reply, dict) and "message_id" in reply else None
        )
        return message.to_api(self._chats[chat_id])

    def _edit_message_text(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        message = self._editable(params)
        if message.text is None:
            raise TelegramError(400, "Bad Request: there is no text in the message to edit")
        parsed = _format(
            params.get("text"), _param(params, "parse_mode"), _json(params, "entities"), limit=MAX_TEXT, kind="text"
        )
        # Without reply_markup, editMessageText removes the inline keyboard.
        markup = _inline(_markup(_json(params, "reply_markup", "reply keyboard markup"), inline_only=True))
        if parsed.text == message.text and parsed.entities == message.entities and markup == message.reply_markup:
            raise TelegramError(400, NOT_MODIFIED)
        message.text, message.entities, message.source = parsed.text, parsed.entities, params.get("text")
        message.reply_markup = markup
        return self._edited(message)

    def _edit_message_caption(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        message = self._editable(params)
        if message.document is None and message.photo is None:
            raise TelegramError(400, "Bad Request: there is no caption in the message to edit")
        parsed = _format(
            params.get("caption"),
            _param(params, "parse_mode"),
            _json(params, "caption_entities"),
            limit=MAX_CAPTION,
            kind="caption",
        )
        markup = _inline(_markup(_json(params, "reply_markup", "reply keyboard markup"), inline_only=True))
        if (
            (parsed.text or None) == message.caption
            and parsed.entities == message.caption_entities
            and markup == message.reply_markup
        ):
            raise TelegramError(400, NOT_MODIFIED)
        message.caption, message.caption_entities, message.reply_markup = parsed.text or None, parsed.entities, markup
        return self._edited(message)

    def _edit_message_reply_markup(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        message = self._editable(params)
        markup = _inline(_markup(_json(params, "reply_markup", "reply keyboard markup"), inline_only=True))
        if markup == message.reply_markup:
            raise TelegramError(400, NOT_MODIFIED)
        message.reply_markup = markup
        return self._edited(message)

    def _edited(self, message: StoredMessage) -> Any:
        message.edits += 1
        message.edit_date = int(time.time())
        return message.to_api(self._chats[message.chat_id])

    def _delete_message(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat_id = self._chat(params)
        message_id = _int(params, "message_id", empty="Bad Request: message identifier is not specified")
        message = self._messages[chat_id].get(message_id or 0)
        if message is None or message.deleted:
            raise TelegramError(400, "Bad Request: message to delete not found")
        message.deleted = True
        return True

    def _answer_callback_query(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        tap = self._taps.get(str(_param(params, "callback_query_id") or ""))
        if tap is None or tap.answered:
            raise TelegramError(400, QUERY_INVALID)
        text = _param(params, "text")
        if text is not None and len(str(text)) > MAX_CALLBACK_ANSWER:
            raise TelegramError(400, "Bad Request: MESSAGE_TOO_LONG")
        tap.answered, tap.answer_text = True, None if text is None else str(text)
        tap.show_alert, tap.url, tap.answered_at = _bool(params, "show_alert"), _param(params, "url"), time.monotonic()
        return True

    def _upload(self, params: dict[str, Any], files: dict[str, UploadedFile], field: str) -> StoredFile:
        upload = files.get(field)
        if upload is not None:
            if not upload.content:
                raise TelegramError(400, "Bad Request: file must be non-empty")
            folder = "photos" if field == "photo" else "documents"
            return self._store_file(upload.content, folder, upload.filename, upload.content_type)
        ref = _param(params, field)
        if isinstance(ref, str) and ref in self._files:
            return self._files[ref]
        if isinstance(ref, str) and ref.startswith("attach://"):
            raise TelegramError(400, f"Bad Request: file {ref} not found in the request")
        # No network here: an URL or an unknown id is refused like Telegram refuses a bad one.
        raise TelegramError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    def _send_file(self, params: dict[str, Any], files: dict[str, UploadedFile], field: str) -> Any:
        chat_id = self._chat(params)
        stored = self._upload(params, files, field)
        caption = _param(params, "caption")
        parsed = _format(
            caption or "",
            _param(params, "parse_mode"),
            _json(params, "caption_entities"),
            limit=MAX_CAPTION,
            kind="caption",
        )
        markup = _markup(_json(params, "reply_markup", "reply keyboard markup"))
        message = self._new_message(chat_id, from_bot=True, sender=self.bot_user)
        if field == "photo":
            if not stored.content.startswith(_IMAGE_MAGIC):
                del self._messages[chat_id][message.message_id]
                raise TelegramError(400, "Bad Request: IMAGE_PROCESS_FAILED")
            width, height = _png_size(stored.content)
            message.photo = [
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "width": width,
                    "height": height,
                    "file_size": len(stored.content),
                }
            ]
        else:
            message.document = self._document_view(stored)
        message.caption = parsed.text or None
        message.caption_entities = parsed.entities
        message.reply_markup = _inline(markup)
        return message.to_api(self._chats[chat_id])

    def _send_document(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        return self._send_file(params, files, "document")

    def _send_photo(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        return self._send_file(params, files, "photo")

    def _get_file(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        stored = self._files.get(str(_param(params, "file_id") or ""))
        if stored is None:
            raise TelegramError(400, "Bad Request: invalid file_id")
        if len(stored.content) > MAX_DOWNLOAD:
            raise TelegramError(400, "Bad Request: file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    def download(self, file_path: str) -> bytes | None:
        """The bytes behind a file path returned by getFile."""
        with self._lock:
            for stored in self._files.values():
                if stored.file_path == file_path and len(stored.content) <= MAX_DOWNLOAD:
                    return stored.content
        return None

    @staticmethod
    def _scope_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = _json(params, "scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(_param(params, "language_code") or "")

    def _set_my_commands(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        commands = _json(params, "commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise TelegramError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND.fullmatch(str(command.get("command", ""))):
                raise TelegramError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise TelegramError(400, "Bad Request: command description is empty or too long")
        self.commands[self._scope_key(params)] = [dict(c) for c in commands]
        return True

    def _get_my_commands(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        return self.commands.get(self._scope_key(params), [])

    def _delete_my_commands(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        self.commands.pop(self._scope_key(params), None)
        return True

    def _send_chat_action(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        self._chat(params)
        return True

    def _get_chat(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat_id = self._chat(params)
        return {**self._chats[chat_id], "accent_color_id": 0, "max_reaction_count": 11}


def _setter(
    name: str, field: str, limit: int | None = None
) -> Callable[[FakeBotAccount, dict[str, Any], dict[str, UploadedFile]], Any]:
    def handler(self: FakeBotAccount, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        value = _json(params, field) if field == "menu_button" else _param(params, field)
        if limit is not None and value is not None and len(str(value)) > limit:
            raise TelegramError(400, f"Bad Request: {name} is too long")
        self.settings[(name, str(_param(params, "language_code") or _param(params, "chat_id") or ""))] = value
        return True

    return handler


def _getter(
    name: str, field: str, default: Any
) -> Callable[[FakeBotAccount, dict[str, Any], dict[str, UploadedFile]], Any]:
    def handler(self: FakeBotAccount, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        key = (name, str(_param(params, "language_code") or _param(params, "chat_id") or ""))
        value = self.settings.get(key)
        if field == "menu_button":
            return value or default
        return {field: value or ""}

    return handler


_METHODS: dict[str, Callable[[FakeBotAccount, dict[str, Any], dict[str, UploadedFile]], Any]] = {
    "getme": FakeBotAccount._get_me,
    "setwebhook": FakeBotAccount._set_webhook,
    "deletewebhook": FakeBotAccount._delete_webhook,
    "getwebhookinfo": FakeBotAccount._get_webhook_info,
    "sendmessage": FakeBotAccount._send_message,
    "editmessagetext": FakeBotAccount._edit_message_text,
    "editmessagecaption": FakeBotAccount._edit_message_caption,
    "editmessagereplymarkup": FakeBotAccount._edit_message_reply_markup,
    "deletemessage": FakeBotAccount._delete_message,
    "answercallbackquery": FakeBotAccount._answer_callback_query,
    "senddocument": FakeBotAccount._send_document,
    "sendphoto": FakeBotAccount._send_photo,
    "getfile": FakeBotAccount._get_file,
    "setmycommands": FakeBotAccount._set_my_commands,
    "getmycommands": FakeBotAccount._get_my_commands,
    "deletemycommands": FakeBotAccount._delete_my_commands,
    "setchatmenubutton": _setter("menu_button", "menu_button"),
    "getchatmenubutton": _getter("menu_button", "menu_button", {"type": "commands"}),
    "setmydescription": _setter("description", "description", 512),
    "getmydescription": _getter("description", "description", ""),
    "setmyshortdescription": _setter("short_description", "short_description", 120),
    "getmyshortdescription": _getter("short_description", "short_description", ""),
    "setmyname": _setter("name", "name", 64),
    "getmyname": _getter("name", "name", ""),
    "sendchataction": FakeBotAccount._send_chat_action,
    "getchat": FakeBotAccount._get_chat,
}
