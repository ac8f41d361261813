"""The catalogue's Telegram HTML subset as Slack mrkdwn: *bold*, _italic_, ~strike~, `code`, ```pre```, <url|text>.

Both escape the same three characters (&amp; &lt; &gt;), so escaped values carry over unchanged; other entities
(&quot;, &#39;, …) become their characters.
"""

from __future__ import annotations

import html
import re

_TAG = re.compile(r"<(/?)([a-z]+)((?:\s[^<>]*)?)>", re.IGNORECASE)
_HREF = re.compile(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
#: Telegram tag -> Slack marker ("" keeps the text and drops the styling Slack does not have, like underline).
_MARKERS = {
    "b": "*",
    "strong": "*",
    "i": "_",
    "em": "_",
    "s": "~",
    "strike": "~",
    "del": "~",
    "code": "`",
    "pre": "```",
    "u": "",
    "ins": "",
    "a": "",
    "span": "",
    "tg-spoiler": "",
    "blockquote": "",
}


def escape(text: str) -> str:
    """Plain text as Slack mrkdwn text: only &, < and > are escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_mrkdwn(text: str) -> str:
    """Catalogue HTML as Slack mrkdwn; an unknown tag stays visible as text, an unclosed one loses its styling."""
    out: list[str] = []
    opened: list[tuple[str, int, str]] = []  # (tag, where its content starts in `out`, href)
    pos = 0
    for m in _TAG.finditer(text):
        out.append(_text(text[pos : m.start()]))
        pos = m.end()
        closing, tag = m[1] == "/", m[2].lower()
        if tag not in _MARKERS:
            out.append(escape(m[0]))
        elif not closing:
            link = _HREF.search(m[3] or "")
            opened.append((tag, len(out), html.unescape(link[1] or link[2]) if link else ""))
        elif any(name == tag for name, _, _ in opened):
            while opened:
                name, start, href = opened.pop()
                content = "".join(out[start:])
                del out[start:]
                out.append(_wrap(name, content, href, inside_pre=any(n == "pre" for n, _, _ in opened)))
                if name == tag:
                    break
    out.append(_text(text[pos:]))
    return "".join(out)


def _text(chunk: str) -> str:
    """Text between tags: every entity decoded, then Slack's three escaped again."""
    return escape(html.unescape(chunk))


def _wrap(tag: str, content: str, href: str, *, inside_pre: bool) -> str:
    """`content` styled the Slack way; spaces stay outside the markers (Slack ignores `* x *`)."""
    if tag == "a":
        url = escape(href).replace("|", "%7C")
        if not url:
            return content
        return f"<{url}>" if content.strip() in ("", url) else f"<{url}|{content}>"
    marker = "" if inside_pre else _MARKERS[tag]
    core = content.strip()
    if not marker or not core:
        return content
    if tag == "pre":
        return f"```{content.strip(chr(10))}```"
    lead = content[: len(content) - len(content.lstrip())]
    trail = content[len(content.rstrip()) :]
    return f"{lead}{marker}{core}{marker}{trail}"
