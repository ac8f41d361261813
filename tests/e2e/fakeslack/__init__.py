"""A Slack emulator on loopback for the tests: Web API, Block Kit checks, Socket Mode, signed HTTP delivery.

    slack = FakeSlack().start_in_thread()          # own thread, free port; slack.stop() at the end
    slack.add_user("U0OWNER", "Claire", locale="fr-FR")
    # the app: AsyncWebClient(token=slack.bot_token, base_url=slack.api_url), Socket Mode with slack.app_token
    # (SLACK_API_URL=slack.api_url), or slack.use_http("http://127.0.0.1:<port>/slack/events") with
    # SLACK_SIGNING_SECRET=slack.signing_secret.

Web API (`<url>/api/<method>`, form or JSON bodies, Bearer token): auth.test, apps.connections.open (xapp- token),
chat.postMessage/update/postEphemeral/delete, conversations.open, users.info (include_locale), views.open/push/
update/publish, files.info, files.getUploadURLExternal + POST upload_url + files.completeUploadExternal, downloads
at url_private(_download) (bot token required, else Slack's HTML sign-in page). Errors are HTTP 200
{"ok": false, "error": ...}: not_authed, invalid_auth, token_revoked, not_allowed_token_type, channel_not_found,
message_not_found, user_not_found, invalid_blocks / invalid_arguments (with response_metadata.messages
"[ERROR] ... [json-pointer:/blocks/3/text]"), invalid/expired/exchanged_trigger_id (a trigger_id is valid once,
3 s). Faults: `rate_limit(method, retry_after=1, times=1)` (HTTP 429 + Retry-After), `fail_next(method, error,
http_status=200, times=1)`, `revoke(token)`.

Driving the app as users (blocking, thread-safe; each waits for the app's ack, `ack_timeout` = 3 s by default, and
returns it; `slack.aio.<method>(...)` awaits the same from a coroutine whose loop runs the app):
    click(user_id, channel, ts, action_id, value=None) -> ack dict      # value/block_id from the recorded message
    click_view(user_id, view_id, action_id, value=None) -> ack dict     # in an open modal or the App Home
    slash(user_id, text, command="/relance", channel=None) -> ack dict  # ack text/blocks become an ephemeral
    submit_view(user_id, view_id, {block_id: {action_id: value}}, closed_ok=False) -> ack dict
    share_file(user_id, name, content, channel=None) -> file id          # + file_shared event
    open_home(user_id) -> None                                           # app_home_opened
    dm_text(user_id, text) -> ts                                         # message event (channel_type "im")
    disconnect(reason="refresh_requested", grace=1.0)    use_http(url) / use_socket()
    post_raw(body, headers) -> the app's HTTP status
    signed_headers(body, timestamp=None, secret=None, content_type="application/json")

Recorded state (copies): messages(channel), message(channel, ts), updates, updates_of(channel, ts),
ephemerals(user_id), views_of(user_id) (open modal stack), home(user_id), calls, calls_of(method), files,
deliveries (envelope, ack, ack_seconds), live_connections, connections_opened.
Waiting with deadlines (SlackTimeout): wait_for(predicate, timeout, what), wait_message(channel, contains, after=ts),
wait_update(channel, ts, count=1), wait_ephemeral(user_id, contains), wait_modal(user_id, contains),
wait_home(user_id, contains).
"""

from .blockkit import check_message, check_view
from .server import FakeSlack
from .state import (
    APP_TOKEN,
    BOT_TOKEN,
    BOT_USER_ID,
    SIGNING_SECRET,
    TEAM_ID,
    ApiCall,
    Delivery,
    Ephemeral,
    Message,
    SlackFile,
    SlackTimeout,
    Update,
    User,
    View,
)
from .transport import DeliveryRefused, signature

__all__ = [
    "APP_TOKEN",
    "BOT_TOKEN",
    "BOT_USER_ID",
    "SIGNING_SECRET",
    "TEAM_ID",
    "ApiCall",
    "Delivery",
    "DeliveryRefused",
    "Ephemeral",
    "FakeSlack",
    "Message",
    "SlackFile",
    "SlackTimeout",
    "Update",
    "User",
    "View",
    "check_message",
    "check_view",
    "signature",
]
