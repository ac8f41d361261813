"""What the Slack emulator records (users, channels, messages, views, files, calls, deliveries), behind one lock."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

TEAM_ID = "T0RELANCE"
TEAM_DOMAIN = "relance-test"
APP_ID = "A0RELANCE"
BOT_USER_ID = "U0RELBOT"
BOT_ID = "B0RELBOT"
BOT_TOKEN = "xoxb-0000-fake-bot-token"
APP_TOKEN = "xapp-1-A0RELANCE-0000-fake-app-token"
SIGNING_SECRET = "fake-signing-secret-0123456789abcdef"
TRIGGER_TTL = 3.0  # seconds a trigger_id stays valid, as in Slack


class SlackTimeout(AssertionError):
    """A wait on the emulator's state (or on an acknowledgment) ran past its deadline."""


def texts_of(node: object) -> Iterator[str]:
    """Every `text` string inside a Block Kit structure (text objects, fields, elements), in document order."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from texts_of(value)
    elif isinstance(node, list):
        for item in node:
            yield from texts_of(item)


@dataclass
class User:
    """A workspace member the tests play."""

    id: str
    name: str
    locale: str
    dm: str
    tz: str = "Europe/Paris"

    def info(self, *, include_locale: bool) -> dict[str, Any]:
        """The `user` object of users.info."""
        user: dict[str, Any] = {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "real_name": self.name,
            "deleted": False,
            "is_bot": False,
            "is_admin": False,
            "tz": self.tz,
            "profile": {"real_name": self.name, "display_name": self.name},
        }
        if include_locale:
            user["locale"] = self.locale
        return user


@dataclass
class Message:
    """A message as it currently stands in a channel (after chat.update); `user` is the author."""

    channel: str
    ts: str
    user: str
    text: str
    blocks: list[dict[str, Any]]
    bot_id: str | None = None
    thread_ts: str | None = None
    files: list[str] = field(default_factory=list)
    edits: int = 0
    deleted: bool = False

    @property
    def plain(self) -> str:
        """The fallback text and every text of the blocks, one per line: handy for assertions."""
        return "\n".join([self.text, *texts_of(self.blocks)])

    def payload(self) -> dict[str, Any]:
        """The message object as Slack shows it in API answers and interaction payloads."""
        message: dict[str, Any] = {"type": "message", "ts": self.ts, "user": self.user, "text": self.text}
        if self.blocks:
            message["blocks"] = self.blocks
        if self.bot_id:
            message.update({"bot_id": self.bot_id, "app_id": APP_ID, "team": TEAM_ID})
        if self.thread_ts:
            message["thread_ts"] = self.thread_ts
        if self.files:
            message["files"] = [{"id": file_id} for file_id in self.files]
        return message


@dataclass(frozen=True)
class Update:
    """One chat.update (or response_url replacement) as it arrived."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    at: float


@dataclass(frozen=True)
class Ephemeral:
    """An ephemeral message shown to one user: by chat.postEphemeral, a slash command's ack, or a response_url."""

    channel: str
    user: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    source: str

    @property
    def plain(self) -> str:
        """The text and every text of the blocks, one per line."""
        return "\n".join([self.text, *texts_of(self.blocks)])


@dataclass
class View:
    """A modal or an App Home view; `body` is the view the app sent (blocks, title, private_metadata...)."""

    id: str
    user: str
    body: dict[str, Any]
    hash: str
    root_view_id: str
    previous_view_id: str | None = None

    @property
    def type(self) -> str:
        """ "modal" or "home"."""
        return str(self.body.get("type", ""))

    @property
    def blocks(self) -> list[dict[str, Any]]:
        """The view's blocks."""
        blocks = self.body.get("blocks")
        return blocks if isinstance(blocks, list) else []

    @property
    def plain(self) -> str:
        """Every text of the view (title and blocks), one per line."""
        return "\n".join(texts_of([self.body.get("title"), self.blocks]))

    def payload(self, values: dict[str, Any] | None = None) -> dict[str, Any]:
        """The view object as Slack returns it from views.* and sends it in view_submission."""
        view = {
            "id": self.id,
            "team_id": TEAM_ID,
            "type": self.type,
            "blocks": self.blocks,
            "private_metadata": self.body.get("private_metadata", ""),
            "callback_id": self.body.get("callback_id", ""),
            "external_id": self.body.get("external_id", ""),
            "state": {"values": values or {}},
            "hash": self.hash,
            "clear_on_close": bool(self.body.get("clear_on_close", False)),
            "notify_on_close": bool(self.body.get("notify_on_close", False)),
            "root_view_id": self.root_view_id,
            "previous_view_id": self.previous_view_id,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
        }
        for key in ("title", "submit", "close"):
            if key in self.body:
                view[key] = self.body[key]
        return view


@dataclass
class SlackFile:
    """A file known to the workspace: shared by a user or uploaded by the app."""

    id: str
    name: str
    title: str
    user: str
    content: bytes
    created: int
    channels: list[str] = field(default_factory=list)
    completed: bool = False

    @property
    def filetype(self) -> str:
        """The extension Slack reports as filetype ("csv", "png"...)."""
        return self.name.rsplit(".", 1)[-1].lower() if "." in self.name else "binary"

    @property
    def mimetype(self) -> str:
        """A MIME type guessed from the extension, as Slack does."""
        return {"csv": "text/csv", "png": "image/png", "txt": "text/plain", "pdf": "application/pdf"}.get(
            self.filetype, "application/octet-stream"
        )

    def info(self, base_url: str) -> dict[str, Any]:
        """The `file` object of files.info."""
        private = f"{base_url}/files-pri/{TEAM_ID}-{self.id}/{self.name}"
        return {
            "id": self.id,
            "created": self.created,
            "timestamp": self.created,
            "name": self.name,
            "title": self.title,
            "mimetype": self.mimetype,
            "filetype": self.filetype,
            "user": self.user,
            "size": len(self.content),
            "mode": "hosted",
            "is_external": False,
            "url_private": private,
            "url_private_download": f"{base_url}/files-pri/{TEAM_ID}-{self.id}/download/{self.name}",
            "channels": [c for c in self.channels if c.startswith("C")],
            "ims": [c for c in self.channels if c.startswith("D")],
            "groups": [],
        }


@dataclass(frozen=True)
class ApiCall:
    """One Web API request: method, parameters (token removed), the error or warning answered, the HTTP status."""

    method: str
    params: dict[str, Any]
    error: str | None
    status: int
    at: float
    warning: str | None = None  # "missing_text": blocks without the `text` fallback notifications need


@dataclass
class Delivery:
    """One envelope handed to the app (Socket Mode or HTTP) and its acknowledgment."""

    envelope_id: str
    type: str
    payload: dict[str, Any]
    transport: str
    sent_at: float
    acked_at: float | None = None
    ack: dict[str, Any] | None = None

    @property
    def ack_seconds(self) -> float | None:
        """Seconds between sending and the acknowledgment (None while unacknowledged)."""
        return None if self.acked_at is None else self.acked_at - self.sent_at


class SlackState:
    """The workspace as the emulator sees it; every access takes `lock`, every change wakes `wait_for` callers."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._changed = threading.Condition(self.lock)
        self._seq = itertools.count(1)
        self.users: dict[str, User] = {}
        self.channels: dict[str, str] = {}  # channel id -> name
        self.history: dict[str, list[Message]] = {}
        self.update_log: list[Update] = []
        self.ephemeral_log: list[Ephemeral] = []
        self.views: dict[str, View] = {}
        self.modal_stacks: dict[str, list[str]] = {}  # user -> view ids, bottom first
        self.homes: dict[str, str] = {}  # user -> view id
        self.files: dict[str, SlackFile] = {}
        self.call_log: list[ApiCall] = []
        self.deliveries: list[Delivery] = []
        self.triggers: dict[str, tuple[str, float]] = {}  # unused trigger id -> (user, issue time, monotonic)
        self.used_triggers: set[str] = set()
        self.connections = 0  # Socket Mode connections that received hello, ever

    # ------------------------------------------------------------------ ids and change notification

    def new_id(self, prefix: str) -> str:
        """A fresh Slack-looking id ("V0000000A1"...)."""
        return f"{prefix}0{next(self._seq):08X}"

    def new_ts(self) -> str:
        """A fresh, increasing message timestamp ("1712345678.000123")."""
        return f"{int(time.time())}.{next(self._seq) % 1_000_000:06d}"

    def changed(self) -> None:
        """Wake the callers of `wait_for` (call with the lock held)."""
        self._changed.notify_all()

    def wait_for(self, predicate: Callable[[], T | None], timeout: float, what: str) -> T:
        """Block until `predicate()` is truthy (evaluated under the lock) and return it; SlackTimeout otherwise."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                result = predicate()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SlackTimeout(f"timed out after {timeout}s waiting for {what}")
                self._changed.wait(remaining)

    # ------------------------------------------------------------------ users, channels, messages

    def add_user(self, user_id: str, name: str, locale: str) -> User:
        """Create (or replace) a member and its DM channel with the app."""
        with self.lock:
            dm = self.users[user_id].dm if user_id in self.users else f"D{user_id[1:]}"
            user = User(user_id, name, locale, dm)
            self.users[user_id] = user
            self.channels.setdefault(dm, f"dm-{name}")
            self.history.setdefault(dm, [])
            self.changed()
            return user

    def add_channel(self, channel_id: str, name: str) -> None:
        """Create a channel the app can post in."""
        with self.lock:
            self.channels[channel_id] = name
            self.history.setdefault(channel_id, [])
            self.changed()

    def user(self, user_id: str) -> User:
        """The member `user_id` (LookupError when the test never added it)."""
        with self.lock:
            if user_id not in self.users:
                raise LookupError(f"unknown Slack user {user_id!r}: call add_user first")
            return self.users[user_id]

    def resolve_channel(self, channel: str) -> str | None:
        """The channel id for a channel id or a user id (posting to a user id lands in the DM), None if unknown."""
        with self.lock:
            if channel in self.channels:
                return channel
            user = self.users.get(channel)
            return user.dm if user else None

    def post(self, message: Message) -> Message:
        """Append a message to its channel's history."""
        with self.lock:
            self.history.setdefault(message.channel, []).append(message)
            self.changed()
            return message

    def find(self, channel: str, ts: str) -> Message | None:
        """The live (not deleted) message `ts` of `channel`."""
        with self.lock:
            for message in self.history.get(channel, []):
                if message.ts == ts and not message.deleted:
                    return message
            return None

    def update(self, message: Message, text: str, blocks: list[dict[str, Any]]) -> None:
        """Replace a message's text and blocks in place and log the update."""
        with self.lock:
            message.text, message.blocks = text, blocks
            message.edits += 1
            self.update_log.append(Update(message.channel, message.ts, text, blocks, time.monotonic()))
            self.changed()

    def ephemeral(self, item: Ephemeral) -> None:
        """Record an ephemeral message."""
        with self.lock:
            self.ephemeral_log.append(item)
            self.changed()

    # ------------------------------------------------------------------ views, triggers, files, logs

    def issue_trigger(self, user: str) -> str:
        """A trigger_id for one interaction of `user`, valid once for TRIGGER_TTL seconds."""
        with self.lock:
            trigger = f"{next(self._seq)}.{TEAM_ID}.{self.new_id('')}"
            self.triggers[trigger] = (user, time.monotonic())
            return trigger

    def exchange_trigger(self, trigger: str) -> tuple[str, str | None]:
        """Use a trigger_id up: (its user, None), or ("", Slack error) when unknown, already used or expired."""
        with self.lock:
            if trigger in self.used_triggers:
                return "", "exchanged_trigger_id"
            issued = self.triggers.pop(trigger, None)
            if issued is None:
                return "", "invalid_trigger_id"
            self.used_triggers.add(trigger)
            user, at = issued
            return (user, None) if time.monotonic() - at <= TRIGGER_TTL else ("", "expired_trigger_id")

    def save_view(self, view: View) -> View:
        """Store a view (new or replaced) and wake waiters."""
        with self.lock:
            self.views[view.id] = view
            self.changed()
            return view

    def add_file(self, file: SlackFile) -> SlackFile:
        """Store a file."""
        with self.lock:
            self.files[file.id] = file
            self.changed()
            return file

    def log_call(self, call: ApiCall) -> None:
        """Record a Web API call."""
        with self.lock:
            self.call_log.append(call)
            self.changed()

    def log_delivery(self, delivery: Delivery) -> None:
        """Record a delivery (before its acknowledgment)."""
        with self.lock:
            self.deliveries.append(delivery)
            self.changed()

    def acked(self, delivery: Delivery, ack: dict[str, Any]) -> None:
        """Record a delivery's acknowledgment."""
        with self.lock:
            delivery.acked_at, delivery.ack = time.monotonic(), ack
            self.changed()
