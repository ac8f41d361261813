"""One settings class, read from the environment and `.env`; a bad value is a clear error, never a traceback."""

from __future__ import annotations

import re
from datetime import date, time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as NumberError

from messages.delivery import SmtpConfig
from messages.imap import MailboxConfig

DEFAULT_DATABASE_URL = "sqlite:///data/relance.db"


# Day names accepted in PREFERRED_WEEKDAYS (French and English, full or short), to Python's weekday numbers.
_WEEKDAYS = {
    name: number
    for number, names in enumerate(
        [
            ("lundi", "lun", "monday", "mon"),
            ("mardi", "mar", "tuesday", "tue"),
            ("mercredi", "mer", "wednesday", "wed"),
            ("jeudi", "jeu", "thursday", "thu"),
            ("vendredi", "ven", "friday", "fri"),
        ]
    )
    for name in names
}


class SettingsError(Exception):
    """A setting has a bad value; the message names the variable and what is expected."""


class Settings(BaseSettings):
    """Every setting of Relance; names are the environment variables (see `.env.example`)."""

    # An empty value (e.g. `RELANCE_TODAY=` in .env) means "not set", as a newcomer editing .env expects.
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True)

    DATABASE_URL: str = DEFAULT_DATABASE_URL
    DATABASE_ADMIN_URL: str = ""  # PostgreSQL: the tables' owner, used only to run the migrations
    TELEGRAM_BOT_TOKEN: SecretStr | None = None
    TELEGRAM_API_URL: str = "https://api.telegram.org"
    OWNER_CHAT_IDS: str = ""
    # Slack (bot/slack/): Socket Mode with the app-level token (default), or HTTP mode (`relance run --slack-http`)
    # with the signing secret.
    SLACK_BOT_TOKEN: SecretStr | None = None  # xoxb-…
    SLACK_APP_TOKEN: SecretStr | None = None  # xapp-…, Socket Mode
    SLACK_SIGNING_SECRET: SecretStr | None = None  # HTTP mode
    SLACK_API_URL: str = "https://slack.com/api/"
    SLACK_OWNER_IDS: str = ""  # Slack user ids allowed to act, e.g. U012AB3CD,U045EF6GH
    SLACK_HTTP_HOST: str = "0.0.0.0"  # HTTP mode: where the Events and interactivity endpoint listens
    SLACK_HTTP_PORT: int = Field(default=3000, ge=1, le=65535)
    # Telegram webhook mode (`relance run --webhook https://host/path`): where the webhook server listens (behind a
    # reverse proxy terminating TLS) and the secret Telegram sends back in X-Telegram-Bot-Api-Secret-Token.
    WEBHOOK_LISTEN: str = "127.0.0.1"
    WEBHOOK_PORT: int = Field(default=8443, ge=1, le=65535)
    WEBHOOK_SECRET: SecretStr | None = None
    # /healthz for the process supervisor: on the webhook server in webhook mode, and on HEALTH_LISTEN:HEALTH_PORT
    # when HEALTH_PORT is set (either mode).
    HEALTH_LISTEN: str = "127.0.0.1"
    HEALTH_PORT: int | None = Field(default=None, ge=1, le=65535)
    TIMEZONE: str = "Europe/Paris"
    DIGEST_TIME: str = "08:30"
    SMTP_HOST: str | None = None
    SMTP_PORT: int = Field(default=587, ge=1, le=65535)
    SMTP_USERNAME: str | None = None
    SMTP_PASSWORD: SecretStr | None = None
    SMTP_SECURITY: Literal["none", "starttls", "tls"] = "starttls"
    SMTP_TIMEOUT: float = 30.0
    MAIL_FROM: str | None = None
    MAIL_REPLY_TO: str | None = None
    # --- replies by e-mail (IMAP): the mailbox where clients' answers arrive; off without IMAP_HOST ---
    IMAP_HOST: str | None = None
    IMAP_PORT: int | None = Field(default=None, ge=1, le=65535)  # default: 993 for tls, 143 otherwise
    IMAP_USERNAME: str | None = None
    IMAP_PASSWORD: SecretStr | None = None
    IMAP_SECURITY: Literal["none", "starttls", "tls"] = "tls"
    IMAP_FOLDER: str = "INBOX"
    IMAP_MARK_SEEN: bool = True
    COMPANY_NAME: str = "Mon Entreprise"
    COMPANY_ADDRESS: str = ""
    COMPANY_SIREN: str = ""
    COMPANY_VAT_NUMBER: str = ""  # intra-EU VAT number (FR40123456824): e-invoices from another seller are refused
    COMPANY_IBAN: str = ""
    COMPANY_BIC: str = ""
    COMPANY_PHONE: str = ""
    SEND_WINDOW: str = "08:00-18:00"
    PREFERRED_WEEKDAYS: str = ""
    FORMAL_NOTICE_DAYS: int = Field(default=8, ge=1, le=60)
    RELANCE_TODAY: date | None = None
    LADDER_FILE: Path | None = None
    TEMPLATES_DIR: Path | None = None
    RATES_FILE: Path | None = None
    # The key the businesses' secrets are encrypted with in the database (`relance business set --smtp-password`):
    # a Fernet key, `python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`.
    RELANCE_SECRET_KEY: SecretStr | None = None
    DATA_DIR: Path = Path("data")
    # `relance run`'s log lines: text, or json (one object a line: time, level, logger, message, business).
    LOG_FORMAT: Literal["text", "json"] = "text"

    @field_validator("TIMEZONE")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("an IANA time zone such as Europe/Paris") from exc
        return value

    @field_validator("COMPANY_VAT_NUMBER")
    @classmethod
    def _vat_number(cls, value: str) -> str:
        # Stored compact (FR40123456824), as the e-invoices' seller numbers are compared.
        if not value.strip():
            return ""
        try:
            return str(eu_vat.validate(value))
        except NumberError as exc:
            raise ValueError(
                f"an intra-EU VAT number with its country prefix, e.g. FR40123456824 ({str(exc).rstrip('.')})"
            ) from None

    @field_validator("SMTP_TIMEOUT", mode="before")
    @classmethod
    def _smtp_timeout(cls, value: object) -> float:
        # Seconds to wait for the server at each step (connect, each command, the reply to the message).
        expected = "a number of seconds between 1 and 600, e.g. 30"
        try:
            seconds = float(str(value).strip().replace(",", "."))
        except ValueError:
            raise ValueError(expected) from None
        if not 1 <= seconds <= 600:
            raise ValueError(expected)
        return seconds

    @field_validator("DIGEST_TIME")
    @classmethod
    def _digest_time(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value.strip()):
            raise ValueError("a time of day as HH:MM, e.g. 08:30")
        return value.strip()

    @field_validator("SEND_WINDOW")
    @classmethod
    def _send_window(cls, value: str) -> str:
        match = re.fullmatch(r"\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-3]):([0-5]\d)\s*", value)
        if not match or match.group(1, 2) >= match.group(3, 4):
            raise ValueError("a window of the day as HH:MM-HH:MM with the start before the end, e.g. 08:00-18:00")
        return f"{match.group(1)}:{match.group(2)}-{match.group(3)}:{match.group(4)}"

    @field_validator("PREFERRED_WEEKDAYS")
    @classmethod
    def _weekdays(cls, value: str) -> str:
        days = []
        for part in filter(None, (p.strip().lower() for p in value.split(","))):
            if part not in _WEEKDAYS:
                raise ValueError("comma-separated days such as mardi,mercredi (or tue,wed), empty for any day")
            days.append(_WEEKDAYS[part])
        return ",".join(str(d) for d in sorted(set(days)))

    @field_validator("OWNER_CHAT_IDS")
    @classmethod
    def _owner_ids(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            if not re.fullmatch(r"-?\d+", part):
                raise ValueError("comma-separated numeric Telegram user ids, e.g. 12345,67890")
        return value

    @field_validator("SLACK_OWNER_IDS")
    @classmethod
    def _slack_owner_ids(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            if not re.fullmatch(r"[UW][A-Z0-9]{2,30}", part):
                raise ValueError("comma-separated Slack user ids, e.g. U012AB3CD,U045EF6GH")
        return value

    @field_validator("SLACK_API_URL")
    @classmethod
    def _slack_api_url(cls, value: str) -> str:
        if not re.match(r"https?://", value):
            raise ValueError("an http(s) URL such as https://slack.com/api/")
        return value.rstrip("/") + "/"

    @field_validator("TELEGRAM_API_URL")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not re.match(r"https?://", value):
            raise ValueError("an http(s) URL such as https://api.telegram.org")
        return value.rstrip("/")

    @field_validator("DATABASE_URL")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not re.match(r"(sqlite|postgresql)(\+\w+)?://", value):
            raise ValueError("a sqlite:///path or postgresql://user@host/db URL")
        if value.startswith("postgresql://"):
            # psycopg 3 is the driver we ship (extra `postgres`).
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @property
    def owner_ids(self) -> list[int]:
        """The owners' Telegram user ids."""
        return [int(p) for p in (p.strip() for p in self.OWNER_CHAT_IDS.split(",")) if p]

    @property
    def slack_owner_ids(self) -> list[str]:
        """The owners' Slack user ids."""
        return [p for p in (p.strip() for p in self.SLACK_OWNER_IDS.split(",")) if p]

    @property
    def slack_bot_token(self) -> str | None:
        """The Slack bot token (xoxb-), or None when Slack is not configured."""
        return self.SLACK_BOT_TOKEN.get_secret_value() if self.SLACK_BOT_TOKEN else None

    @property
    def send_window(self) -> tuple[str, str]:
        """The opening and closing times of the sending window, as HH:MM."""
        start, end = self.SEND_WINDOW.split("-")
        return start, end

    @property
    def tz(self) -> ZoneInfo:
        """The owner's time zone."""
        return ZoneInfo(self.TIMEZONE)

    @property
    def digest_time(self) -> time:
        """The time of the morning digest, in the owner's time zone."""
        hours, minutes = self.DIGEST_TIME.split(":")
        return time(int(hours), int(minutes))

    @property
    def bot_token(self) -> str | None:
        """The Telegram token, or None (terminal mode)."""
        return self.TELEGRAM_BOT_TOKEN.get_secret_value() if self.TELEGRAM_BOT_TOKEN else None


def smtp_config(settings: Settings) -> SmtpConfig:
    """The SMTP account of the settings (SMTP_HOST, _PORT, _USERNAME, _PASSWORD, _SECURITY, _TIMEOUT).

    Raises SettingsError without SMTP_HOST: the caller chooses the `.eml` file delivery instead.
    """
    if not settings.SMTP_HOST:
        raise SettingsError("SMTP_HOST: not set, e-mails cannot be sent over SMTP")
    return SmtpConfig(
        host=settings.SMTP_HOST,
        port=settings.SMTP_PORT,
        username=settings.SMTP_USERNAME or None,
        password=settings.SMTP_PASSWORD,
        security=settings.SMTP_SECURITY,
        timeout=settings.SMTP_TIMEOUT,
    )


#: Host names that are this machine: the only ones IMAP_SECURITY=none may talk to (the password in clear text).
_LOOPBACK = re.compile(r"^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$", re.IGNORECASE)


def mailbox_config(settings: Settings) -> MailboxConfig | None:
    """The IMAP mailbox of the settings, or None without IMAP_HOST (replies by e-mail are off).

    SettingsError when the account is incomplete, or when IMAP_SECURITY=none names another machine than this one
    (the password would cross the network in clear text).
    """
    if not settings.IMAP_HOST:
        return None
    host = settings.IMAP_HOST.strip()
    if not settings.IMAP_USERNAME or settings.IMAP_PASSWORD is None:
        raise SettingsError("IMAP_USERNAME and IMAP_PASSWORD: both are needed to read the mailbox of IMAP_HOST")
    if settings.IMAP_SECURITY == "none" and not _LOOPBACK.match(host):
        raise SettingsError(
            f"IMAP_SECURITY: none (no encryption) is only allowed for this machine (localhost, 127.0.0.1), "
            f"not for {host}: use tls (port 993) or starttls (port 143)"
        )
    port = settings.IMAP_PORT or (993 if settings.IMAP_SECURITY == "tls" else 143)
    folder = settings.IMAP_FOLDER.strip() or "INBOX"
    return MailboxConfig(
        host=host,
        port=port,
        username=settings.IMAP_USERNAME,
        password=settings.IMAP_PASSWORD,
        security=settings.IMAP_SECURITY,
        folder=folder,
        mark_seen=settings.IMAP_MARK_SEEN,
    )


def check_slack_settings(settings: Settings, *, http: bool = False) -> None:
    """What Slack needs besides its bot token, for Socket Mode or HTTP mode (`http`); SettingsError naming the
    variable. Nothing to check when Slack is not configured (and not asked for with --slack-http)."""
    if not settings.slack_bot_token:
        if http:
            raise SettingsError("--slack-http: SLACK_BOT_TOKEN is not set (the Slack app's Bot User OAuth Token)")
        return
    if not settings.slack_owner_ids:
        raise SettingsError(
            "SLACK_OWNER_IDS: not set, the Slack app would obey no one (the owners' Slack user ids, e.g. U012AB3CD)"
        )
    if http and settings.SLACK_SIGNING_SECRET is None:
        raise SettingsError(
            "SLACK_SIGNING_SECRET: not set, --slack-http cannot verify Slack's requests "
            "(Basic Information > App Credentials > Signing Secret)"
        )
    if not http and settings.SLACK_APP_TOKEN is None:
        raise SettingsError(
            "SLACK_APP_TOKEN: not set, Socket Mode needs the app-level token (xapp-…, scope connections:write); "
            "or run `relance run --slack-http` with SLACK_SIGNING_SECRET"
        )


#: Telegram's rule for a webhook's secret_token: 1 to 256 characters among A-Z, a-z, 0-9, _ and -.
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


def check_webhook_settings(settings: Settings, url: str) -> None:
    """What `relance run --webhook URL` needs: a Telegram bot, an https URL with a path, and WEBHOOK_SECRET as
    Telegram accepts it (at least 16 characters here: it is the webhook's only password). SettingsError naming the
    variable, never its value."""
    if not settings.bot_token:
        raise SettingsError("--webhook: TELEGRAM_BOT_TOKEN is not set (webhook mode serves the Telegram bot)")
    if not re.fullmatch(r"https?://[^/\s?#]+/[^\s?#]*", url):
        raise SettingsError(f"--webhook: expected the public address Telegram will post to, e.g. https://host/path, "
                            f"not {url!r}")  # fmt: skip
    if settings.WEBHOOK_SECRET is None:
        raise SettingsError(
            "WEBHOOK_SECRET: not set, webhook mode refuses every request without it "
            "(16 to 256 characters among A-Z, a-z, 0-9, _ and -; e.g. from `openssl rand -hex 32`)"
        )
    secret = settings.WEBHOOK_SECRET.get_secret_value()
    if not _WEBHOOK_SECRET.fullmatch(secret) or len(secret) < 16:
        raise SettingsError(
            "WEBHOOK_SECRET: invalid value, expected 16 to 256 characters among A-Z, a-z, 0-9, _ and - "
            "(e.g. from `openssl rand -hex 32`)"
        )


def load_settings(**overrides: object) -> Settings:
    """Read the settings; raise SettingsError naming the variable and the expected value."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "?"
            msg = str(err["msg"]).removeprefix("Value error, ")
            # Never echo the input back: it could be a secret.
            lines.append(f"{name}: invalid value, expected {msg}")
        raise SettingsError("; ".join(lines)) from None
