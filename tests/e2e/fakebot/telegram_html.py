"""Telegram's HTML parse mode, as the Bot API applies it: plain text plus entities, or Telegram's exact error."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

# Tag -> entity type; the list follows the Bot API "HTML style" section (tdlib's parse_html).
TAG_ENTITY: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}

_ENTITY_REF = re.compile(r"&(#[xX][0-9a-fA-F]{1,8}|#[0-9]{1,8}|[a-zA-Z]{1,8});")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_WHITESPACE = " \t\n\r\u00a0\u2028\u2029"


class EntityParseError(ValueError):
    """The text cannot be parsed; str() is the part after "Bad Request: can't parse entities: "."""


@dataclass
class _Open:
    tag: str
    attrs: dict[str, str]
    start: int  # offset in UTF-16 code units
    byte_offset: int


@dataclass
class Parsed:
    """A text after entity parsing: what the user sees, and its entities (offsets in UTF-16 code units)."""

    text: str
    entities: list[dict[str, object]] = field(default_factory=list)


def utf16_len(text: str) -> int:
    """Length as Telegram counts entity offsets (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def _decode_ref(match: re.Match[str]) -> str | None:
    name = match.group(1)
    if name.startswith(("#x", "#X")):
        code = int(name[2:], 16)
    elif name.startswith("#"):
        code = int(name[1:])
    else:
        return _NAMED.get(name)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def parse_html(source: str) -> Parsed:
    """Parse `source` like Telegram's HTML parse mode; raise EntityParseError with Telegram's wording."""
    out: list[str] = []
    length = 0  # UTF-16 length of out
    stack: list[_Open] = []
    entities: list[dict[str, object]] = []
    i, n = 0, len(source)
    while i < n:
        char = source[i]
        if char == "&":
            match = _ENTITY_REF.match(source, i)
            decoded = _decode_ref(match) if match else None
            if match and decoded is not None:
                out.append(decoded)
                length += utf16_len(decoded)
                i = match.end()
                continue
            # An unknown entity or a bare "&" is kept literally, as Telegram does.
        if char != "<":
            out.append(char)
            length += utf16_len(char)
            i += 1
            continue
        begin = i
        if i + 1 < n and source[i + 1] == "/":
            end = source.find(">", i)
            if end < 0:
                raise EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(source, begin)}")
            name = source[i + 2 : end].strip().lower()
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(source, begin)}")
            if name != stack[-1].tag:
                raise EntityParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(source, begin)}, "
                    f'expected "</{stack[-1].tag}>", found "</{name}>"'
                )
            opened = stack.pop()
            if length > opened.start:
                entities.append(_entity(opened, length - opened.start))
            i = end + 1
            continue
        j = i + 1
        while j < n and (source[j].isascii() and (source[j].isalnum() or source[j] == "-")):
            j += 1
        if j >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(source, begin)}")
        name = source[i + 1 : j].lower()
        if name not in TAG_ENTITY:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {_byte_offset(source, begin)}')
        attrs, j = _attributes(source, j, name, begin)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(source, begin)}'
            )
        stack.append(_Open(name, attrs, length, _byte_offset(source, begin)))
        i = j
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    entities.sort(key=lambda e: (int(e["offset"]), -int(e["length"])))  # type: ignore[call-overload]
    return Parsed("".join(out), entities)


def _attributes(source: str, j: int, tag: str, begin: int) -> tuple[dict[str, str], int]:
    """Read the attributes of a start tag from position j; return them and the position after '>'."""
    attrs: dict[str, str] = {}
    n = len(source)
    while True:
        while j < n and source[j] in " \t\n\r":
            j += 1
        if j >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(source, begin)}")
        if source[j] == ">":
            return attrs, j + 1
        k = j
        while k < n and source[k] not in " \t\n\r=>":
            k += 1
        attr_name = source[j:k].lower()
        if k >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(source, begin)}")
        if source[k] != "=":
            if tag == "blockquote" and attr_name == "expandable":
                attrs[attr_name] = ""
                j = k
                continue
            raise EntityParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                f"at byte offset {_byte_offset(source, begin)}"
            )
        k += 1
        if k < n and source[k] in "\"'":
            quote = source[k]
            end = source.find(quote, k + 1)
            if end < 0:
                raise EntityParseError(
                    f'Unclosed end of attribute value of the tag "{tag}" at byte offset {_byte_offset(source, begin)}'
                )
            value, j = source[k + 1 : end], end + 1
        else:
            end = k
            while end < n and source[end] not in " \t\n\r>":
                end += 1
            value, j = source[k:end], end
        attrs[attr_name] = html.unescape(value)


def _entity(opened: _Open, length: int) -> dict[str, object]:
    entity: dict[str, object] = {"type": TAG_ENTITY[opened.tag], "offset": opened.start, "length": length}
    if opened.tag == "a":
        entity["url"] = opened.attrs.get("href", "")
    if opened.tag == "code" and "class" in opened.attrs:
        language = opened.attrs["class"].removeprefix("language-")
        # <pre><code class="language-x"> gives the enclosing pre entity a language.
        entity["language"] = language
    if opened.tag == "blockquote" and "expandable" in opened.attrs:
        entity["type"] = "expandable_blockquote"
    if opened.tag == "tg-emoji":
        entity["custom_emoji_id"] = opened.attrs.get("emoji-id", "")
    return entity


def strip_text(parsed: Parsed) -> Parsed:
    """Trim leading and trailing whitespace as Telegram does, moving the entities along."""
    text = parsed.text
    left = len(text) - len(text.lstrip(_WHITESPACE))
    stripped = text.strip(_WHITESPACE)
    shift = utf16_len(text[:left])
    total = utf16_len(stripped)
    entities: list[dict[str, object]] = []
    for entity in parsed.entities:
        start = max(int(entity["offset"]) - shift, 0)  # type: ignore[call-overload]
        end = min(int(entity["offset"]) + int(entity["length"]) - shift, total)  # type: ignore[call-overload]
        if end > start:
            entities.append({**entity, "offset": start, "length": end - start})
    return Parsed(stripped, entities)
