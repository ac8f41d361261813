"""The payloads Slack sends an app: block_actions, view_submission, slash commands and Events API callbacks."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from .state import APP_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID, Message, User, View

VERIFICATION_TOKEN = "fake-verification-token"  # the deprecated `token` field every payload still carries


def action_ts() -> str:
    """A Slack action/event timestamp ("1712345678.123456")."""
    return f"{time.time():.6f}"


def elements(blocks: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(block_id, element) for every interactive element of actions/section/input blocks."""
    for index, block in enumerate(blocks):
        block_id = str(block.get("block_id") or f"b{index}")
        if block.get("type") == "actions":
            for element in block.get("elements") or []:
                yield block_id, element
        elif block.get("type") == "section" and isinstance(block.get("accessory"), dict):
            yield block_id, block["accessory"]
        elif block.get("type") == "input" and isinstance(block.get("element"), dict):
            yield block_id, block["element"]


def _option(element: dict[str, Any], value: str) -> dict[str, Any]:
    for option in element.get("options") or []:
        if option.get("value") == value:
            return dict(option)
    raise LookupError(f"{element.get('action_id')!r} has no option with value {value!r}")


def selection(element: dict[str, Any], value: str | None) -> dict[str, Any]:
    """The state an element reports for a chosen value (plain text, date, or an option)."""
    kind = element.get("type")
    if kind == "plain_text_input":
        return {"type": kind, "value": value}
    if kind == "datepicker":
        return {"type": kind, "selected_date": value}
    if kind in ("static_select", "radio_buttons"):
        return {"type": kind, "selected_option": None if value is None else _option(element, value)}
    raise LookupError(f"cannot set a value on a {kind} element")


def initial(element: dict[str, Any]) -> str | None:
    """The value an input element starts with."""
    option = element.get("initial_option")
    if isinstance(option, dict):
        return str(option.get("value"))
    value = element.get("initial_value", element.get("initial_date"))
    return None if value is None else str(value)


def _user(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.name, "name": user.name, "team_id": TEAM_ID}


def _base(kind: str, user: User, trigger_id: str) -> dict[str, Any]:
    return {
        "type": kind,
        "user": _user(user),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
    }


def block_action(block_id: str, element: dict[str, Any], value: str | None) -> dict[str, Any]:
    """One entry of `actions` for a clicked button or a chosen option/date."""
    action: dict[str, Any] = {
        "type": element.get("type"),
        "action_id": element.get("action_id"),
        "block_id": block_id,
        "action_ts": action_ts(),
    }
    if element.get("type") == "button":
        action["text"] = element.get("text")
        if value is not None:
            action["value"] = value
        if element.get("style"):
            action["style"] = element["style"]
    elif element.get("type") == "overflow":
        action["selected_option"] = _option(element, str(value))
    else:
        action.update({k: v for k, v in selection(element, value).items() if k != "type"})
    return action


def action_in(blocks: list[dict[str, Any]], action_id: str, value: str | None, where: str) -> dict[str, Any]:
    """The `actions` entry for element `action_id` of `blocks` (a button's own value unless `value` overrides it)."""
    for block_id, element in elements(blocks):
        if element.get("action_id") == action_id:
            if element.get("type") == "button" and value is None:
                value = element.get("value")
            return block_action(block_id, element, value)
    raise LookupError(f"{where} has no element with action_id {action_id!r}")


def state_values(view: View, values: dict[str, dict[str, str | None]]) -> dict[str, Any]:
    """view.state.values as Slack builds it: every input element, with the given or its initial value."""
    result: dict[str, dict[str, Any]] = {}
    for block_id, element in elements(view.blocks):
        action_id = str(element.get("action_id"))
        if element.get("type") in ("plain_text_input", "datepicker", "static_select", "radio_buttons"):
            given = values.get(block_id, {})
            value = given[action_id] if action_id in given else initial(element)
            result.setdefault(block_id, {})[action_id] = selection(element, value)
    for block_id, given in values.items():
        unknown = set(given) - set(result.get(block_id, {}))
        if unknown:
            raise LookupError(f"view {view.id} has no input {block_id}/{sorted(unknown)}")
    return result


def view_actions(user: User, view: View, action: dict[str, Any], trigger_id: str) -> dict[str, Any]:
    """The interactive payload of a click in a modal or the App Home."""
    return {
        **_base("block_actions", user, trigger_id),
        "container": {"type": "view", "view_id": view.id},
        "view": view.payload(state_values(view, {})),
        "actions": [action],
    }


def block_actions(
    user: User, message: Message, action: dict[str, Any], trigger_id: str, response_url: str
) -> dict[str, Any]:
    """The interactive payload of a click in a message."""
    return {
        **_base("block_actions", user, trigger_id),
        "container": {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": message.channel,
            "is_ephemeral": False,
        },
        "channel": {"id": message.channel, "name": "directmessage" if message.channel[0] == "D" else message.channel},
        "message": message.payload(),
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }


def view_submission(user: User, view: View, values: dict[str, Any], trigger_id: str) -> dict[str, Any]:
    """The interactive payload of a modal's submit."""
    return {
        **_base("view_submission", user, trigger_id),
        "view": view.payload(values),
        "response_urls": [],
    }


def slash_command(
    user: User, command: str, text: str, channel: str, trigger_id: str, response_url: str
) -> dict[str, str]:
    """The fields of a slash command (form fields over HTTP, the payload object over Socket Mode)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel,
        "channel_name": "directmessage" if channel.startswith("D") else channel,
        "user_id": user.id,
        "user_name": user.name,
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def event_callback(event_id: str, event: dict[str, Any]) -> dict[str, Any]:
    """An Events API callback wrapping one event."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "context_team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [
            {"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True, "is_enterprise_install": False}
        ],
        "is_ext_shared_channel": False,
    }
