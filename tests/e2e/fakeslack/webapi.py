"""The Web API methods Relance calls, with Slack's answers and error shapes, token checks and injected faults."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .blockkit import MESSAGE_TEXT, check_message, check_view
from .state import (
    APP_TOKEN,
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    ApiCall,
    Ephemeral,
    Message,
    SlackFile,
    SlackState,
    View,
)

Handler = Callable[[dict[str, Any]], dict[str, Any]]
_JSON_PARAMS = ("blocks", "view", "attachments", "files")


class ApiError(Exception):
    """A Slack error answer: `{"ok": false, "error": error, ...extra}` with an HTTP status (200 like Slack's)."""

    def __init__(self, error: str, *, status: int = 200, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(error)
        self.error, self.status, self.headers, self.extra = error, status, headers or {}, extra

    def body(self) -> dict[str, Any]:
        """The JSON answer."""
        return {"ok": False, "error": self.error, **self.extra}


def invalid(error: str, messages: list[str]) -> ApiError:
    """An invalid_blocks / invalid_arguments error listing Block Kit messages as Slack does."""
    return ApiError(error, response_metadata={"messages": messages})


def flag(value: object) -> bool:
    """A boolean parameter as slack_sdk sends it (True, "true", "1")."""
    return value is True or str(value).lower() in ("true", "1")


def decode_params(params: dict[str, Any]) -> dict[str, Any]:
    """Decode the JSON-encoded parameters of a form body (blocks, view, files...)."""
    decoded = dict(params)
    for key in _JSON_PARAMS:
        value = decoded.get(key)
        if isinstance(value, str) and value[:1] in "[{":
            try:
                decoded[key] = json.loads(value)
            except ValueError as exc:
                raise ApiError("invalid_json" if key != "blocks" else "invalid_blocks_format") from exc
    return decoded


@dataclass
class Fault:
    """An injected failure for the next calls of a method."""

    error: str
    status: int
    retry_after: int | None = None


class Faults:
    """Rate limits, one-off errors and revoked tokens injected by the tests (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[str, deque[Fault]] = {}
        self.revoked: set[str] = set()

    def add(self, method: str, fault: Fault, times: int) -> None:
        """Queue `fault` for the next `times` calls of `method`."""
        with self._lock:
            self._next.setdefault(method, deque()).extend([fault] * times)

    def take(self, method: str) -> Fault | None:
        """The fault for this call of `method`, if one is queued."""
        with self._lock:
            queue = self._next.get(method)
            return queue.popleft() if queue else None


class WebApi:
    """Answers `/api/<method>`: checks the token, applies faults, runs the method, records the call."""

    def __init__(self, state: SlackState, base_url: Callable[[], str], open_socket: Callable[[], str]) -> None:
        self.state = state
        self.faults = Faults()
        self.bot_tokens = {BOT_TOKEN}
        self.app_tokens = {APP_TOKEN}
        self._base_url = base_url
        self._open_socket = open_socket
        self._methods: dict[str, Handler] = {
            "auth.test": self.auth_test,
            "apps.connections.open": self.apps_connections_open,
            "chat.postMessage": self.chat_post_message,
            "chat.update": self.chat_update,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.delete": self.chat_delete,
            "conversations.open": self.conversations_open,
            "users.info": self.users_info,
            "views.open": self.views_open,
            "views.push": self.views_push,
            "views.update": self.views_update,
            "views.publish": self.views_publish,
            "files.info": self.files_info,
            "files.getUploadURLExternal": self.files_get_upload_url_external,
            "files.completeUploadExternal": self.files_complete_upload_external,
        }

    def call(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """(HTTP status, JSON body, headers) for one request; every request is recorded in `state.call_log`."""
        try:
            self.authorize(method, token)
            fault = self.faults.take(method)
            if fault is not None:
                headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
                raise ApiError(fault.error, status=fault.status, headers=headers)
            handler = self._methods.get(method)
            if handler is None:
                raise ApiError("unknown_method", status=404)
            body = {"ok": True, **handler(decode_params(params))}
            self.state.log_call(ApiCall(method, params, None, 200, time.monotonic(), body.get("warning")))
            return 200, body, {}
        except ApiError as exc:
            self.state.log_call(ApiCall(method, params, exc.error, exc.status, time.monotonic()))
            return exc.status, exc.body(), exc.headers

    def authorize(self, method: str, token: str | None) -> None:
        """not_authed, invalid_auth, token_revoked, or the wrong kind of token for the method."""
        if not token:
            raise ApiError("not_authed")
        if token in self.faults.revoked:
            raise ApiError("token_revoked")
        if token not in self.bot_tokens and token not in self.app_tokens:
            raise ApiError("invalid_auth")
        app_only = method == "apps.connections.open"
        if app_only != (token in self.app_tokens) and method != "auth.test":
            raise ApiError("not_allowed_token_type")

    # ------------------------------------------------------------------ helpers

    def _channel(self, params: dict[str, Any], key: str = "channel") -> str:
        channel = self.state.resolve_channel(str(params.get(key) or ""))
        if channel is None:
            raise ApiError("channel_not_found")
        return channel

    def _file_exists(self, file_id: str) -> bool:
        file = self.state.files.get(file_id)
        return file is not None and file.completed

    def _content(self, params: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        """The text and blocks of a message, checked (no_text, msg_too_long, invalid_blocks)."""
        text, blocks = str(params.get("text") or ""), params.get("blocks")
        if blocks is not None:
            errors = check_message(blocks, self._file_exists)
            if errors:
                raise invalid("invalid_blocks", errors)
        if not text and not blocks:
            raise ApiError("no_text")
        if len(text) > MESSAGE_TEXT:
            raise ApiError("msg_too_long")
        return text, list(blocks or [])

    def _message(self, params: dict[str, Any]) -> Message:
        channel = self._channel(params)
        message = self.state.find(channel, str(params.get("ts") or ""))
        if message is None:
            raise ApiError("message_not_found")
        return message

    def _checked_view(self, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        errors = check_view(view, self._file_exists)
        if errors:
            raise invalid("invalid_arguments", errors)
        assert isinstance(view, dict)
        return view

    def _user(self, user_id: object) -> str:
        if str(user_id) not in self.state.users:
            raise ApiError("user_not_found")
        return str(user_id)

    def _new_view(self, user: str, body: dict[str, Any], root: str | None, previous: str | None) -> View:
        view_id = self.state.new_id("V")
        return View(view_id, user, body, self.state.new_id("H"), root or view_id, previous)

    # ------------------------------------------------------------------ methods

    def auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        """Who the token is: the bot user of the test workspace."""
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "Relance Test",
            "user": "relance",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        """A fresh Socket Mode websocket URL (one ticket per call)."""
        return {"url": self._open_socket()}

    def chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        """Post as the bot; a user id as channel lands in the DM; the answer carries channel, ts and the message."""
        channel = self._channel(params)
        text, blocks = self._content(params)
        thread_ts = params.get("thread_ts")
        message = Message(channel, self.state.new_ts(), BOT_USER_ID, text, blocks, BOT_ID, thread_ts or None)
        self.state.post(message)
        warnings = {} if text else {"warning": "missing_text", "response_metadata": {"warnings": ["missing_text"]}}
        return {"channel": channel, "ts": message.ts, "message": message.payload(), **warnings}

    def chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        """Replace a bot message's text and blocks in place."""
        message = self._message(params)
        if message.bot_id != BOT_ID:
            raise ApiError("cant_update_message")
        text, blocks = self._content(params)
        self.state.update(message, text, blocks)
        return {"channel": message.channel, "ts": message.ts, "text": text, "message": message.payload()}

    def chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        """Show a message to one user of a channel."""
        channel = self._channel(params)
        user = self._user(params.get("user"))
        text, blocks = self._content(params)
        ts = self.state.new_ts()
        self.state.ephemeral(Ephemeral(channel, user, ts, text, blocks, "api"))
        return {"message_ts": ts}

    def chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        """Delete a bot message."""
        message = self._message(params)
        if message.bot_id != BOT_ID:
            raise ApiError("cant_delete_message")
        with self.state.lock:
            message.deleted = True
            self.state.changed()
        return {"channel": message.channel, "ts": message.ts}

    def conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        """The DM channel with one user."""
        users = str(params.get("users") or "").split(",")
        if len(users) != 1 or not users[0]:
            raise ApiError("invalid_arguments" if users[0] else "users_list_not_supplied")
        user = self.state.users.get(users[0])
        if user is None:
            raise ApiError("user_not_found")
        return {"no_op": True, "already_open": True, "channel": {"id": user.dm}}

    def users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        """A member's profile, with its locale when include_locale."""
        user = self.state.users.get(str(params.get("user") or ""))
        if user is None:
            raise ApiError("user_not_found")
        return {"user": user.info(include_locale=flag(params.get("include_locale")))}

    def _exchange(self, params: dict[str, Any]) -> str:
        """The user of the request's trigger_id, which is used up (invalid, exchanged or expired otherwise)."""
        trigger = params.get("trigger_id") or params.get("interactivity_pointer")
        user, error = self.state.exchange_trigger(str(trigger or ""))
        if error:
            raise ApiError(error)
        return user

    def views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        """Open a modal for the user of a fresh trigger_id (valid once, 3 s)."""
        body = self._checked_view(params)
        user = self._exchange(params)
        if body.get("type") != "modal":
            raise ApiError("invalid_arguments")
        view = self.state.save_view(self._new_view(user, body, None, None))
        with self.state.lock:
            self.state.modal_stacks[user] = [view.id]
        return {"view": view.payload()}

    def views_push(self, params: dict[str, Any]) -> dict[str, Any]:
        """Push a modal on the user's open stack (at most 3)."""
        body = self._checked_view(params)
        user = self._exchange(params)
        with self.state.lock:
            stack = self.state.modal_stacks.get(user) or []
            if not stack:
                raise ApiError("not_found")
            if len(stack) >= 3:
                raise ApiError("push_limit_reached")
            view = self.state.save_view(self._new_view(user, body, stack[0], stack[-1]))
            stack.append(view.id)
        return {"view": view.payload()}

    def views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        """Replace an open view (by view_id or external_id), checking hash when given."""
        body = self._checked_view(params)
        with self.state.lock:
            view = self.state.views.get(str(params.get("view_id") or ""))
            external = params.get("external_id")
            if view is None and external:
                view = next((v for v in self.state.views.values() if v.body.get("external_id") == external), None)
            open_modal = view is not None and view.id in self.state.modal_stacks.get(view.user, [])
            if view is None or (view.type == "modal" and not open_modal):
                raise ApiError("not_found")
            if params.get("hash") and params["hash"] != view.hash:
                raise ApiError("hash_conflict")
            view.body, view.hash = body, self.state.new_id("H")
            self.state.save_view(view)
        return {"view": view.payload()}

    def views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        """Publish a user's App Home view."""
        body = self._checked_view(params)
        user = self._user(params.get("user_id"))
        if body.get("type") != "home":
            raise ApiError("invalid_arguments")
        with self.state.lock:
            current = self.state.views.get(self.state.homes.get(user, ""))
            if current is not None and params.get("hash") and params["hash"] != current.hash:
                raise ApiError("hash_conflict")
            view = self._new_view(user, body, None, None) if current is None else current
            view.body, view.hash = body, self.state.new_id("H")
            self.state.homes[user] = view.id
            self.state.save_view(view)
        return {"view": view.payload()}

    def files_info(self, params: dict[str, Any]) -> dict[str, Any]:
        """A file's metadata and private download URL."""
        file = self.state.files.get(str(params.get("file") or ""))
        if file is None:
            raise ApiError("file_not_found")
        return {"file": file.info(self._base_url()), "comments": [], "response_metadata": {"next_cursor": ""}}

    def files_get_upload_url_external(self, params: dict[str, Any]) -> dict[str, Any]:
        """Step 1 of an upload: a file id and the URL to POST the bytes to."""
        filename, length = params.get("filename"), str(params.get("length") or "")
        if not filename or not length.isdigit():
            raise ApiError("invalid_arguments")
        file = SlackFile(self.state.new_id("F"), str(filename), str(filename), BOT_USER_ID, b"", int(time.time()))
        self.state.add_file(file)
        return {"upload_url": f"{self._base_url()}/upload/v1/{file.id}", "file_id": file.id}

    def files_complete_upload_external(self, params: dict[str, Any]) -> dict[str, Any]:
        """Step 3 of an upload: the files become visible, and are shared in channel_id if given."""
        items = params.get("files")
        if not isinstance(items, list) or not items:
            raise ApiError("invalid_arguments")
        channel = self._channel(params, "channel_id") if params.get("channel_id") else None
        done = []
        with self.state.lock:
            for item in items:
                file = self.state.files.get(str(item.get("id") if isinstance(item, dict) else ""))
                if file is None:
                    raise ApiError("file_not_found")
                file.completed = True
                file.title = str(item.get("title") or file.title)
                if channel:
                    file.channels.append(channel)
                done.append(file)
            self.state.changed()
        if channel:
            text = str(params.get("initial_comment") or "")
            message = Message(channel, self.state.new_ts(), BOT_USER_ID, text, [], BOT_ID, params.get("thread_ts"))
            message.files = [file.id for file in done]
            self.state.post(message)
        return {"files": [file.info(self._base_url()) for file in done]}
