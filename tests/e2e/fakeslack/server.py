"""FakeSlack: the emulator's HTTP server (Web API, Socket Mode, files, response_url) and the tests' driving API."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from aiohttp import web

from .blockkit import check_message, check_view
from .payloads import (
    action_in,
    block_actions,
    event_callback,
    slash_command,
    state_values,
    view_actions,
    view_submission,
)
from .state import (
    APP_TOKEN,
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    SIGNING_SECRET,
    TEAM_ID,
    ApiCall,
    Delivery,
    Ephemeral,
    Message,
    SlackFile,
    SlackState,
    T,
    Update,
    User,
    View,
)
from .transport import HttpTransport, SocketHub, signed_headers
from .webapi import Fault, WebApi, invalid

log = logging.getLogger(__name__)
R = TypeVar("R")
MAX_BODY = 200 * 1024 * 1024  # room for the "100 MB file" tests
_LOGIN_PAGE = "<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to Slack</body></html>"


class AsyncDriver:
    """Awaitable twins of FakeSlack's blocking methods (`await slack.aio.click(...)`), run in a worker thread.

    Use them from a test whose app runs in the test's own event loop: a blocking call there would stop the app from
    acknowledging.
    """

    def __init__(self, slack: FakeSlack) -> None:
        self._slack = slack

    def __getattr__(self, name: str) -> Callable[..., Coroutine[Any, Any, Any]]:
        method = getattr(self._slack, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(method, *args, **kwargs)

        return call


class FakeSlack:
    """A Slack workspace on 127.0.0.1 (port 0 picks a free one), served from its own thread.

    `start_in_thread()` / `stop()` (or `with FakeSlack() as slack:`). Every public method is thread-safe and
    blocking; from a coroutine sharing its loop with the app, use `slack.aio.<method>` instead.
    """

    def __init__(self, *, port: int = 0, signing_secret: str = SIGNING_SECRET, ack_timeout: float = 3.0) -> None:
        self.state = SlackState()
        self.signing_secret = signing_secret
        self.ack_timeout = ack_timeout
        self.bot_token, self.app_token, self.team_id, self.bot_user_id = BOT_TOKEN, APP_TOKEN, TEAM_ID, BOT_USER_ID
        self.aio = AsyncDriver(self)
        self.socket = SocketHub(self.state, lambda: f"ws://127.0.0.1:{self.port}")
        self.api = WebApi(self.state, lambda: self.url, self.socket.url)
        self._http: HttpTransport | None = None
        self._port = port
        self._responses: dict[str, tuple[str, str | None, str]] = {}  # response_url id -> (channel, ts, user)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._stopped: asyncio.Event | None = None

    # ------------------------------------------------------------------ addresses and life cycle

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return self._port

    @property
    def url(self) -> str:
        """http://127.0.0.1:<port>"""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """The Web API base URL, ending with "/" (SLACK_API_URL, AsyncWebClient's base_url)."""
        return f"{self.url}/api/"

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get(SocketHub.PATH, self.socket.handle)
        app.router.add_post("/upload/v1/{file_id}", self._upload)
        app.router.add_get("/files-pri/{team_file}/{tail:.*}", self._download)
        app.router.add_post("/response/{id}", self._response_url)
        return app

    async def _serve(self) -> None:
        self.socket.reset()
        self._runner = web.AppRunner(self._app(), handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        log.info("fake Slack listening on %s", self.url)

    async def _shutdown(self) -> None:
        await self.socket.close()
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def start_in_thread(self, timeout: float = 5.0) -> FakeSlack:
        """Serve in a background thread with its own event loop; returns once it listens."""
        ready = threading.Event()
        failure: list[BaseException] = []

        async def main() -> None:
            self._loop, self._stopped = asyncio.get_running_loop(), asyncio.Event()
            try:
                await self._serve()
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            await self._stopped.wait()
            await self._shutdown()

        self._thread = threading.Thread(target=asyncio.run, args=(main(),), name="fake-slack", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError("the fake Slack server did not start")
        if failure:
            raise failure[0]
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the background thread (closing every websocket); `start_in_thread()` restarts on the same port."""
        if self._thread is None or self._loop is None or self._stopped is None:
            return
        self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(timeout)
        self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start_in_thread()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, coro: Coroutine[Any, Any, R], timeout: float) -> R:
        """Run a coroutine on the server's loop and wait for it (not callable from that loop)."""
        if self._loop is None or threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("FakeSlack is not running, or was called from its own thread")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout + 5.0)

    # ------------------------------------------------------------------ HTTP routes

    async def _api(self, request: web.Request) -> web.Response:
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            body = await request.json()
            params.update(body if isinstance(body, dict) else {})
        elif request.can_read_body:
            for key, value in (await request.post()).items():
                params[key] = value.file.read() if isinstance(value, web.FileField) else value
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else params.pop("token", None)
        params.pop("token", None)
        status, body, headers = self.api.call(request.match_info["method"], params, token)
        return web.json_response(body, status=status, headers=headers)

    async def _upload(self, request: web.Request) -> web.Response:
        file = self.state.files.get(request.match_info["file_id"])
        if file is None or file.completed:
            return web.Response(status=404, text="upload URL not found")
        if request.content_type.startswith("multipart/"):
            parts = [v for v in (await request.post()).values() if isinstance(v, web.FileField)]
            content = parts[0].file.read() if parts else b""
        else:
            content = await request.read()
        with self.state.lock:
            file.content = content
            self.state.changed()
        return web.Response(text=f"OK - {len(content)}")

    async def _download(self, request: web.Request) -> web.Response:
        file_id = request.match_info["team_file"].removeprefix(f"{TEAM_ID}-")
        file = self.state.files.get(file_id)
        auth = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if auth not in self.api.bot_tokens or auth in self.api.faults.revoked:
            # Like Slack: without the bot token the "file" is the HTML sign-in page, with status 200.
            return web.Response(text=_LOGIN_PAGE, content_type="text/html")
        if file is None:
            return web.Response(status=404, text="file not found")
        return web.Response(body=file.content, content_type=file.mimetype)

    async def _response_url(self, request: web.Request) -> web.Response:
        target = self._responses.get(request.match_info["id"])
        if target is None:
            return web.json_response({"ok": False, "error": "expired_url"}, status=404)
        channel, ts, user = target
        body = await request.json()
        text, blocks = str(body.get("text") or ""), list(body.get("blocks") or [])
        errors = check_message(blocks, self._file_ready)
        if errors:
            return web.json_response(invalid("invalid_blocks", errors).body())
        message = self.state.find(channel, ts) if ts else None
        if body.get("delete_original") and message is not None:
            with self.state.lock:
                message.deleted = True
                self.state.changed()
        elif body.get("replace_original") and message is not None:
            self.state.update(message, text, blocks)
        elif body.get("response_type") == "in_channel":
            self.state.post(Message(channel, self.state.new_ts(), BOT_USER_ID, text, blocks, BOT_ID))
        else:
            self.state.ephemeral(Ephemeral(channel, user, self.state.new_ts(), text, blocks, "response_url"))
        return web.json_response({"ok": True})

    def _file_ready(self, file_id: str) -> bool:
        file = self.state.files.get(file_id)
        return file is not None and file.completed

    # ------------------------------------------------------------------ workspace set-up and faults

    def add_user(self, user_id: str, name: str, locale: str = "fr-FR") -> User:
        """A member (id like "U0OWNER"), with a DM channel "D…" to the app; users.info reports `locale`."""
        return self.state.add_user(user_id, name, locale)

    def add_channel(self, channel_id: str, name: str) -> None:
        """A channel ("C…") the app can post in."""
        self.state.add_channel(channel_id, name)

    def dm_channel(self, user_id: str) -> str:
        """The id of the DM channel between `user_id` and the app."""
        return self.state.user(user_id).dm

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """The next `times` calls of `method` answer HTTP 429 `ratelimited` with `Retry-After: retry_after`."""
        self.api.faults.add(method, Fault("ratelimited", 429, retry_after), times)

    def fail_next(self, method: str, error: str, *, http_status: int = 200, times: int = 1) -> None:
        """The next `times` calls of `method` answer `{"ok": false, "error": error}` (with `http_status`)."""
        self.api.faults.add(method, Fault(error, http_status), times)

    def revoke(self, token: str) -> None:
        """Every later call with `token` answers `token_revoked`."""
        self.api.faults.revoked.add(token)

    # ------------------------------------------------------------------ transports

    def use_http(self, target_url: str) -> None:
        """Deliver to the app by signed HTTP POSTs to `target_url` instead of Socket Mode."""
        self._http = HttpTransport(target_url, self.signing_secret)

    def use_socket(self) -> None:
        """Deliver over Socket Mode again."""
        self._http = None

    def disconnect(self, reason: str = "refresh_requested", grace: float = 1.0) -> None:
        """Send `{"type": "disconnect"}` on every live connection (closed `grace` s later); the app must reconnect."""
        self._run(self.socket.disconnect(reason, grace), 5.0)

    @property
    def live_connections(self) -> int:
        """Socket Mode connections currently receiving envelopes."""
        return self.socket.live

    @property
    def connections_opened(self) -> int:
        """Socket Mode connections that received hello since the start (reconnections included)."""
        with self.state.lock:
            return self.state.connections

    def signed_headers(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        content_type: str = "application/json",
    ) -> dict[str, str]:
        """Headers signing `body` (another `secret` forges, an old `timestamp` replays)."""
        return signed_headers(body, secret or self.signing_secret, timestamp=timestamp, content_type=content_type)

    def post_raw(self, body: bytes, headers: dict[str, str], timeout: float = 5.0) -> int:
        """POST arbitrary bytes and headers to the HTTP-mode target; the HTTP status the app answered."""
        if self._http is None:
            raise RuntimeError("call use_http(target_url) first")
        status, _ = self._run(self._http.post(body, headers, timeout), timeout)
        return status

    # ------------------------------------------------------------------ driving the app (as the workspace's users)

    async def _deliver(self, kind: str, payload: dict[str, Any], accepts: bool, timeout: float) -> Delivery:
        transport = self._http or self.socket
        delivery = Delivery(str(uuid.uuid4()), kind, payload, "http" if self._http else "socket", time.monotonic())
        self.state.log_delivery(delivery)
        ack = await transport.send(delivery, accepts, timeout)
        self.state.acked(delivery, ack)
        return delivery

    def _drive(self, kind: str, payload: dict[str, Any], *, accepts: bool, timeout: float | None) -> dict[str, Any]:
        wait = self.ack_timeout if timeout is None else timeout
        delivery = self._run(self._deliver(kind, payload, accepts, wait), wait)
        return delivery.ack or {}

    def _response_url_for(self, channel: str, ts: str | None, user: str) -> str:
        key = uuid.uuid4().hex
        self._responses[key] = (channel, ts, user)
        return f"{self.url}/response/{key}"

    def _event(self, event: dict[str, Any], timeout: float | None) -> None:
        self._drive("events_api", event_callback(self.state.new_id("Ev"), event), accepts=False, timeout=timeout)

    def click(
        self,
        user_id: str,
        channel: str,
        ts: str,
        action_id: str,
        value: str | None = None,
        *,
        timeout: float | None = None,
        shown: Message | None = None,
    ) -> dict[str, Any]:
        """Click a button (or choose `value` in a select/overflow/datepicker) of message `ts`; returns the ack.

        The element is looked up in the message as it stands (LookupError if it has no such action_id); a button's
        value and block_id come from it unless `value` overrides the value (to play a forged button). `shown` is the
        message as the user's Slack client still shows it (a copy read earlier with `message()`): a click on a button
        the app has since removed or changed (a second tap on a stale card).
        """
        user = self.state.user(user_id)
        message = shown if shown is not None else self.state.find(channel, ts)
        if message is None:
            raise LookupError(f"no message {ts} in {channel}")
        action = action_in(message.blocks, action_id, value, f"message {channel}/{ts}")
        trigger, response_url = self.state.issue_trigger(user_id), self._response_url_for(channel, ts, user_id)
        payload = block_actions(user, message, action, trigger, response_url)
        return self._drive("interactive", payload, accepts=False, timeout=timeout)

    def click_view(
        self, user_id: str, view_id: str, action_id: str, value: str | None = None, *, timeout: float | None = None
    ) -> dict[str, Any]:
        """Click a button (or choose `value`) in an open modal or the App Home view `view_id`; returns the ack."""
        user = self.state.user(user_id)
        with self.state.lock:
            view = self.state.views.get(view_id)
            shown = view_id in self.state.modal_stacks.get(user_id, []) or self.state.homes.get(user_id) == view_id
            if view is None or not shown:
                raise LookupError(f"{user_id} has no open view {view_id}")
            action = action_in(view.blocks, action_id, value, f"view {view_id}")
            payload = view_actions(user, view, action, self.state.issue_trigger(user_id))
        return self._drive("interactive", payload, accepts=False, timeout=timeout)

    def slash(
        self,
        user_id: str,
        text: str,
        command: str = "/relance",
        channel: str | None = None,
        *,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Run a slash command (in the user's DM with the app by default); returns the ack.

        An ack carrying text or blocks is shown to the user as an ephemeral message, as Slack does.
        """
        user = self.state.user(user_id)
        where = channel or user.dm
        payload = slash_command(
            user, command, text, where, self.state.issue_trigger(user_id), self._response_url_for(where, None, user_id)
        )
        ack = self._drive("slash_commands", payload, accepts=True, timeout=timeout)
        if ack.get("text") or ack.get("blocks"):
            blocks = list(ack.get("blocks") or [])
            errors = check_message(blocks, self._file_ready)
            if errors:
                raise AssertionError(f"the slash command's ack has invalid blocks: {errors}")
            text = str(ack.get("text") or "")
            self.state.ephemeral(Ephemeral(where, user_id, self.state.new_ts(), text, blocks, "ack"))
        return ack

    def submit_view(
        self,
        user_id: str,
        view_id: str,
        values: dict[str, dict[str, str | None]] | None = None,
        *,
        closed_ok: bool = False,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Submit an open modal with `values` ({block_id: {action_id: value}}); returns the ack.

        Values are raw strings: the text of a plain_text_input, "YYYY-MM-DD" for a datepicker, an option's value for
        a static_select or radio_buttons; unset inputs keep their initial value. The ack's response_action is applied:
        "errors" keeps the modal open, "update"/"push" replace/push a view, "clear" closes all, none closes this one.
        `closed_ok` delivers even if the modal was already closed (plays a double submit).
        """
        user = self.state.user(user_id)
        with self.state.lock:
            view = self.state.views.get(view_id)
            stack = self.state.modal_stacks.get(user_id) or []
            if view is None or view.user != user_id or view.type != "modal":
                raise LookupError(f"{user_id} has no modal {view_id}")
            if view_id not in stack and not closed_ok:
                raise LookupError(f"modal {view_id} is not open for {user_id}")
            values_now = state_values(view, values or {})
            payload = view_submission(user, view, values_now, self.state.issue_trigger(user_id))
        ack = self._drive("interactive", payload, accepts=True, timeout=timeout)
        self._apply_response_action(view, ack, values_now)
        return ack

    def _apply_response_action(self, view: View, ack: dict[str, Any], values: dict[str, Any]) -> None:
        action = ack.get("response_action")
        with self.state.lock:
            stack = self.state.modal_stacks.setdefault(view.user, [])
            if action == "errors":
                bad = set(ack.get("errors") or {}) - set(values)
                if bad or not ack.get("errors"):
                    raise AssertionError(f"response_action errors must name input block_ids of the view: {ack}")
            elif action in ("update", "push"):
                errors = check_view(ack.get("view"), self._file_ready)
                if errors:
                    raise AssertionError(f"response_action {action} has an invalid view: {errors}")
                if action == "update":
                    view.body, view.hash = ack["view"], self.state.new_id("H")
                    self.state.save_view(view)
                else:
                    pushed = View(self.state.new_id("V"), view.user, ack["view"], self.state.new_id("H"), stack[0])
                    pushed.previous_view_id = view.id
                    stack.append(self.state.save_view(pushed).id)
            elif action == "clear":
                stack.clear()
            elif action is None:
                if view.id in stack:
                    del stack[stack.index(view.id) :]
            else:
                raise AssertionError(f"unknown response_action {action!r}")
            self.state.changed()

    def share_file(
        self, user_id: str, name: str, content: bytes, channel: str | None = None, *, timeout: float | None = None
    ) -> str:
        """The user shares a file (in the DM by default): stored, posted, then a file_shared event; its file id."""
        user = self.state.user(user_id)
        where = channel or user.dm
        file = SlackFile(self.state.new_id("F"), name, name, user_id, content, int(time.time()), [where], True)
        self.state.add_file(file)
        ts = self.state.new_ts()
        self.state.post(Message(where, ts, user_id, "", [], files=[file.id]))
        event = {
            "type": "file_shared",
            "channel_id": where,
            "file_id": file.id,
            "user_id": user_id,
            "file": {"id": file.id},
            "event_ts": ts,
        }
        self._event(event, timeout)
        return file.id

    def open_home(self, user_id: str, *, timeout: float | None = None) -> None:
        """The user opens the app's Home tab (app_home_opened, with the current view if one was published)."""
        user = self.state.user(user_id)
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": user.dm,
            "tab": "home",
            "event_ts": self.state.new_ts(),
        }
        current = self.home(user_id)
        if current is not None:
            event["view"] = current.payload()
        self._event(event, timeout)

    def dm_text(self, user_id: str, text: str, *, timeout: float | None = None) -> str:
        """The user writes `text` in the DM with the app (a message event); the message's ts."""
        user = self.state.user(user_id)
        message = self.state.post(Message(user.dm, self.state.new_ts(), user_id, text, []))
        event = {
            "type": "message",
            "channel": user.dm,
            "user": user_id,
            "text": text,
            "ts": message.ts,
            "event_ts": message.ts,
            "channel_type": "im",
            "team": TEAM_ID,
            "client_msg_id": str(uuid.uuid4()),
        }
        self._event(event, timeout)
        return message.ts

    # ------------------------------------------------------------------ recorded state (snapshots)

    def messages(self, channel: str) -> list[Message]:
        """The channel's live messages, oldest first, as they currently stand (copies)."""
        with self.state.lock:
            return [dataclasses.replace(m) for m in self.state.history.get(channel, []) if not m.deleted]

    def message(self, channel: str, ts: str) -> Message:
        """One live message as it currently stands (a copy); LookupError if absent or deleted."""
        found = self.state.find(channel, ts)
        if found is None:
            raise LookupError(f"no message {ts} in {channel}")
        return dataclasses.replace(found)

    @property
    def updates(self) -> list[Update]:
        """Every chat.update (and response_url replacement), in order."""
        with self.state.lock:
            return list(self.state.update_log)

    def updates_of(self, channel: str, ts: str) -> list[Update]:
        """The updates of one message, in order."""
        return [u for u in self.updates if u.channel == channel and u.ts == ts]

    def ephemerals(self, user_id: str) -> list[Ephemeral]:
        """The ephemeral messages shown to `user_id`, in order."""
        with self.state.lock:
            return [e for e in self.state.ephemeral_log if e.user == user_id]

    def views_of(self, user_id: str) -> list[View]:
        """The user's open modal stack, bottom first (copies)."""
        with self.state.lock:
            return [dataclasses.replace(self.state.views[v]) for v in self.state.modal_stacks.get(user_id, [])]

    def home(self, user_id: str) -> View | None:
        """The user's published App Home view (a copy), if any."""
        with self.state.lock:
            view = self.state.views.get(self.state.homes.get(user_id, ""))
            return None if view is None else dataclasses.replace(view)

    @property
    def calls(self) -> list[ApiCall]:
        """Every Web API call, in order."""
        with self.state.lock:
            return list(self.state.call_log)

    def calls_of(self, method: str) -> list[ApiCall]:
        """The calls of one Web API method, in order."""
        return [c for c in self.calls if c.method == method]

    @property
    def files(self) -> dict[str, SlackFile]:
        """Every file (shared by users or uploaded by the app), by id."""
        with self.state.lock:
            return dict(self.state.files)

    @property
    def deliveries(self) -> list[Delivery]:
        """Every envelope handed to the app, with its ack and ack latency."""
        with self.state.lock:
            return list(self.state.deliveries)

    # ------------------------------------------------------------------ waiting (deadlines, no sleeps)

    def wait_for(self, predicate: Callable[[], T | None], timeout: float = 5.0, what: str = "a condition") -> T:
        """Block until `predicate()` is truthy and return its value (SlackTimeout after `timeout` seconds)."""
        return self.state.wait_for(predicate, timeout, what)

    def wait_message(
        self, channel: str, contains: str = "", *, after: str | None = None, timeout: float = 5.0
    ) -> Message:
        """The first bot message in `channel` whose text or blocks contain `contains`, posted after ts `after`."""

        def found() -> Message | None:
            return next(
                (
                    m
                    for m in self.messages(channel)
                    if m.bot_id and contains in m.plain and (after is None or float(m.ts) > float(after))
                ),
                None,
            )

        return self.wait_for(found, timeout, f"a bot message in {channel} containing {contains!r}")

    def wait_update(self, channel: str, ts: str, *, count: int = 1, timeout: float = 5.0) -> Update:
        """The `count`-th update of message (channel, ts)."""

        def found() -> Update | None:
            updates = self.updates_of(channel, ts)
            return updates[count - 1] if len(updates) >= count else None

        return self.wait_for(found, timeout, f"update #{count} of {channel}/{ts}")

    def wait_ephemeral(self, user_id: str, contains: str = "", *, count: int = 1, timeout: float = 5.0) -> Ephemeral:
        """The `count`-th ephemeral message to `user_id` containing `contains`."""

        def found() -> Ephemeral | None:
            matching = [e for e in self.ephemerals(user_id) if contains in e.plain]
            return matching[count - 1] if len(matching) >= count else None

        return self.wait_for(found, timeout, f"ephemeral #{count} to {user_id} containing {contains!r}")

    def wait_modal(self, user_id: str, contains: str = "", *, timeout: float = 5.0) -> View:
        """The user's top open modal, once it contains `contains`."""

        def found() -> View | None:
            stack = self.views_of(user_id)
            return stack[-1] if stack and contains in stack[-1].plain else None

        return self.wait_for(found, timeout, f"a modal for {user_id} containing {contains!r}")

    def wait_home(self, user_id: str, contains: str = "", *, timeout: float = 5.0) -> View:
        """The user's App Home view, once it contains `contains`."""

        def found() -> View | None:
            view = self.home(user_id)
            return view if view is not None and contains in view.plain else None

        return self.wait_for(found, timeout, f"the App Home of {user_id} containing {contains!r}")
