"""Block Kit checks: the block and element types Relance uses, Slack's length and count limits, unique ids.

Errors read like Slack's: "[ERROR] must be less than 3001 characters [json-pointer:/blocks/3/text/text]".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
MESSAGE_TEXT = 40_000

BLOCK_TYPES = {"section", "actions", "context", "divider", "header", "image", "input", "rich_text"}
INTERACTIVE = {"button", "datepicker", "static_select", "radio_buttons", "overflow"}
INPUTS = {"plain_text_input", "datepicker", "static_select", "radio_buttons"}
ACCESSORIES = {"button", "datepicker", "static_select", "radio_buttons", "overflow", "image"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Checker:
    """Collects the errors of one message or view; action_ids and block_ids must be unique across it."""

    def __init__(self, file_exists: Callable[[str], bool]) -> None:
        self.errors: list[str] = []
        self._file_exists = file_exists
        self._action_ids: set[str] = set()
        self._block_ids: set[str] = set()

    def error(self, message: str, pointer: str) -> None:
        """Record one error at a JSON pointer."""
        self.errors.append(f"[ERROR] {message} [json-pointer:{pointer}]")

    # ------------------------------------------------------------------ scalars and text objects

    def string(self, value: object, pointer: str, limit: int, *, required: bool = True) -> None:
        """A string of 1..limit characters (absent allowed when not required)."""
        if value is None:
            if required:
                self.error("missing required field", pointer)
        elif not isinstance(value, str):
            self.error("must be a string", pointer)
        elif not value:
            self.error("must be more than 0 characters", pointer)
        elif len(value) > limit:
            self.error(f"must be less than {limit + 1} characters", pointer)

    def text(self, obj: object, pointer: str, limit: int, *, plain: bool = False, required: bool = True) -> None:
        """A text object: plain_text or mrkdwn (plain_text only when `plain`), text of 1..limit characters."""
        if obj is None:
            if required:
                self.error("missing required field", pointer)
            return
        if not isinstance(obj, dict):
            self.error("must be an object", pointer)
            return
        kinds = {"plain_text"} if plain else {"plain_text", "mrkdwn"}
        if obj.get("type") not in kinds:
            self.error(f"must be one of {sorted(kinds)}", f"{pointer}/type")
        if "emoji" in obj and obj.get("type") != "plain_text":
            self.error("emoji is only allowed in plain_text", f"{pointer}/emoji")
        self.string(obj.get("text"), f"{pointer}/text", limit)

    def unique(self, seen: set[str], value: object, pointer: str, what: str) -> None:
        """An id of ≤255 characters that this message or view does not use yet."""
        self.string(value, pointer, 255)
        if isinstance(value, str):
            if value in seen:
                self.error(f"{what} {value!r} already exists", pointer)
            seen.add(value)

    def items(self, value: object, pointer: str, low: int, high: int) -> list[Any]:
        """A list of low..high items (an empty list on error)."""
        if not isinstance(value, list):
            self.error("must be an array", pointer)
            return []
        if len(value) < low:
            self.error(f"must provide at least {low} items", pointer)
        if len(value) > high:
            self.error(f"no more than {high} items allowed", pointer)
        return value

    # ------------------------------------------------------------------ blocks

    def blocks(self, value: object, pointer: str, limit: int) -> None:
        """A block list of at most `limit` blocks."""
        for index, block in enumerate(self.items(value, pointer, 0, limit)):
            self.block(block, f"{pointer}/{index}")

    def block(self, block: object, pointer: str) -> None:
        """One block of an allowed type, with its fields checked."""
        if not isinstance(block, dict):
            self.error("must be an object", pointer)
            return
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            self.error(f"unsupported type: {kind}", f"{pointer}/type")
            return
        if "block_id" in block:
            self.unique(self._block_ids, block["block_id"], f"{pointer}/block_id", "block_id")
        if kind == "section":
            if "text" not in block and "fields" not in block:
                self.error("must provide text or fields", pointer)
            self.text(block.get("text"), f"{pointer}/text", 3000, required=False)
            if "fields" in block:
                for index, item in enumerate(self.items(block["fields"], f"{pointer}/fields", 1, 10)):
                    self.text(item, f"{pointer}/fields/{index}", 2000)
            if "accessory" in block:
                self.element(block["accessory"], f"{pointer}/accessory", ACCESSORIES)
        elif kind == "actions":
            for index, item in enumerate(self.items(block.get("elements"), f"{pointer}/elements", 1, 25)):
                self.element(item, f"{pointer}/elements/{index}", INTERACTIVE)
        elif kind == "context":
            for index, item in enumerate(self.items(block.get("elements"), f"{pointer}/elements", 1, 10)):
                item_pointer = f"{pointer}/elements/{index}"
                if isinstance(item, dict) and item.get("type") == "image":
                    self.image(item, item_pointer)
                else:
                    self.text(item, item_pointer, 3000)
        elif kind == "header":
            self.text(block.get("text"), f"{pointer}/text", 150, plain=True)
        elif kind == "image":
            self.image(block, pointer)
            self.text(block.get("title"), f"{pointer}/title", 2000, plain=True, required=False)
        elif kind == "input":
            self.text(block.get("label"), f"{pointer}/label", 2000, plain=True)
            self.text(block.get("hint"), f"{pointer}/hint", 2000, plain=True, required=False)
            self.element(block.get("element"), f"{pointer}/element", INPUTS)
        elif kind == "rich_text":
            self.items(block.get("elements"), f"{pointer}/elements", 1, 100)

    def image(self, obj: dict[str, Any], pointer: str) -> None:
        """An image block or element: alt_text and exactly one of image_url or slack_file (a completed upload)."""
        self.string(obj.get("alt_text"), f"{pointer}/alt_text", 2000)
        url, slack_file = obj.get("image_url"), obj.get("slack_file")
        if (url is None) == (slack_file is None):
            self.error("must provide exactly one of image_url or slack_file", pointer)
        elif url is not None:
            self.string(url, f"{pointer}/image_url", 3000)
        elif not isinstance(slack_file, dict) or not ({"id", "url"} & slack_file.keys()):
            self.error("slack_file must have an id or a url", f"{pointer}/slack_file")
        elif "id" in slack_file and not self._file_exists(str(slack_file["id"])):
            self.error(f"invalid slack_file: {slack_file['id']} is not a completed upload", f"{pointer}/slack_file/id")

    # ------------------------------------------------------------------ elements

    def element(self, element: object, pointer: str, allowed: set[str]) -> None:
        """One block element of an allowed type, with its action_id unique in the message or view."""
        if not isinstance(element, dict):
            self.error("must be an object", pointer)
            return
        kind = element.get("type")
        if kind not in allowed:
            self.error(f"unsupported type: {kind}", f"{pointer}/type")
            return
        if kind == "image":
            self.image(element, pointer)
            return
        if "action_id" in element:
            self.unique(self._action_ids, element["action_id"], f"{pointer}/action_id", "action_id")
        if kind == "button":
            self.text(element.get("text"), f"{pointer}/text", 75, plain=True)
            self.string(element.get("value"), f"{pointer}/value", 2000, required=False)
            self.string(element.get("url"), f"{pointer}/url", 3000, required=False)
            if element.get("style") not in (None, "primary", "danger"):
                self.error("must be primary or danger", f"{pointer}/style")
        elif kind == "datepicker":
            initial = element.get("initial_date")
            if initial is not None and not (isinstance(initial, str) and _DATE.match(initial)):
                self.error("must be a date YYYY-MM-DD", f"{pointer}/initial_date")
        elif kind == "plain_text_input":
            self.string(element.get("initial_value"), f"{pointer}/initial_value", 3000, required=False)
            max_length = element.get("max_length")
            if max_length is not None and not (isinstance(max_length, int) and 0 < max_length <= 3000):
                self.error("must be between 1 and 3000", f"{pointer}/max_length")
        else:  # static_select, radio_buttons, overflow
            high = {"static_select": 100, "radio_buttons": 10, "overflow": 5}[kind]
            options = self.items(element.get("options"), f"{pointer}/options", 1, high)
            for index, option in enumerate(options):
                self.option(option, f"{pointer}/options/{index}")
            initial = element.get("initial_option")
            if initial is not None and initial not in options:
                self.error("initial_option must be one of options", f"{pointer}/initial_option")
        if kind != "button" and "placeholder" in element:
            self.text(element["placeholder"], f"{pointer}/placeholder", 150, plain=True)

    def option(self, option: object, pointer: str) -> None:
        """An option object: text ≤75, value ≤150."""
        if not isinstance(option, dict):
            self.error("must be an object", pointer)
            return
        self.text(option.get("text"), f"{pointer}/text", 75)
        self.string(option.get("value"), f"{pointer}/value", 150)


def check_message(blocks: object, file_exists: Callable[[str], bool]) -> list[str]:
    """The errors of a message's blocks (≤50)."""
    checker = Checker(file_exists)
    checker.blocks(blocks, "/blocks", MESSAGE_BLOCKS)
    return checker.errors


def check_view(view: object, file_exists: Callable[[str], bool]) -> list[str]:
    """The errors of a modal or App Home view (≤100 blocks, title/submit/close ≤24, private_metadata ≤3000)."""
    checker = Checker(file_exists)
    if not isinstance(view, dict):
        checker.error("must be an object", "/view")
        return checker.errors
    kind = view.get("type")
    if kind not in ("modal", "home"):
        checker.error("must be modal or home", "/view/type")
    checker.blocks(view.get("blocks"), "/view/blocks", VIEW_BLOCKS)
    checker.string(view.get("private_metadata"), "/view/private_metadata", 3000, required=False)
    checker.string(view.get("callback_id"), "/view/callback_id", 255, required=False)
    checker.string(view.get("external_id"), "/view/external_id", 255, required=False)
    if kind == "modal":
        checker.text(view.get("title"), "/view/title", 24, plain=True)
        checker.text(view.get("submit"), "/view/submit", 24, plain=True, required=False)
        checker.text(view.get("close"), "/view/close", 24, plain=True, required=False)
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
        if has_input and "submit" not in view:
            checker.error("a modal with input blocks must have a submit button", "/view/submit")
    return checker.errors
