"""In-process harness for the bot's handler tests: a Bot API stand-in that records calls, and Update builders."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine
from telegram import Update
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

from bot.app import TelegramAdapter
from bot.business import build_context
from bot.presenter import Presenter
from bot.settings import Settings
from services.core import Services
from services.delivery import DeliveryReport, SendRequest, approve_and_mark_sent
from storage.db import write_session

BOT_ID = 999
OWNER = 111
STRANGER = 666


@dataclass
class Call:
    """One Bot API call: its method name and parameters."""

    method: str
    params: dict[str, Any]


class RecordingRequest(BaseRequest):
    """Answers every Bot API method like Telegram would (enough for handlers) and records the calls; no network."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.files: dict[str, bytes] = {}  # file_id -> content served by getFile and the file URL
        self._ids = itertools.count(1000)

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    @property
    def read_timeout(self) -> float | None:
        """No timeout: nothing is awaited."""
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        """Record the call and return a plausible result."""
        name = url.rsplit("/", 1)[-1]
        if "/file/bot" in url:
            return 200, self.files[name.removesuffix(".csv")]
        params: dict[str, Any] = {}
        if request_data is not None:
            params = {k: v for k, v in request_data.parameters.items()}
            if request_data.contains_files:
                params["_files"] = list(request_data.multipart_data)
        if name != "getMe":
            self.calls.append(Call(name, params))
        return 200, json.dumps({"ok": True, "result": self._result(name, params)}).encode()

    def _result(self, name: str, params: dict[str, Any]) -> Any:
        if name == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "Relance", "username": "relance_bot",
                    "can_join_groups": False, "can_read_all_group_messages": False,
                    "supports_inline_queries": False}  # fmt: skip
        if name in ("sendMessage", "sendPhoto", "sendDocument", "editMessageText", "editMessageReplyMarkup"):
            chat_id = int(params.get("chat_id", OWNER))
            message_id = int(params["message_id"]) if "message_id" in params else next(self._ids)
            return {
                "message_id": message_id,
                "date": int(datetime.now(UTC).timestamp()),
                "chat": {"id": chat_id, "type": "private"},
                "text": params.get("text", ""),
            }
        if name == "getFile":
            file_id = str(params["file_id"])
            data = self.files[file_id]
            return {"file_id": file_id, "file_unique_id": file_id, "file_size": len(data),
                    "file_path": f"documents/{file_id}.csv"}  # fmt: skip
        return True

    # --- reading what was sent ---

    def of(self, method: str) -> list[Call]:
        """The calls of one method."""
        return [c for c in self.calls if c.method == method]

    def texts(self) -> list[str]:
        """Every text sent or edited, in order."""
        return [str(c.params.get("text", "")) for c in self.calls if "text" in c.params]

    def clear(self) -> None:
        """Forget the calls so far."""
        self.calls.clear()


class RecordingDelivery:
    """A delivery that completes at once and remembers what it was asked to send (no SMTP)."""

    default_sender = "factures@atelier.example"

    def __init__(self, *, fail: str | None = None) -> None:
        self.sent: list[SendRequest] = []
        self.fail = fail

    async def send(self, engine: Engine, request: SendRequest) -> DeliveryReport:
        """Fail when told to; else approve (version-checked) and record."""
        if self.fail:
            return DeliveryReport("failed", request.recipients, reason=self.fail)
        from storage.reminders import StaleReminderError

        try:
            with write_session(engine) as session:
                approve_and_mark_sent(session, request, how=", ".join(request.recipients), evidence={})
        except StaleReminderError:
            return DeliveryReport("stale")
        self.sent.append(request)
        return DeliveryReport("sent", request.recipients, sent_at=request.now)


@dataclass
class Chat:
    """Builds updates as the owner (or a stranger) would send them, and feeds them to the application."""

    app: Application  # type: ignore[type-arg]
    user_id: int = OWNER
    language: str = "fr"
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def _user(self) -> dict[str, Any]:
        return {"id": self.user_id, "is_bot": False, "first_name": "Marie", "language_code": self.language}

    async def feed(self, payload: dict[str, Any]) -> None:
        """Process one update."""
        payload["update_id"] = next(self._ids)
        await self.app.process_update(Update.de_json(payload, self.app.bot))
        from bot.handlers.access import settle

        await settle(self.app)  # a stranger's refusal is sent off the update's path: wait for it

    async def send(self, text: str) -> None:
        """The user types `text` (commands included)."""
        entities = []
        if text.startswith("/"):
            entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        await self.feed(
            {
                "message": {
                    "message_id": next(self._ids) + 10_000,
                    "date": int(datetime.now(UTC).timestamp()),
                    "chat": {"id": self.user_id, "type": "private"},
                    "from": self._user(),
                    "text": text,
                    "entities": entities,
                }
            }
        )

    async def send_document(self, file_name: str, size: int, file_id: str = "doc1") -> None:
        """The user sends a file."""
        await self.feed(
            {
                "message": {
                    "message_id": next(self._ids) + 10_000,
                    "date": int(datetime.now(UTC).timestamp()),
                    "chat": {"id": self.user_id, "type": "private"},
                    "from": self._user(),
                    "document": {"file_id": file_id, "file_unique_id": file_id, "file_name": file_name,
                                 "file_size": size},
                }
            }
        )  # fmt: skip

    async def tap(self, data: str, message_id: int = 1, *, shown: dict[str, Any] | None = None) -> None:
        """The user presses an inline button with `data` on message `message_id`.

        `shown` replaces fields of the message the callback carries (Telegram sends the message as it is now:
        "text", "entities", "reply_markup"); by default it reads "card".
        """
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(datetime.now(UTC).timestamp()),
            "chat": {"id": self.user_id, "type": "private"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Relance"},
            "text": "card",
        }
        message.update(shown or {})
        await self.feed(
            {
                "callback_query": {
                    "id": str(next(self._ids)),
                    "from": self._user(),
                    "chat_instance": "ci",
                    "data": data,
                    "message": message,
                }
            }
        )


def bot_settings(db_url: str, tmp_dir: Any, today: date, **overrides: Any) -> Settings:
    """Settings for an in-process bot on `db_url`, owner 111, today fixed."""
    fields: dict[str, Any] = {
        "DATABASE_URL": db_url,
        "TELEGRAM_BOT_TOKEN": "123456:TEST-token",
        "TELEGRAM_API_URL": "http://127.0.0.1:9",
        "OWNER_CHAT_IDS": str(OWNER),
        "MAIL_FROM": "factures@atelier.example",
        "COMPANY_NAME": "Atelier Dupont SARL",
        "COMPANY_IBAN": "FR7630006000011234567890189",
        "COMPANY_BIC": "AGRIFRPP",
        "RELANCE_TODAY": today,
        "DATA_DIR": tmp_dir,
        "SMTP_HOST": None,
    }
    fields.update(overrides)
    return Settings(_env_file=None, **fields)  # type: ignore[call-arg]


def make_services(engine: Engine, settings: Settings, delivery: Any, *, today: date | None = None) -> Presenter:
    """The presenter over the use cases of the install's business (settings applied, as `relance run` does)."""
    return Presenter(Services(build_context(engine, settings, delivery=delivery, today=today, apply=True)))


@dataclass
class BotHarness:
    """An initialised application with a recording Bot API, its services and the owner's chat."""

    app: Application  # type: ignore[type-arg]
    api: RecordingRequest
    services: Presenter
    delivery: RecordingDelivery
    engine: Engine
    owner: Chat
    stranger: Chat
    adapter: TelegramAdapter  # what the runtime starts, hands the digest and the e-mail outcomes to

    def cards(self) -> list[Call]:
        """The card messages sent (sendMessage calls with an inline keyboard)."""
        return [c for c in self.api.of("sendMessage") if c.params.get("reply_markup")]

    def buttons(self, call: Call) -> list[dict[str, str]]:
        """The buttons of a sent or edited message."""
        markup = call.params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        if not markup:
            return []
        return [b for row in markup["inline_keyboard"] for b in row]


async def start_harness(engine: Engine, settings: Settings, delivery: Any) -> BotHarness:
    """An initialised in-process bot over `engine` with the given delivery (call `stop_harness` after)."""
    core = make_services(engine, settings, delivery).core
    api = RecordingRequest()
    adapter = TelegramAdapter(settings, core, request=api, updates_request=RecordingRequest(), rate_limiter=False)
    app = adapter.application
    await app.initialize()
    return BotHarness(app, api, adapter.presenter, delivery, engine, Chat(app, OWNER), Chat(app, STRANGER), adapter)


async def stop_harness(harness: BotHarness) -> None:
    """Shut the application down."""
    await harness.app.shutdown()
