"""slack-manifest.yaml installs what the adapter uses: its slash command, the events it listens to, the scopes of the
Web API methods it calls, interactivity, Socket Mode and the Home tab."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bot.slack import access, actions, commands, files, home, modals
from bot.slack.commands import COMMAND
from tests.integration.slack_helpers import slack_app

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = yaml.safe_load((ROOT / "slack-manifest.yaml").read_text(encoding="utf-8"))

#: The bot scope each Web API method needs (https://api.slack.com/methods); a method missing here fails the test.
SCOPE_OF = {
    "apps_connections_open": None,  # the app-level token's connections:write
    "auth_test": None,
    "chat_postEphemeral": "chat:write",
    "chat_postMessage": "chat:write",
    "chat_update": "chat:write",
    "conversations_open": "im:write",
    "files_info": "files:read",
    "files_upload_v2": "files:write",
    "users_info": "users:read",
    "views_open": None,
    "views_publish": None,
}


class _Recorder:
    """Stands for the bolt app: records what each module registers (events, commands, actions, views, middleware)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    def __getattr__(self, kind: str) -> Any:
        def register(*args: Any, **kwargs: Any) -> Any:
            self.seen.append((kind, args[0] if args else None))
            return lambda listener: listener

        return register


def _event_name(matcher: Any) -> str:
    """The manifest's name of an event a listener matches (messages: only the app's DMs reach the listeners)."""
    kind = matcher if isinstance(matcher, str) else matcher["type"]
    return "message.im" if kind == "message" else kind


async def test_the_manifest_subscribes_to_what_the_listeners_handle(sqlite_url: str, tmp_path: Path) -> None:
    """The slash command and the bot events of the manifest are exactly those the Slack modules register."""
    async with slack_app(sqlite_url, tmp_path) as h:
        app = _Recorder()
        access.install(app, h.ctx)  # type: ignore[arg-type]
        for module in (actions, modals, commands, home, files):
            module.register(app, h.ctx)  # type: ignore[arg-type]
    events = {_event_name(matcher) for kind, matcher in app.seen if kind == "event"}
    assert sorted(events) == sorted(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    assert [m for kind, m in app.seen if kind == "command"] == [COMMAND]
    assert [c["command"] for c in MANIFEST["features"]["slash_commands"]] == [COMMAND]
    assert any(kind == "action" for kind, _ in app.seen) and any(kind == "view" for kind, _ in app.seen)


def test_the_manifest_grants_the_scope_of_every_method_the_adapter_calls() -> None:
    """Every `client.<method>(` in bot/slack needs a scope the manifest asks for, and no scope is asked in vain."""
    called = {
        m for path in (ROOT / "bot" / "slack").glob("*.py")
        for m in re.findall(r"client\.([A-Za-z_0-9]+)\(", path.read_text(encoding="utf-8"))
    }  # fmt: skip
    unknown = called - SCOPE_OF.keys()
    assert not unknown, f"add the scope of {unknown} to SCOPE_OF (and to the manifest)"
    needed = {SCOPE_OF[m] for m in called} - {None}
    granted = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    # im:history lets the app see the files and messages owners send in its DM (file_shared, message.im).
    assert granted == needed | {"commands", "im:history"}


def test_the_manifest_turns_on_interactivity_socket_mode_and_the_home_tab() -> None:
    """Buttons and modals need interactivity; Socket Mode is the default mode; the dashboard lives in the Home tab."""
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    assert MANIFEST["settings"]["socket_mode_enabled"] is True
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True
    assert MANIFEST["features"]["app_home"]["messages_tab_enabled"] is True
