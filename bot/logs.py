"""The process's logging: plain text lines (default) or JSON lines (`LOG_FORMAT=json`), secrets always masked.

Masking is a filter on the handler, so it covers every logger (ours and the libraries'), the message, its arguments
and the traceback, whatever the format. It masks the values of every secret setting (tokens, passwords, the
password of a database URL) and anything shaped like a Telegram or Slack token or a URL's password.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
from datetime import UTC, datetime
from typing import IO, Any

from pydantic import SecretStr
from sqlalchemy.engine import make_url

from bot.settings import Settings

MASK = "***"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: The business a log line is about, when the code logging it knows (set by the runtime; `extra={"business": …}`
#: on one call wins).
current_business: contextvars.ContextVar[str | None] = contextvars.ContextVar("relance_business", default=None)

_PATTERNS = [
    re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{20,}"),  # Telegram bot token (also inside a Bot API URL)
    re.compile(r"\bx(?:ox[abposr]|app)-[A-Za-z0-9-]{8,}"),  # Slack bot, user and app-level tokens
    re.compile(r"(?<=://)([^:/@\s]+):[^@/\s]+(?=@)"),  # user:password@ in a URL
]
#: Environment variables that hold a secret without being a setting here (read by other parts of a deployment).
_SECRET_ENV = ("RELANCE_SECRET_KEY", "PGPASSWORD")


def secret_values(settings: Settings) -> list[str]:
    """Every secret the settings hold: SecretStr fields, the passwords of the database URLs, and secret env vars."""
    values: list[str] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            values.append(value.get_secret_value())
    for url in (settings.DATABASE_URL, settings.DATABASE_ADMIN_URL):
        if url:
            password = make_url(url).password
            if password:
                values.append(str(password))
    values.extend(os.environ.get(name, "") for name in _SECRET_ENV)
    # Longest first, so a secret containing another is masked whole; very short values would mask ordinary words.
    return sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)


class SecretFilter(logging.Filter):
    """Masks secrets in a record: its message (arguments merged in) and its traceback, before any formatter runs."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        text = _PATTERNS[0].sub(MASK, text)
        text = _PATTERNS[1].sub(MASK, text)
        return _PATTERNS[2].sub(rf"\1:{MASK}", text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.mask(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        record.exc_info = None  # the masked text is what gets printed
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        if not hasattr(record, "business"):
            record.business = current_business.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, business (when known), exc."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        business = getattr(record, "business", None)
        if business is not None:
            entry["business"] = business
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(settings: Settings, *, stream: IO[str] | None = None, level: int = logging.INFO) -> None:
    """The root logger writes to stderr (or `stream`) in LOG_FORMAT, through the secret filter.

    As `logging.basicConfig`: when an embedding program (a benchmark, a test) already gave the root logger handlers,
    they are kept with their format and level, and only get the secret filter. A second call replaces the first.
    """
    root = logging.getLogger()
    secrets = SecretFilter(secret_values(settings))
    for old in list(root.handlers):
        if getattr(old, "relance", False):
            root.removeHandler(old)
    if root.handlers:
        for handler in root.handlers:
            for old_filter in [f for f in handler.filters if isinstance(f, SecretFilter)]:
                handler.removeFilter(old_filter)
            handler.addFilter(secrets)
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(secrets)
    handler.setFormatter(JsonFormatter() if settings.LOG_FORMAT == "json" else logging.Formatter(TEXT_FORMAT))
    handler.relance = True  # type: ignore[attr-defined]
    root.setLevel(level)
    root.addHandler(handler)


class Summarized:
    """A log line that strangers can make come thousands of times a minute (a forged webhook request, a request of
    another workspace): the first of each interval is written at once, the others are counted and written as one
    summary line when the interval ends ("… and 9,999 more like it in the last 60 s"), never one line per request.
    Keyed by the message's format string, so different reasons are summarised apart."""

    def __init__(self, logger: logging.Logger, *, interval: float = 60.0, clock: Any = None) -> None:
        import time

        self.logger = logger
        self.interval = interval
        self.clock = clock or time.monotonic
        self._since: dict[str, float] = {}
        self._count: dict[str, tuple[int, int]] = {}  # format -> (suppressed, level)

    def __call__(self, level: int, msg: str, *args: object) -> None:
        now = self.clock()
        since = self._since.get(msg)
        if since is None or now - since >= self.interval:
            self.flush(msg)
            self._since[msg] = now
            self.logger.log(level, msg, *args)
            return
        count, _ = self._count.get(msg, (0, level))
        if count == 0:
            self._later(msg, since + self.interval - now)
        self._count[msg] = (count + 1, level)

    def _later(self, msg: str, delay: float) -> None:
        """Write the summary when the interval ends even if no other line comes (inside an event loop)."""
        import asyncio

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: written by the next line of that kind
        loop.call_later(max(0.0, delay), self.flush, msg)

    def flush(self, msg: str) -> None:
        """Write the interval's summary of `msg`, if lines were held back."""
        count, level = self._count.pop(msg, (0, 0))
        if count:
            first = msg.split(":")[0]
            self.logger.log(level, "%s: %d more like it in the last %g s", first, count, self.interval)
            self._since.pop(msg, None)
