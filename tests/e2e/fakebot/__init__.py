"""A fake Telegram Bot API server on loopback that enforces Telegram's limits, and routes to play the bot's users."""

from .account import FakeBotAccount
from .client import FakeTelegramClient
from .models import ApiCall, Button, StoredMessage, Tap, TelegramError
from .server import DEFAULT_TOKEN, FakeTelegram, serving_owner
from .telegram_html import EntityParseError, parse_html

__all__ = [
    "DEFAULT_TOKEN",
    "ApiCall",
    "Button",
    "EntityParseError",
    "FakeBotAccount",
    "FakeTelegram",
    "FakeTelegramClient",
    "StoredMessage",
    "Tap",
    "TelegramError",
    "parse_html",
    "serving_owner",
]
